"""Checking a printed copy of a document from the text of its QR code.

A paper copy carries no signature, but its QR code carries the document ID, the consent ID and
the *content fingerprint* (SHA-256 of the facts the document states, see
:func:`app.documents.finish.content_sha256`). The fingerprint is stored with the document: it is
written into the signed PDF the vault keeps (``/ConsentDeskContentSHA256``), so comparing the
QR's fingerprint with the stored one tells whether the printout states what was issued. A
person's name is never needed, and nothing here is logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from app.pdfsign import read_info_value
from app.stored import document_of

_QR = re.compile(
    r"^consentdesk:doc=(?P<doc>[A-Za-z0-9_-]{1,80});consent=(?P<consent>[A-Za-z0-9_-]{0,80});"
    r"sha256=(?P<sha>[0-9a-f]{64})$"
)

PrintedStatus = Literal["matches", "differs", "unknown", "unreadable"]


@dataclass(frozen=True)
class PrintedCheck:
    """``matches``: the vault holds this document and its stored content fingerprint equals the
    QR's (and so does the consent ID); ``differs``: the document exists but the printout states
    something else; ``unknown``: no such document here (never issued, or erased with its
    person); ``unreadable``: the text is not a ConsentDesk QR code."""

    status: PrintedStatus
    document_id: str | None
    kind: str | None
    person_id: str | None
    consent_id: str | None
    content_sha256: str | None
    problems: tuple[str, ...] = ()


def parse_qr(text: str) -> tuple[str, str | None, str] | None:
    """``(document_id, consent_id, content_sha256)`` from QR text, or None if it is not ours."""
    match = _QR.match(text.strip())
    if match is None:
        return None
    return match["doc"], match["consent"] or None, match["sha"]


def check_printed(conn: Any, qr_text: str) -> PrintedCheck:
    """Compare the QR content of a printout with the vault's stored document (read-only)."""
    parsed = parse_qr(qr_text)
    if parsed is None:
        return PrintedCheck(
            "unreadable",
            None,
            None,
            None,
            None,
            None,
            ("the text is not the content of a ConsentDesk QR code",),
        )
    doc_id, consent_id, sha = parsed
    row = conn.execute(
        "SELECT kind, person_id, consent_id FROM documents WHERE id = ?", (doc_id,)
    ).fetchone()
    if row is None:
        return PrintedCheck(
            "unknown",
            doc_id,
            None,
            None,
            consent_id,
            sha,
            ("this vault holds no document with that ID (never issued here, or erased)",),
        )
    kind, person_id, stored_consent = row[0], row[1], row[2]
    content = document_of(conn, doc_id) or b""
    stored_sha = read_info_value(content, "/ConsentDeskContentSHA256")
    problems = []
    if stored_sha != sha:
        problems.append("the printed content fingerprint differs from the stored document's")
    if (stored_consent or None) != consent_id:
        problems.append("the printed consent ID differs from the stored document's")
    return PrintedCheck(
        "differs" if problems else "matches",
        doc_id,
        kind,
        person_id,
        consent_id,
        sha,
        tuple(problems),
    )
