"""Refusals, kept minimal (issue 13): people who say no must not become a list of names.

Why: when an employer enrolls its staff, a register of who refused is a register of whom to
pressure. So a refusal keeps only what proves the choice was free: the purpose version and the
text shown (its hash), the time, the alternative offered and the operator. The person's name is
kept only when they ask for a record in their name; otherwise the signed refusal record is
printed for them to take home and the vault keeps its SHA-256 alone (the ``refusals`` table).
Operators never list refusers by name (``People.find``); admins see only those who asked.
"""

from __future__ import annotations

import hashlib

from app.db import Connection
from app.desk_types import RefusalRequest, RefusalResult
from app.models import Consent, DocumentInfo, Person, Purpose
from app.rooms.consents import Consents
from app.stored import document_of, pack_strokes, text_column
from app.validation import check_signature, clean_text
from app.values import _iso, _new_id


class Refusals:
    """Records refusals: nameless by default, in the person's name when they ask."""

    def __init__(self, consents: Consents) -> None:
        self.consents = consents
        self._s = consents._s

    def count(self) -> int:
        """Every refusal, named or not (for the statistics)."""

        def q(c: Connection) -> int:
            named = c.execute("SELECT count(*) FROM consents WHERE status = 'refused'").fetchone()
            nameless = c.execute("SELECT count(*) FROM refusals").fetchone()
            return int(named[0]) + int(nameless[0])

        return self._s.read(q)

    def refuse(self, request: RefusalRequest) -> RefusalResult:
        s, consents = self._s, self.consents
        now = s.now()
        purpose = consents.purposes.get(request.purpose_id)
        consents.require_necessity(purpose)  # issue-16
        disclosure = consents.check_disclosure(
            purpose, request.person.language, request.disclosure_sha256
        )
        alternative = clean_text(request.alternative, "alternative", required=True, limit=500) or ""
        name = clean_text(request.person.name, "name", required=True, limit=300) or ""
        clean_text(request.person.reference, "reference", limit=200)
        if request.signature is not None:
            check_signature(request.signature, "signature")
        if request.in_name:
            return self._in_name(request, purpose, alternative)
        refusal_id = _new_id("R")
        # The record the person takes home: their name is on paper, not in the vault.
        person = Person(
            id="",
            name=name,
            reference=request.person.reference,
            language=request.person.language,
        )
        consent = Consent(
            id=refusal_id,
            person_id="",
            purpose_id=purpose.id,
            purpose_version=purpose.version,
            purpose_version_id=purpose.version_id,
            language=request.person.language,
            text_sha256=disclosure.sha256,
            decision="refused",
            status="refused",
            signed_at=now,
            operator=s.actor,
            alternative=alternative,
            guardian_name=request.guardian.name if request.guardian else None,
        )
        archive = consents.archive
        doc_id = archive.new_id()
        pdf = archive.maker.refusal_record(
            org=s.organisation,
            purpose=purpose,
            person=person,
            consent=consent,
            disclosure=disclosure,
            signature=request.signature,
            guardian=request.guardian,
            document_id=doc_id,
            kept_in_name=False,
        )
        sha = hashlib.sha256(pdf).hexdigest()
        with s.write() as conn:
            conn.execute(
                "INSERT INTO refusals (id, purpose_version_id, language, text_sha256, "
                "alternative, operator, refused_at, record_sha256) VALUES (?,?,?,?,?,?,?,?)",
                (
                    refusal_id,
                    purpose.version_id,
                    request.person.language,
                    disclosure.sha256,
                    alternative,
                    s.actor,
                    _iso(now),
                    sha,
                ),
            )
            s.audit.append(
                s.actor,
                "refusal.record",
                None,
                {
                    "refusal": refusal_id,
                    "purpose": purpose.id,
                    "purpose_version": purpose.version,
                    "text_sha256": disclosure.sha256,
                    "record_sha256": sha,
                },
                at=now,
            )
        return RefusalResult(
            refusal_id=refusal_id,
            purpose_id=purpose.id,
            purpose_version=purpose.version,
            refused_at=now,
            alternative=alternative,
            pdf=pdf,
            pdf_sha256=sha,
            filename=archive.filename("refusal_record", doc_id),
        )

    def _in_name(
        self, request: RefusalRequest, purpose: Purpose, alternative: str
    ) -> RefusalResult:
        """The person asked for a record in their name: a person, a refused consent and the
        stored refusal record, as for any document of theirs."""
        s, consents = self._s, self.consents
        now = s.now()
        disclosure = consents.check_disclosure(
            purpose, request.person.language, request.disclosure_sha256
        )
        with s.write() as conn:
            person = consents.people.resolve(conn, request.person, request.existing_person_id, now)
            consent_id = _new_id("C")
            conn.execute(
                "INSERT INTO consents (id, person_id, purpose_version_id, language, "
                "disclosure_text, text_sha256, decision, alternative, status, signature, "
                "guardian_name, guardian_signature, operator, signed_at) "
                "VALUES (?,?,?,?,?,?,'refused',?,'refused',?,?,?,?,?)",
                (
                    consent_id,
                    person.id,
                    purpose.version_id,
                    request.person.language,
                    text_column(conn, disclosure.text, disclosure.sha256),  # issue 12
                    disclosure.sha256,
                    alternative,
                    pack_strokes(request.signature.to_json() if request.signature else None),
                    request.guardian.name if request.guardian else None,
                    pack_strokes(
                        request.guardian.signature.to_json() if request.guardian else None
                    ),
                    s.actor,
                    _iso(now),
                ),
            )
            s.audit.append(
                s.actor,
                "consent.refuse",
                person.id,
                {
                    "consent": consent_id,
                    "purpose": purpose.id,
                    "purpose_version": purpose.version,
                    "text_sha256": disclosure.sha256,
                    "in_name": True,
                },
                at=now,
            )
            info = self._stored_record(conn, person, consent_id, purpose, request)
            content = document_of(conn, info.id)
        assert content is not None
        pdf = content
        return RefusalResult(
            refusal_id=consent_id,
            purpose_id=purpose.id,
            purpose_version=purpose.version,
            refused_at=now,
            alternative=alternative,
            pdf=pdf,
            pdf_sha256=info.sha256,
            filename=info.filename,
            person=person,
            consent=consents.get(consent_id),
            documents=(info,),
        )

    def _stored_record(
        self,
        conn: Connection,
        person: Person,
        consent_id: str,
        purpose: Purpose,
        request: RefusalRequest,
    ) -> DocumentInfo:
        s, consents = self._s, self.consents
        archive = consents.archive
        consent = consents.get(consent_id)
        doc_id = archive.new_id()
        pdf = archive.maker.refusal_record(
            org=s.organisation,
            purpose=purpose,
            person=person,
            consent=consent,
            disclosure=consents.check_disclosure(
                purpose, consent.language, request.disclosure_sha256
            ),
            signature=request.signature,
            guardian=request.guardian,
            audit_events=s.audit.events(subject=person.id),
            document_id=doc_id,
            kept_in_name=True,
        )
        return archive.store(
            conn,
            doc_id=doc_id,
            kind="refusal_record",
            person_id=person.id,
            consent_id=consent_id,
            language=consent.language,
            filename=archive.filename("refusal_record", doc_id),
            content=pdf,
            purpose_version_id=purpose.version_id,
        )
