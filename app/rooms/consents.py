"""Consents: the ``consents`` table (and the photos kept with one), enrollment and refusal.

An enrollment is one transaction: the person, the consent with the exact text shown, the face
templates, the photo if agreed, the signed consent form and the audit entries commit together or
not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.compliance.necessity import require_necessity
from app.db import Connection, Row, fetch_all, fetch_one
from app.desk_types import EnrollmentRequest, PersonDetails
from app.disclosure import render_disclosure
from app.errors import InvalidInput, NotFound
from app.models import (
    Consent,
    Disclosure,
    DocumentInfo,
    EnrollmentResult,
    EnrollmentWarning,
    Guardian,
    Language,
    LivenessResult,
    Person,
    Purpose,
)
from app.purpose_texts import require_language
from app.rooms.archive import Archive
from app.rooms.consent_terms import (
    age_basis,
    age_in_years,
    check_not_expired,
    paper_expiry,
    paper_record_sha256,
    paper_record_text,
    version_in_force,
)
from app.rooms.faces import Faces
from app.rooms.liveness_skip import LivenessSkips
from app.rooms.materiality import supersede
from app.rooms.people import People
from app.rooms.purposes import Purposes
from app.rooms.settings import Settings
from app.session import Session
from app.stored import consent_text, pack_strokes, text_column
from app.validation import check_signature, clean_name, embeddings_array
from app.values import _dt, _iso, _new_id

if TYPE_CHECKING:
    import numpy as np

CONSENT_SQL = (
    "SELECT c.id, c.person_id, v.purpose_id, v.version, c.purpose_version_id, c.language, "
    "c.text_sha256, c.decision, c.reconsent_due_at, "
    "CASE WHEN c.status = 'active' AND c.reconsent_due_at IS NOT NULL THEN 'reconsent' "
    "ELSE c.status END AS status, c.signed_at, c.operator, c.alternative, c.expires_at, "
    "c.guardian_name, c.withdrawn_at, c.withdrawn_by, c.withdraw_reason, c.paper_signed_on, "
    "c.liveness, c.age_basis, c.age_attested_by, c.photo_consent, "
    "(SELECT count(*) FROM templates t WHERE t.consent_id = c.id) AS template_count, "
    "(SELECT count(*) FROM photos ph WHERE ph.consent_id = c.id) AS photo_count "
    "FROM consents c JOIN purpose_versions v ON v.id = c.purpose_version_id "
)


def consent_from_row(r: Row, fallback_signed: dt.datetime) -> Consent:
    return Consent(
        id=r["id"],
        person_id=r["person_id"],
        purpose_id=r["purpose_id"],
        purpose_version=r["version"],
        purpose_version_id=r["purpose_version_id"],
        language=r["language"],
        text_sha256=r["text_sha256"],
        decision=r["decision"],
        status=r["status"],
        signed_at=_dt(r["signed_at"]) or fallback_signed,
        operator=r["operator"],
        alternative=r["alternative"],
        expires_at=_dt(r["expires_at"]),
        guardian_name=r["guardian_name"],
        withdrawn_at=_dt(r["withdrawn_at"]),
        withdrawn_by=r["withdrawn_by"],
        withdraw_reason=r["withdraw_reason"],
        paper_signed_on=(
            dt.date.fromisoformat(r["paper_signed_on"]) if r["paper_signed_on"] else None
        ),
        liveness=LivenessResult.from_json(json.loads(r["liveness"])) if r["liveness"] else None,
        template_count=int(r["template_count"]),
        photo_count=int(r["photo_count"]),
        reconsent_due_at=_dt(r["reconsent_due_at"]) if r["status"] == "reconsent" else None,
        age_basis=r["age_basis"],
        age_attested_by=r["age_attested_by"],
        photo_consent=None if r["photo_consent"] is None else bool(r["photo_consent"]),
    )


class Consents:
    """Records what people agreed to (or refused) and reads it back."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        purposes: Purposes,
        people: People,
        archive: Archive,
        faces: Faces,
    ) -> None:
        self._s = session
        self.settings = settings
        self.purposes = purposes
        self.people = people
        self.archive = archive
        self.faces = faces
        self.liveness_skips = LivenessSkips(session, settings)

    def approve_liveness_skip(self, admin_username: str, admin_password: str) -> str:
        return self.liveness_skips.approve(admin_username, admin_password)

    def now(self) -> dt.datetime:
        return self._s.now()

    def require_necessity(self, purpose: Purpose) -> None:
        """No enrollment (or refusal record) under a purpose whose necessity and proportionality
        test is not signed: the justification must precede the first face (issue 16)."""
        self._s.read(lambda c: require_necessity(c, purpose.id, purpose.version))

    # -- reading ---------------------------------------------------------------------------
    def of_person(self, person_id: str) -> list[Consent]:
        rows = self._s.read(
            lambda c: fetch_all(
                c, CONSENT_SQL + "WHERE c.person_id = ? ORDER BY c.signed_at", (person_id,)
            )
        )
        return [consent_from_row(r, self._s.now()) for r in rows]

    def get(self, consent_id: str) -> Consent:
        row = self._s.read(lambda c: fetch_one(c, CONSENT_SQL + "WHERE c.id = ?", (consent_id,)))
        if row is None:
            raise NotFound("No such consent.")
        return consent_from_row(row, self._s.now())

    def disclosure_text(self, consent_id: str) -> str:
        text = self._s.read(lambda c: consent_text(c, consent_id))
        if text is None:
            raise NotFound("No such consent.")
        return text

    # -- checks ----------------------------------------------------------------------------
    def needs_guardian(self, date_of_birth: dt.date | None) -> bool:
        if date_of_birth is None:
            return False
        return age_in_years(date_of_birth, self._s.now().date()) < self.settings.guardian_age()

    def _date_of_birth(self, details: PersonDetails, existing_id: str | None) -> dt.date | None:
        """The typed date of birth, or the one already on the record of a returning person."""
        if details.date_of_birth is not None or not existing_id:
            return details.date_of_birth
        return self.people.get(existing_id).date_of_birth

    def check_guardian(
        self, details: PersonDetails, guardian: Guardian | None, paper: bool = False
    ) -> None:
        """A minor needs a guardian's name and signature. On a paper consent the guardian signed
        the paper (the scan is kept), so their name is required but no on-screen strokes."""
        if self.needs_guardian(details.date_of_birth):
            if guardian is None or not (guardian.name or "").strip():
                age = str(self.settings.guardian_age())
                raise InvalidInput(
                    f"This person is under {age}: a parent or guardian must give their name and "
                    "sign as well.",
                    code="guardian_required",
                    params={"age": age},
                )
            clean_name(guardian.name, "guardian's name", limit=300)
            if not paper:
                check_signature(guardian.signature, "guardian's signature")

    def check_disclosure(self, purpose: Purpose, language: Language, sha: str) -> Disclosure:
        require_language(purpose, language)  # issue-13: never used in a language it lacks
        disclosure = render_disclosure(purpose, self._s.organisation, language)
        if disclosure.sha256 != sha:
            raise InvalidInput(
                "The disclosure text changed since it was shown (the purpose was edited). "
                "Show the current text to the person again.",
                code="disclosure_changed",
            )
        return disclosure

    def expiry(self, purpose: Purpose, now: dt.datetime) -> dt.datetime:
        days = min(purpose.retention_days, self.settings.get_int("max_inactivity_days"))
        return now + dt.timedelta(days=days)

    def check_paper_date(self, purpose_id: int, signed_on: dt.date) -> None:
        """Refuse a paper form's signing date before the purpose's first version, in the
        future, or so long ago that its retention already ran out (import checks each row
        before reading its photos)."""
        now = self._s.now()
        in_force = version_in_force(
            self.purposes, purpose_id, signed_on, self._s.organisation, now.date()
        )
        days = min(in_force.retention_days, self.settings.get_int("max_inactivity_days"))
        check_not_expired(paper_expiry(signed_on, days), now)

    def _paper_terms(
        self, request: EnrollmentRequest, purpose: Purpose, disclosure: Disclosure, now: dt.datetime
    ) -> tuple[int, str, str, dt.datetime]:
        """A paper consent's version in force, stored text and expiry (issue 13): the version in
        force on the signing date, retention from that date, today's disclosure for reference."""
        assert request.paper_signed_on is not None
        signed_on = request.paper_signed_on
        org = self._s.organisation
        in_force = version_in_force(self.purposes, purpose.id, signed_on, org, now.date())
        days = min(in_force.retention_days, self.settings.get_int("max_inactivity_days"))
        expires = paper_expiry(signed_on, days)
        check_not_expired(expires, now)
        text = paper_record_text(
            language=request.person.language,
            org=org,
            in_force=in_force,
            signed_on=signed_on,
            reference=disclosure,
            reference_version=purpose.version,
            supplied_photo=request.liveness is None,
        )
        return in_force.version_id, text, paper_record_sha256(text), expires

    # -- verbs -----------------------------------------------------------------------------
    def enroll(
        self,
        request: EnrollmentRequest,
        *,
        searched: Sequence[EnrollmentWarning] | None = None,
    ) -> EnrollmentResult:
        """Record a granted consent, its signature and the face templates, in one transaction.
        ``searched``: the caller's own audited duplicate check of these templates (the bulk
        import's, moments ago), reused instead of searching (and auditing) again."""
        s = self._s
        now = s.now()
        purpose = self.purposes.get(request.purpose_id)
        self.require_necessity(purpose)  # issue-16
        disclosure = self.check_disclosure(
            purpose, request.person.language, request.disclosure_sha256
        )
        paper = request.paper_signed_on is not None
        if not paper:
            check_signature(request.signature, "signature")
        # issue-13: a date of birth or an attestation for every enrollment, then the guardian
        date_of_birth = self._date_of_birth(request.person, request.existing_person_id)
        basis = age_basis(s, date_of_birth, request.person.age_basis)
        if basis == "organisation_records" and not paper:
            raise InvalidInput(
                "Only a bulk import of paper consents may rely on the organisation's records "
                "for a person's age.",
                code="age_basis_import_only",
            )
        self.check_guardian(
            replace(request.person, date_of_birth=date_of_birth), request.guardian, paper
        )
        liveness = request.liveness
        if liveness is not None and not liveness.passed and not paper:
            liveness = self.liveness_skips.checked(liveness, request.liveness_approval)
            request = replace(request, liveness=liveness)
        embeddings = embeddings_array(request.embeddings)
        if not embeddings.shape[0]:
            raise InvalidInput(
                "No face template was captured; capture the face first.", code="no_template"
            )
        if request.photo_jpeg is not None and not (purpose.keep_photos and request.photo_consent):
            raise InvalidInput(
                "This purpose does not keep photos, or the person did not agree to a photo "
                "being kept.",
                code="photo_not_allowed",
            )
        self.faces.check_same_person(embeddings)
        first = self._unacknowledged(request, embeddings, searched)
        expires = self.expiry(purpose, now)
        version_id, text, sha = purpose.version_id, disclosure.text, disclosure.sha256
        if request.paper_signed_on is not None:
            version_id, text, sha, expires = self._paper_terms(request, purpose, disclosure, now)
        photo_consent = int(request.photo_consent) if purpose.keep_photos else None
        with s.write() as conn:
            # Checked again under the writer lock (BEGIN IMMEDIATE), against the templates as
            # committed now: another window or import may have enrolled this face since the
            # check above, and the check and the insert must be one transaction.
            warnings = self._unacknowledged(request, embeddings, first, repeat=True)
            if request.existing_person_id:
                clash = fetch_one(
                    conn,
                    "SELECT c.id FROM consents c JOIN purpose_versions v "
                    "ON v.id = c.purpose_version_id "
                    "WHERE c.person_id = ? AND v.purpose_id = ? AND c.status = 'active' "
                    "AND c.reconsent_due_at IS NULL",
                    (request.existing_person_id, purpose.id),
                )
                if clash:
                    raise InvalidInput(
                        "This person already has an active consent for this purpose.",
                        code="already_consented",
                    )
            person = self.people.resolve(conn, request.person, request.existing_person_id, now)
            consent_id = _new_id("C")
            conn.execute(
                "INSERT INTO consents (id, person_id, purpose_version_id, language, "
                "disclosure_text, text_sha256, decision, status, signature, guardian_name, "
                "guardian_signature, liveness, operator, signed_at, expires_at, paper_signed_on, "
                "age_basis, age_attested_by, photo_consent) "
                "VALUES (?,?,?,?,?,?,'granted','active',?,?,?,?,?,?,?,?,?,?,?)",
                (
                    consent_id,
                    person.id,
                    version_id,
                    request.person.language,
                    text_column(conn, text, sha),  # issue 12: kept once, referred to by hash
                    sha,
                    pack_strokes(request.signature.to_json()),  # issue 12: compressed
                    request.guardian.name if request.guardian else None,
                    pack_strokes(
                        request.guardian.signature.to_json() if request.guardian else None
                    ),
                    json.dumps(request.liveness.to_json()) if request.liveness else None,
                    s.actor,
                    _iso(now),
                    _iso(expires),
                    request.paper_signed_on.isoformat() if request.paper_signed_on else None,
                    basis,
                    None if basis == "date_of_birth" else s.actor,
                    photo_consent,
                ),
            )
            if request.existing_person_id:  # issue-13: a full new enrollment renews too
                supersede(
                    conn, self._awaiting(conn, person.id, purpose.id), consent_id, s.actor, now
                )
            conn.executemany(
                "INSERT INTO templates (consent_id, person_id, embedding, created_at) "
                "VALUES (?,?,?,?)",
                [(consent_id, person.id, e.astype("<f4").tobytes(), _iso(now)) for e in embeddings],
            )
            if request.photo_jpeg is not None:
                conn.execute(
                    "INSERT INTO photos (consent_id, person_id, image, mime, created_at) "
                    "VALUES (?,?,?,?,?)",
                    (consent_id, person.id, request.photo_jpeg, "image/jpeg", _iso(now)),
                )
            s.audit.append(
                s.actor,
                "consent.grant",
                person.id,
                {
                    "consent": consent_id,
                    "purpose": purpose.id,
                    "purpose_version": self.purposes.version(version_id).version
                    if paper
                    else purpose.version,
                    "text_sha256": sha,
                    "templates": int(embeddings.shape[0]),
                    **(
                        {"liveness": request.liveness.passed}
                        if request.liveness is not None
                        else {}
                    ),
                    "paper": paper,
                    "paper_signed_on": (
                        request.paper_signed_on.isoformat() if request.paper_signed_on else None
                    ),
                    "age_basis": basis,
                    "warnings_acknowledged": [w.kind for w in warnings],
                },
                at=now,
            )
            docs = self._consent_documents(conn, person, consent_id, purpose, request, paper)
        consent = self.get(consent_id)
        self.faces.added(person.id, embeddings, purpose.id)
        return EnrollmentResult(person, consent, int(embeddings.shape[0]), warnings, docs)

    def _unacknowledged(
        self,
        request: EnrollmentRequest,
        embeddings: np.ndarray,
        earlier: Sequence[EnrollmentWarning] | None = None,
        repeat: bool = False,
    ) -> tuple[EnrollmentWarning, ...]:
        """Duplicate and lookalike warnings; refused unless the operator acknowledged them.
        ``earlier``: the same search's result already audited; without ``repeat`` it is taken
        as is, with it the search runs again (under the writer lock) and is audited only if
        the answer changed."""
        if earlier is not None and not repeat:
            warnings = tuple(earlier)
        else:
            warnings = self.faces.check_duplicates(
                embeddings,
                exclude_person=request.existing_person_id,
                purpose_id=request.purpose_id,
                same_as=earlier,
            )
        if warnings and not request.acknowledged_warnings:
            kinds = sorted({w.kind for w in warnings})
            raise InvalidInput(
                f"Possible {' and '.join(kinds)} found; the operator must review and "
                "acknowledge it.",
                code="warnings_unacknowledged",
                params={"kinds": kinds},
            )
        return warnings

    @staticmethod
    def _awaiting(conn: Connection, person_id: str, purpose_id: int) -> list[str]:
        """The person's consents to this purpose that wait for re-consent (issue 13)."""
        return [
            str(r["id"])
            for r in fetch_all(
                conn,
                "SELECT c.id FROM consents c JOIN purpose_versions v "
                "ON v.id = c.purpose_version_id WHERE c.person_id = ? AND v.purpose_id = ? "
                "AND c.status = 'active' AND c.reconsent_due_at IS NOT NULL",
                (person_id, purpose_id),
            )
        ]

    # -- documents made inside the verbs' transactions ---------------------------------------
    def _consent_documents(
        self,
        conn: Connection,
        person: Person,
        consent_id: str,
        purpose: Purpose,
        request: EnrollmentRequest,
        paper: bool,
    ) -> tuple[DocumentInfo, ...]:
        """The consent form (or, for a paper consent, the record with its scan attached), made
        and stored inside the enrollment's transaction: no consent exists without its document."""
        s, archive = self._s, self.archive
        consent = self.get(consent_id)
        org = s.organisation
        disclosure = render_disclosure(purpose, org, consent.language)
        events = s.audit.events(subject=person.id)
        docs: list[DocumentInfo] = []
        doc_id = archive.new_id()
        if paper:
            if not request.paper_scan:
                raise InvalidInput(
                    "A paper consent needs its scanned signed form.", code="scan_required"
                )
            scan_id = archive.new_id()
            name = request.paper_scan_name or "scan"
            ext = Path(name).suffix.lower() or ".bin"
            in_force = self.purposes.version(consent.purpose_version_id)
            docs.append(
                archive.store(
                    conn,
                    doc_id=scan_id,
                    kind="paper_scan",
                    person_id=person.id,
                    consent_id=consent_id,
                    language=consent.language,
                    filename=f"consentdesk-paper-scan-{scan_id[:12]}{ext}",
                    content=request.paper_scan,
                    purpose_version_id=in_force.version_id,
                )
            )
            # issue-13: the record of a signed paper form, under the version in force on the
            # signing date; today's disclosure goes along for reference only
            pdf = archive.maker.paper_consent_record(
                org=org,
                purpose=in_force,
                person=person,
                consent=consent,
                scan=request.paper_scan,
                imported_by=s.actor,
                imported_at=s.now(),
                record_text=self.disclosure_text(consent_id),
                reference=disclosure,
                reference_version=purpose.version,
                audit_events=events,
                document_id=doc_id,
            )
        else:
            pdf = archive.maker.consent_form(
                org=org,
                purpose=purpose,
                person=person,
                consent=consent,
                disclosure=disclosure,
                signature=request.signature,
                guardian=request.guardian,
                liveness=request.liveness,
                photo=request.photo_jpeg,
                audit_events=events,
                document_id=doc_id,
            )
        docs.append(
            archive.store(
                conn,
                doc_id=doc_id,
                kind="consent_form",
                person_id=person.id,
                consent_id=consent_id,
                language=consent.language,
                filename=archive.filename("consent_form", doc_id),
                content=pdf,
                purpose_version_id=consent.purpose_version_id,
            )
        )
        return tuple(docs)
