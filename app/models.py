"""The domain model, as frozen dataclasses.

These are the only shapes that cross the boundary between the core and its callers (the UI, the
CLI, the document builders). They are frozen so that a value handed to the UI cannot be changed
behind the vault's back, and plain so that they serialise to JSON for ``--json`` output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["admin", "operator"]
Decision = Literal["granted", "refused"]
# "refused" marks the record of a refusal: it was never an active consent.
# "reconsent" (issue 13): an active consent given to an older version of a purpose that has since
# changed materially; its templates are kept but match nothing until the person signs again.
ConsentStatus = Literal["active", "reconsent", "withdrawn", "expired", "refused"]
CONSENT_STATUSES: tuple[ConsentStatus, ...] = (
    "active",
    "reconsent",
    "withdrawn",
    "expired",
    "refused",
)
Collected = Literal["template", "template_and_photo"]
Language = Literal["en", "zh"]
# Who asked for a withdrawal or an erasure: printed on the receipt and the certificate, because
# "at the person's request" is only true when it was.
RequestedBy = Literal["person", "representative", "retention", "admin"]
REQUESTED_BY: tuple[RequestedBy, ...] = ("person", "representative", "retention", "admin")
DocumentKind = Literal[
    "consent_form",
    "refusal_record",
    "withdrawal_receipt",
    "erasure_certificate",
    "access_report",
    "retention_notice",
    "paper_scan",
    "rectification_receipt",
]
# issue-13: how a consent established that the person is an adult (or that a guardian signed):
# a date of birth, the operator's attestation "adult, identity document seen", or (bulk import
# only) "adult according to the organisation's records", attested by the importing admin.
AgeBasis = Literal["date_of_birth", "id_document_seen", "organisation_records"]
AGE_BASES: tuple[AgeBasis, ...] = ("date_of_birth", "id_document_seen", "organisation_records")
LANGUAGES: tuple[Language, ...] = ("en", "zh")


@dataclass(frozen=True)
class Organisation:
    """The data controller running this workstation."""

    name: str
    timezone: str = "UTC"
    # issue-15 point 7: the settings the disclosure states (``app.disclosure_law``). They are part
    # of the text a person signs, so changing one changes the disclosure's hash.
    jurisdiction: str = "CN"
    dpo_contact: str = ""
    regulator: str = ""
    inactivity_days: int = 1095
    backup_days: int = 90


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    role: Role
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None


@dataclass(frozen=True)
class PurposeDevice:
    """A recognition device (door, terminal) a purpose version gives templates to, as its
    disclosure names it: the name and where it stands (issue 17)."""

    name: str
    location: str = ""


@dataclass(frozen=True)
class Purpose:
    """One version of a purpose. Editing a purpose creates a new version; consents point at the
    version the person actually saw (``version_id``)."""

    id: int
    version: int
    version_id: int
    title: str
    controller: str
    contact: str
    retention_days: int
    alternative: str
    description: str = ""
    recipients: str = ""
    regulator: str = ""
    keep_photos: bool = False
    # issue-15 point 7: override the jurisdiction's legal basis and the DPO setting when set
    legal_basis: str = ""
    dpo_contact: str = ""
    # issue-13: the person-facing texts in Chinese ("" = not given; see app.purpose_texts)
    title_zh: str = ""
    controller_zh: str = ""
    description_zh: str = ""
    recipients_zh: str = ""
    regulator_zh: str = ""
    alternative_zh: str = ""
    legal_basis_zh: str = ""
    created_at: dt.datetime | None = None
    # issue-17: the devices this version hands templates to, and the longest a revocation may
    # take to reach them (both printed in the disclosure; a snapshot, fixed per version).
    devices: tuple[PurposeDevice, ...] = ()
    revocation_hours: int = 24

    @property
    def collected(self) -> Collected:
        return "template_and_photo" if self.keep_photos else "template"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    reference: str | None = None
    date_of_birth: dt.date | None = None
    language: Language = "en"
    created_at: dt.datetime | None = None
    last_interaction_at: dt.datetime | None = None


@dataclass(frozen=True)
class SignaturePoint:
    x: float
    y: float
    t_ms: int = 0


@dataclass(frozen=True)
class Signature:
    """Pen strokes as captured on screen, in the pad's own coordinates (``width`` x ``height``)."""

    strokes: tuple[tuple[SignaturePoint, ...], ...]
    width: int
    height: int

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "strokes": [[[p.x, p.y, p.t_ms] for p in s] for s in self.strokes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signature:
        strokes = tuple(
            tuple(SignaturePoint(float(p[0]), float(p[1]), int(p[2])) for p in stroke)
            for stroke in data["strokes"]
        )
        return cls(strokes=strokes, width=int(data["width"]), height=int(data["height"]))


@dataclass(frozen=True)
class Guardian:
    name: str
    signature: Signature


@dataclass(frozen=True)
class ChallengeStep:
    prompt: Literal["blink", "turn_left", "turn_right"]
    passed: bool
    elapsed_ms: int
    value: float | None = None


@dataclass(frozen=True)
class LivenessResult:
    """Evidence of the active liveness challenge, stored with the consent."""

    passed: bool
    steps: tuple[ChallengeStep, ...] = ()
    identity_distance: float | None = None
    method: str = "active-challenge-v1"
    note: str = ""
    # When the check was skipped at the desk (operator capture, photo file): the operator's typed
    # reason and who approved it (the operator if an admin, else the admin who signed off).
    skip_reason: str = ""
    approved_by: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LivenessResult:
        steps = tuple(ChallengeStep(**s) for s in data.get("steps", ()))
        return cls(
            passed=bool(data["passed"]),
            steps=steps,
            identity_distance=data.get("identity_distance"),
            method=str(data.get("method", "active-challenge-v1")),
            note=str(data.get("note", "")),
            skip_reason=str(data.get("skip_reason", "")),
            approved_by=str(data.get("approved_by", "")),
        )


@dataclass(frozen=True)
class Disclosure:
    """The exact text shown to the person; ``sha256`` is over its UTF-8 bytes."""

    purpose_version_id: int
    language: Language
    text: str
    sha256: str


@dataclass(frozen=True)
class Consent:
    id: str
    person_id: str
    purpose_id: int
    purpose_version: int
    purpose_version_id: int
    language: Language
    text_sha256: str
    decision: Decision
    status: ConsentStatus
    signed_at: dt.datetime
    operator: str
    alternative: str | None = None
    expires_at: dt.datetime | None = None
    guardian_name: str | None = None
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None
    paper_signed_on: dt.date | None = None
    liveness: LivenessResult | None = None
    template_count: int = 0
    photo_count: int = 0
    # issue-13: set while re-consent is needed: the day its kept templates are destroyed.
    reconsent_due_at: dt.datetime | None = None
    age_basis: AgeBasis | None = None
    age_attested_by: str | None = None
    # The person's own tick for keeping a photo, given on the decision page before capture
    # (None: the purpose keeps no photos, or the consent predates the separate tick).
    photo_consent: bool | None = None


@dataclass(frozen=True)
class FaceSearch:
    """issue-13: one face search that returned this person as a candidate ("who looked you
    up"): who searched, when, for which task and purpose, and how many candidates came back.
    The probe face is never kept, so it is not here either."""

    at: dt.datetime
    actor: str
    task: str
    purpose_id: int | None
    candidates: int
    rank: int
    origin: str

    @classmethod
    def from_event(cls, event: AuditEvent) -> FaceSearch:
        d = event.details
        purpose = d.get("purpose")
        return cls(
            at=event.at,
            actor=event.actor,
            task=str(d.get("task", "identify")),
            purpose_id=int(purpose) if purpose is not None else None,
            candidates=int(d.get("candidates", 0)),
            rank=int(d.get("rank", 0)),
            origin=str(d.get("source", "core")),
        )


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    kind: DocumentKind
    person_id: str | None
    consent_id: str | None
    created_at: dt.datetime
    sha256: str
    filename: str
    size: int
    language: Language = "en"


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    entries: int
    head: str
    problems: tuple[str, ...] = ()
    # ``audit verify --against FILE.pdf``: the head the document was issued at.
    document_head: str | None = None


@dataclass(frozen=True)
class Match:
    person_id: str
    name: str
    reference: str | None
    distance: float


@dataclass(frozen=True)
class EnrollmentWarning:
    kind: Literal["duplicate", "lookalike"]
    person_id: str
    name: str
    distance: float


@dataclass(frozen=True)
class EnrollmentResult:
    person: Person
    consent: Consent
    templates_stored: int
    warnings: tuple[EnrollmentWarning, ...] = ()
    documents: tuple[DocumentInfo, ...] = ()


@dataclass(frozen=True)
class WithdrawalResult:
    person_id: str
    consent_ids: tuple[str, ...]
    templates_deleted: int
    withdrawn_at: dt.datetime
    receipt: DocumentInfo | None = None


@dataclass(frozen=True)
class ErasureResult:
    person_id: str
    erased_at: dt.datetime
    erased_by: str
    counts_before: Mapping[str, int]
    counts_after: Mapping[str, int]
    certificate: DocumentInfo | None = None
    # The certificate is handed to the person, not kept: keeping it would keep their name.
    certificate_pdf: bytes | None = None


@dataclass(frozen=True)
class PurgeResult:
    expired_consents: tuple[str, ...]
    erased_people: tuple[str, ...]
    templates_deleted: int
    # issue-13: consents whose re-consent grace period ended (destroyed like a withdrawal)
    reconsent_lapsed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stats:
    people: int
    active_consents: int
    refusals: int
    withdrawn: int
    expired: int
    templates: int
    documents: int
    staff: int
    purposes: int
    audit_entries: int
