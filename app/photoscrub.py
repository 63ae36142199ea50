"""Withdrawal destroys the face photo everywhere, including inside the stored consent form.

A purpose that keeps photos prints the photo on the consent form, and the form is stored in the
vault. Deleting the ``photos`` row at withdrawal (the database trigger does) would leave that
copy behind, so the stored form is re-issued without the photo: same document ID, same signed
text, signature and evidence, built from the consent as it was (so it still says the person had
agreed to a photo). The audit entry ``document.reissue`` links the old file's hash to the new
one, so the copy the person took home can still be traced to the record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.audit import AuditLog
from app.db import Connection, fetch_one
from app.disclosure import text_sha256
from app.models import Consent, Disclosure, Guardian, Organisation, Person, Purpose, Signature
from app.stored import consent_text, store, strokes
from app.values import _iso

if TYPE_CHECKING:
    from app.documents.maker import DocumentMaker


def reissue_without_photos(
    conn: Connection,
    consents: Sequence[Consent],
    *,
    maker: DocumentMaker,
    org: Organisation,
    person: Person,
    purpose_of: Callable[[int], Purpose],
    audit: AuditLog,
    actor: str,
    now: dt.datetime,
) -> int:
    """Re-issue the stored consent form of each consent that had a photo; returns how many
    photos were removed from stored documents. Runs inside the withdrawal's transaction."""
    removed = 0
    for consent in consents:
        if not consent.photo_count:
            continue
        row = fetch_one(
            conn,
            "SELECT d.id, d.sha256, c.signature, c.guardian_name, "
            "c.guardian_signature FROM documents d JOIN consents c ON c.id = d.consent_id "
            "WHERE d.consent_id = ? AND d.kind = 'consent_form'",
            (consent.id,),
        )
        if row is None or row["signature"] is None:
            continue  # a paper record carries the scan, never a photo
        doc_id, old_sha, text = row["id"], row["sha256"], consent_text(conn, consent.id)
        signature, guardian_name = row["signature"], row["guardian_name"]
        guardian_signature = row["guardian_signature"]
        guardian_strokes = strokes(guardian_signature)
        guardian = (
            Guardian(guardian_name, Signature.from_json(guardian_strokes))
            if guardian_name and guardian_strokes
            else None
        )
        own = strokes(signature)
        if own is None:
            continue
        pdf: bytes = maker.consent_form(
            org=org,
            purpose=purpose_of(consent.purpose_version_id),
            person=person,
            consent=consent,
            disclosure=Disclosure(
                consent.purpose_version_id, consent.language, str(text), text_sha256(str(text))
            ),
            signature=Signature.from_json(own),
            guardian=guardian,
            liveness=consent.liveness,
            photo=None,
            audit_events=audit.events(subject=person.id),
            document_id=doc_id,
        )
        new_sha = hashlib.sha256(pdf).hexdigest()
        stored, encoding, parts = store(conn, pdf)  # issue 12
        conn.execute(
            "UPDATE documents SET content = ?, encoding = ?, parts = ?, size = ?, sha256 = ?, "
            "created_at = ? WHERE id = ?",
            (stored, encoding, parts, len(pdf), new_sha, _iso(now), doc_id),
        )
        audit.append(
            actor,
            "document.reissue",
            person.id,
            {
                "document_id": doc_id,
                "previous_sha256": old_sha,
                "sha256": new_sha,
                "why": "photo destroyed at withdrawal",
                "photos_removed": consent.photo_count,
            },
            at=now,
        )
        removed += consent.photo_count
    return removed
