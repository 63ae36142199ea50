"""PDF documents: consent forms, refusal records, withdrawal receipts, erasure certificates,
access reports, retention notices and paper-consent records (see :class:`DocumentMaker`)."""

from app.documents.fonts import default_font_path
from app.documents.maker import DocumentMaker, document_filename, new_document_id

__all__ = ["DocumentMaker", "default_font_path", "document_filename", "new_document_id"]
