"""The last steps every document goes through: identity metadata, attachments, signature.

reportlab lays out the pages; pyHanko then rewrites the file once (still in memory) to add the
``/ConsentDeskID`` family of keys to the document information dictionary and to attach files
such as the exact disclosure text or a scanned paper form, and finally the workstation signer,
if any, signs the result. Signing last means the signature covers the metadata and attachments
too: nobody can swap the attached scan without breaking it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.pdfsign import (
    INFO_AUDIT_HEAD,
    INFO_CONTENT_SHA256,
    INFO_DOCUMENT_ID,
    INFO_DOCUMENT_KIND,
    PdfSigner,
)


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF; the name must not contain personal data (it is visible in
    every viewer's attachment list and often saved to disk as-is)."""

    filename: str
    data: bytes
    mime_type: str
    description: str = ""


def content_sha256(payload: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the document's facts as canonical JSON.

    The file's own hash cannot be printed inside the file, so the QR code and the footer carry
    this fingerprint of *what the document states* instead; the vault can keep it next to the
    file hash and compare it with a scanned printout.
    """
    canonical = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def finish_pdf(
    raw: bytes,
    *,
    document_id: str,
    kind: str,
    content_hash: str,
    audit_head: str | None = None,
    attachments: Sequence[Attachment] = (),
    signer: PdfSigner | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """Tag ``raw`` for screen readers, add the ConsentDesk keys (the audit head too, when known)
    and attachments, then sign it if a signer is given (tagging first: the signature covers the
    structure too)."""
    from pyhanko.pdf_utils import embed, generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    from app.documents.tagging import tag_pdf  # issue-15 point 9

    raw = tag_pdf(raw)
    reader = PdfFileReader(io.BytesIO(raw), strict=False)
    writer = copy_into_new_writer(reader)
    info = generic.DictionaryObject()  # type: ignore[no-untyped-call]
    try:
        old = reader.trailer_view["/Info"].get_object()
        for key, value in old.items():
            info[generic.NameObject(key)] = value
    except KeyError:
        pass
    info[generic.NameObject(INFO_DOCUMENT_ID)] = generic.TextStringObject(document_id)
    info[generic.NameObject(INFO_DOCUMENT_KIND)] = generic.TextStringObject(kind)
    info[generic.NameObject(INFO_CONTENT_SHA256)] = generic.TextStringObject(content_hash)
    if audit_head is not None:
        info[generic.NameObject(INFO_AUDIT_HEAD)] = generic.TextStringObject(audit_head)
    writer.set_info(info)

    stamp = now or dt.datetime.now(dt.UTC)
    for item in attachments:
        stream = embed.EmbeddedFileObject.from_file_data(
            writer,
            data=item.data,
            mime_type=item.mime_type,
            params=embed.EmbeddedFileParams(creation_date=stamp, modification_date=stamp),
        )
        embed.embed_file(
            writer,
            embed.FileSpec(
                file_spec_string=item.filename,
                file_name=item.filename,
                embedded_data=stream,
                description=item.description or None,
            ),
        )
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    pdf = compact_pdf(out.getvalue())
    return signer.sign(pdf) if signer is not None else pdf


def compact_pdf(raw: bytes) -> bytes:
    """The same document with its small objects (the structure tree's hundreds of elements,
    page and font dictionaries) packed into compressed object streams and a cross-reference
    stream instead of a plain-text table (issue 12: a form is kept in the vault for years and
    handed out; this takes about a quarter off). Done before signing, so the signature covers
    the file as stored; the signature's own incremental update stays readable as the PDF
    standard requires for the signed byte range."""
    import pikepdf

    with pikepdf.open(io.BytesIO(raw)) as doc:
        buf = io.BytesIO()
        doc.save(
            buf,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            compress_streams=True,
            deterministic_id=True,
        )
    return buf.getvalue()
