"""A lost erasure certificate, issued again from the vault's erasure record.

Why: the certificate is handed to the person and not kept (it names them), so a person who lost
it, or a regulator asking for it, once got nothing. The ``erasures`` row keeps what is needed to
say the same thing again without the name: the pseudonymous person ID, when and by whom, the row
counts before and after, and the SHA-256 of the original certificate. The re-issue prints that
hash (so the two can be matched), states that the name is no longer held, is signed and stored
like every document (``verify-document`` recognises it) and is audited.
"""

from __future__ import annotations

import json

from app.db import fetch_one
from app.documents.labels import label
from app.errors import NotFound
from app.models import ErasureResult, Language, Person
from app.rooms.archive import Archive
from app.session import Session
from app.values import _dt


class ErasureReissue:
    def __init__(self, session: Session, archive: Archive) -> None:
        self._s = session
        self._archive = archive

    def certificate(self, person_id: str, language: Language = "en") -> bytes:
        """A signed re-issue of the erasure certificate of ``person_id`` (admin only)."""
        s = self._s
        s.require_admin()
        row = s.read(
            lambda c: fetch_one(
                c,
                "SELECT person_id, erased_at, erased_by, counts, certificate_sha256 "
                "FROM erasures WHERE person_id = ?",
                (person_id,),
            )
        )
        if row is None:
            raise NotFound(
                "No erasure of this person ID is recorded in this vault.",
                code="erasure_not_found",
            )
        counts = json.loads(row["counts"] or "{}")
        erased_at = _dt(row["erased_at"])
        assert erased_at is not None
        result = ErasureResult(
            row["person_id"],
            erased_at,
            row["erased_by"],
            dict(counts.get("before", {})),
            dict(counts.get("after", {})),
        )
        person = Person(
            id=row["person_id"],
            name=label(language, "erasure.name_not_held"),
            language=language,
        )
        doc_id = self._archive.new_id()
        pdf = self._archive.maker.erasure_certificate(
            org=s.organisation,
            person=person,
            result=result,
            language=language,
            audit_events=s.audit.events(subject=person_id),
            document_id=doc_id,
            reissue_of=row["certificate_sha256"],
        )
        with s.write() as conn:
            info = self._archive.store(
                conn,
                doc_id=doc_id,
                kind="erasure_certificate",
                person_id=None,
                consent_id=None,
                language=language,
                filename=f"erasure-certificate-reissue-{doc_id}.pdf",
                content=pdf,
            )
            s.audit.append(
                s.actor,
                "erasure.reissue",
                person_id,
                {"original": row["certificate_sha256"], "reissue": info.sha256},
            )
        return pdf
