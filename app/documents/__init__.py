"""PDF documents: consent forms, refusal records, withdrawal receipts, erasure certificates,
access reports, retention notices and paper-consent records (see :class:`DocumentMaker`).

The names below load on first use (issue 12): importing a light submodule such as
``app.documents.outcome`` must not pull reportlab and the fonts into every CLI command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.documents.fonts import default_font_path
    from app.documents.maker import DocumentMaker, document_filename, new_document_id

__all__ = ["DocumentMaker", "default_font_path", "document_filename", "new_document_id"]


def __getattr__(name: str) -> Any:
    if name == "default_font_path":
        from app.documents import fonts

        return fonts.default_font_path
    if name in ("DocumentMaker", "document_filename", "new_document_id"):
        from app.documents import maker

        return getattr(maker, name)
    raise AttributeError(name)
