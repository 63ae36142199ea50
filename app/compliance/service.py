"""``Compliance``: the governance verbs over one unlocked ``Desk``.

Only an admin signs a necessity test or issues an assessment, records of processing or a filing
pack; the overview is open to operators too (it holds counts only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

from app.compliance import facts as F
from app.compliance.base import GovernanceBase
from app.compliance.necessity import (
    all_in_force,
    answers_sha256,
    clean_answers,
    necessity_in_force,
)
from app.compliance.registers import Registers
from app.compliance.types import (
    ASSESSMENT_QUESTIONS,
    AssessmentState,
    ComplianceOverview,
    FilingLevel,
    ImpactAssessmentRecord,
    IssuedDocument,
    NecessityAnswers,
    NecessityTest,
    PurposeCompliance,
)
from app.devices.registry import DeviceFreshness, Devices
from app.errors import InvalidInput
from app.models import Language, Purpose, Signature
from app.rooms.purposes import PURPOSE_FIELDS
from app.validation import check_signature, clean_text
from app.values import _dt, _iso

RATE_WINDOW_DAYS = 90
ASSESSMENT_MAX_AGE = dt.timedelta(days=365)


class Compliance(GovernanceBase):
    """Necessity tests, the compliance overview and the assessment, records and filing PDFs.
    ``registers`` holds the requests register and breach records."""

    def __init__(self, desk: Any) -> None:
        super().__init__(desk)
        self.registers = Registers(desk)

    # ------------------------------------------------------------------ necessity test
    def assess_purpose(
        self, purpose_id: int, answers: NecessityAnswers, signature: Signature | None = None
    ) -> NecessityTest:
        """Sign the necessity and proportionality answers for the purpose's current version.

        Signing the same answers again changes nothing. Different answers for a version that
        already has signed ones make a new purpose version (same wording, new justification),
        so consents already given keep pointing at the justification in force when they were.
        """
        self._desk.session.require_admin()
        clean = clean_answers(answers)
        if signature is not None:
            check_signature(signature, "signature")
        sha = answers_sha256(clean)
        purpose = self._desk.get_purpose(purpose_id)
        now = self._now()
        with self._desk.session.write() as conn:
            current = necessity_in_force(conn, purpose.id, purpose.version)
            if current is not None and current.answers_sha256 == sha:
                return current
            version = purpose.version
            if current is not None and current.purpose_version == purpose.version:
                version = purpose.version + 1
                values = {f: getattr(purpose, f) for f in PURPOSE_FIELDS}
                self._desk.purposes._insert_version(conn, purpose.id, version, values, _iso(now))
            conn.execute(
                "INSERT INTO purpose_assessments (purpose_id, purpose_version, necessity, "
                "why_not_alternative, scenario, access, answers_sha256, signature, signed_by, "
                "signed_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    purpose.id,
                    version,
                    clean.necessity,
                    clean.why_not_alternative,
                    clean.scenario,
                    clean.access,
                    sha,
                    json.dumps(signature.to_json()) if signature else None,
                    self._user,
                    _iso(now),
                ),
            )
            self._audit(
                "purpose.assess",
                None,
                {
                    "purpose": purpose.id,
                    "version": version,
                    "scenario": clean.scenario,
                    "answers_sha256": sha,
                    "new_version": version != purpose.version,
                },
            )
        return NecessityTest(
            purpose.id, version, clean, sha, self._user, now, signature is not None
        )

    def necessity(self, purpose_id: int) -> NecessityTest | None:
        purpose = self._desk.get_purpose(purpose_id)
        return cast(
            "NecessityTest | None",
            self._desk.session.read(lambda c: necessity_in_force(c, purpose.id, purpose.version)),
        )

    # ------------------------------------------------------------------ overview
    def overview(self, *, verify_audit: bool = False) -> ComplianceOverview:
        """Counts against the filing threshold, assessment states, open and overdue requests.

        Aggregate queries on covering indexes only, so it stays well under a second with
        100,000 people (see :mod:`app.compliance.bench`); the audit chain is re-verified only
        on request because that reads every entry.
        """
        now = self._now()
        threshold = self._int_setting("filing_threshold")
        purposes: list[Purpose] = self._desk.list_purposes()
        audit_ok = self._desk.audit_verify().ok if verify_audit else None

        def q(c: Any) -> tuple[Any, ...]:
            since = _iso(now - dt.timedelta(days=RATE_WINDOW_DAYS))
            recent = c.execute(
                "SELECT count(*) FROM consents WHERE status = 'active' AND signed_at >= ?",
                (since,),
            ).fetchone()[0]
            created = c.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
            requests = c.execute(
                "SELECT count(*), coalesce(sum(due_on < ?), 0) FROM requests WHERE status = 'open'",
                (now.date().isoformat(),),
            ).fetchone()
            assessed = {
                int(r[0]): (int(r[1]), r[2])
                for r in c.execute(
                    "SELECT purpose_id, purpose_version, max(created_at) FROM impact_assessments "
                    "GROUP BY purpose_id"
                ).fetchall()
            }
            backup = c.execute(
                "SELECT at FROM audit WHERE action = 'vault.backup' ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            return (
                F.stored_people(c),
                F.stored_per_purpose(c),
                all_in_force(c),
                int(recent),
                _dt(bytes(created[0]).decode()) if created else None,
                requests,
                assessed,
                c.execute("SELECT count(*) FROM breaches").fetchone()[0],
                c.execute("SELECT count(*) FROM erasures WHERE erased_by = 'retention'").fetchone()[
                    0
                ],
                _dt(backup[0]) if backup else None,
                c.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0],
            )

        (
            stored,
            per,
            tests,
            recent,
            created,
            requests,
            assessed,
            breaches,
            purges,
            backup,
            entries,
        ) = self._desk.session.read(q)
        devices = tuple(self.device_freshness())
        window = RATE_WINDOW_DAYS
        if created is not None:
            window = max(1, min(window, math.ceil((now - created).total_seconds() / 86400)))
        rate = recent / window
        projected: dt.date | None = None
        if stored <= threshold and rate > 0:
            projected = now.date() + dt.timedelta(days=math.ceil((threshold + 1 - stored) / rate))
        level: FilingLevel = (
            "required"
            if stored > threshold
            else "warning"
            if stored >= 0.8 * threshold
            else "below"
        )
        rows = []
        for p in purposes:
            test = tests.get(p.id)
            necessity: AssessmentState = (
                "missing"
                if test is None
                else "current"
                if test.purpose_version == p.version
                else "stale"
            )
            version_assessed, at_text = assessed.get(p.id, (None, None))
            at = _dt(at_text)
            state: AssessmentState = "missing"
            if at is not None:
                fresh = now - at <= ASSESSMENT_MAX_AGE and version_assessed == p.version
                state = "current" if fresh else "stale"
            can_enroll = test is not None and (
                test.answers.scenario != "security" or at is not None
            )
            rows.append(
                PurposeCompliance(
                    p.id,
                    p.version,
                    p.title,
                    per.get(p.id, 0),
                    necessity,
                    test.purpose_version if test else None,
                    test.answers.scenario if test else None,
                    state,
                    at,
                    can_enroll,
                )
            )
        return ComplianceOverview(
            generated_at=now,
            stored_people=stored,
            per_purpose=tuple(rows),
            filing_threshold=threshold,
            filing_required=stored > threshold,
            filing_level=level,
            threshold_ratio=round(stored / threshold, 4),
            enrollment_rate_per_day=round(rate, 3),
            projected_threshold_date=projected,
            open_requests=int(requests[0]),
            overdue_requests=int(requests[1]),
            breaches=int(breaches),
            retention_erasures=int(purges),
            last_backup_at=backup,
            audit_entries=int(entries),
            audit_ok=audit_ok,
            devices=devices,
            devices_overdue=sum(1 for d in devices if d.overdue),
        )

    def device_freshness(self) -> Sequence[DeviceFreshness]:
        """Per device, what was last handed over and whether a revocation has waited longer
        than ``device_overdue_hours`` (the start screen, the overview and ``compliance``)."""
        hours = self._int_setting("device_overdue_hours")
        return Devices(self._desk, clock=self._now).freshness(dt.timedelta(hours=hours))

    # ------------------------------------------------------------------ facts for documents
    def _vault_facts(self, conn: Any, audit_ok: bool | None) -> F.VaultFacts:
        return F.vault_facts(conn, self._desk.organisation, self._desk.settings(), audit_ok)

    def records_of_processing(self) -> dict[str, Any]:
        """GDPR Art. 30 / PIPL record as plain data (the JSON form; the PDF prints the same)."""
        purposes = self._desk.list_purposes()
        vault, pfs = self._desk.session.read(
            lambda c: (self._vault_facts(c, None), F.purpose_facts(c, purposes))
        )
        return _record(vault, pfs, self._now())

    # ------------------------------------------------------------------ documents
    def impact_assessment(
        self, purpose_id: int, language: Language = "en", answers: Mapping[str, str] | None = None
    ) -> IssuedDocument:
        """Issue the PIPIA/DPIA for a purpose: vault facts plus the admin's answers."""
        self._desk.session.require_admin()
        unknown = set(answers or {}) - set(ASSESSMENT_QUESTIONS)
        if unknown:
            raise InvalidInput(f"Unknown assessment question: {', '.join(sorted(unknown))}")
        given = {
            k: clean_text(v, k.replace("_", " "), limit=2000) or ""
            for k, v in (answers or {}).items()
        }
        purpose = self._desk.get_purpose(purpose_id)
        audit_ok = self._desk.audit_verify().ok
        vault, pf = self._desk.session.read(
            lambda c: (self._vault_facts(c, audit_ok), F.purpose_facts(c, [purpose])[0])
        )
        doc_id = self._new_doc_id()
        pdf = self.documents.impact_assessment(
            vault=vault, purpose=pf, answers=given, language=language, document_id=doc_id
        )
        with self._desk.session.write() as conn:
            conn.execute(
                "INSERT INTO impact_assessments (purpose_id, purpose_version, answers, "
                "document_id, language, created_by, created_at) VALUES (?,?,?,?,?,?,?)",
                (
                    purpose.id,
                    purpose.version,
                    json.dumps(given, ensure_ascii=False),
                    doc_id,
                    language,
                    self._user,
                    _iso(self._now()),
                ),
            )
            issued = self._issue(
                conn, "impact_assessment", language, pdf, doc_id, purpose.version_id
            )
            self._audit("assessment.issue", None, {"purpose": purpose.id, "document": doc_id})
        return issued

    def impact_assessments(self) -> list[ImpactAssessmentRecord]:
        rows = self._desk.session.read(
            lambda c: c.execute(
                "SELECT purpose_id, purpose_version, document_id, language, created_by, "
                "created_at, answers FROM impact_assessments ORDER BY created_at, id"
            ).fetchall()
        )
        return [
            ImpactAssessmentRecord(
                int(r[0]),
                int(r[1]),
                r[2],
                r[3],
                r[4],
                dt.datetime.fromisoformat(r[5]),
                json.loads(r[6]),
            )
            for r in rows
        ]

    def records_pdf(self, language: Language = "en") -> tuple[IssuedDocument, dict[str, Any]]:
        self._desk.session.require_admin()
        purposes = self._desk.list_purposes()
        audit_ok = self._desk.audit_verify().ok
        vault, pfs = self._desk.session.read(
            lambda c: (self._vault_facts(c, audit_ok), F.purpose_facts(c, purposes))
        )
        record = _record(vault, pfs, self._now())
        doc_id = self._new_doc_id()
        pdf = self.documents.records_of_processing(
            vault=vault, purposes=pfs, record=record, language=language, document_id=doc_id
        )
        with self._desk.session.write() as conn:
            issued = self._issue(conn, "records_of_processing", language, pdf, doc_id)
        return issued, record

    def filing_pack(self, language: Language = "en") -> IssuedDocument:
        """Everything the filing needs, with the newest impact assessment of each purpose
        attached as the signed PDF that was issued."""
        self._desk.session.require_admin()
        overview = self.overview()
        purposes = self._desk.list_purposes()
        audit_ok = self._desk.audit_verify().ok
        vault, pfs = self._desk.session.read(
            lambda c: (self._vault_facts(c, audit_ok), F.purpose_facts(c, purposes))
        )
        latest: dict[int, ImpactAssessmentRecord] = {}
        for record in self.impact_assessments():
            latest[record.purpose_id] = record
        attached = [(r, self._desk.document_pdf(r.document_id)) for r in latest.values()]
        doc_id = self._new_doc_id()
        pdf = self.documents.filing_pack(
            vault=vault,
            purposes=pfs,
            overview=overview,
            assessments=attached,
            language=language,
            document_id=doc_id,
        )
        with self._desk.session.write() as conn:
            return self._issue(conn, "filing_pack", language, pdf, doc_id)


def _record(vault: F.VaultFacts, pfs: Sequence[F.PurposeFacts], now: dt.datetime) -> dict[str, Any]:
    """The records of processing as JSON-ready data (shared by the JSON and the PDF)."""
    return {
        "generated_at": now.isoformat(),
        "organisation": vault.org.name,
        "stored_people": vault.stored_people,
        "categories_of_people": ["enrolled people", "parents or guardians of minors"],
        "categories_of_data": [
            "name",
            "reference (optional)",
            "date of birth (optional)",
            "face templates",
            "photos (only where the purpose keeps them and the person agreed)",
            "signed consent forms",
            "audit trail",
        ],
        "transfers_abroad": [],
        "purposes": [
            {
                "purpose_id": pf.purpose.id,
                "version": pf.purpose.version,
                "title": pf.purpose.title,
                "controller": pf.purpose.controller,
                "contact": pf.purpose.contact,
                "legal_basis": "separate written consent (PIPL 13(1), 29; GDPR 6(1)(a), 9(2)(a))",
                "recipients": pf.purpose.recipients,
                "retention_days": pf.purpose.retention_days,
                "keeps_photos": pf.purpose.keep_photos,
                "scenario": pf.necessity.answers.scenario if pf.necessity else None,
                "access": pf.necessity.answers.access if pf.necessity else None,
                "counts": dict(pf.counts),
            }
            for pf in pfs
        ],
        "security_measures": {
            "encryption": "SQLCipher AES-256, key wrapped per staff account (Argon2id)",
            "audit_entries": vault.audit_entries,
            "audit_ok": vault.audit_ok,
            "liveness": "active challenge",
            "retention_max_inactivity_days": int(
                float(vault.settings.get("max_inactivity_days", "1095"))
            ),
            "erasures": vault.erasures,
            "retention_erasures": vault.retention_erasures,
            "staff": {"admins": vault.admins, "operators": vault.operators},
        },
        "fingerprint": hashlib.sha256(
            json.dumps([pf.purpose.version_id for pf in pfs]).encode()
        ).hexdigest()[:16],
    }
