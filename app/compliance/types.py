"""What the governance verbs take and return: frozen dataclasses, nothing live."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from app.devices.registry import DeviceFreshness

# The questions of an impact assessment (answered by an admin, printed in its record). Here and
# not beside the document maker: asking them must not load reportlab (issue 12).
ASSESSMENT_QUESTIONS = ("risks_to_people", "residual_risk", "measures_planned", "conclusion")

Scenario = Literal["building_access", "attendance", "payment", "security", "other"]
SCENARIOS: tuple[Scenario, ...] = ("building_access", "attendance", "payment", "security", "other")
RequestKind = Literal[
    "access", "rectification", "erasure", "withdrawal", "objection", "explanation", "complaint"
]
REQUEST_KINDS: tuple[RequestKind, ...] = (
    "access",
    "rectification",
    "erasure",
    "withdrawal",
    "objection",
    "explanation",
    "complaint",
)
Jurisdiction = Literal["pipl", "gdpr"]
JURISDICTIONS: tuple[Jurisdiction, ...] = ("pipl", "gdpr")
AssessmentState = Literal["missing", "current", "stale"]
FilingLevel = Literal["below", "warning", "required"]


@dataclass(frozen=True)
class NecessityAnswers:
    """The admin's answers before a purpose may be used: why face recognition at all, why the
    alternative (card, PIN, staff check) is not enough, which scenario class, who may see it."""

    necessity: str
    why_not_alternative: str
    scenario: Scenario
    access: str


@dataclass(frozen=True)
class NecessityTest:
    """Signed answers for one purpose version. ``answers_sha256`` is also in the audit chain, so
    a later edit of the row outside ConsentDesk shows."""

    purpose_id: int
    purpose_version: int
    answers: NecessityAnswers
    answers_sha256: str
    signed_by: str
    signed_at: dt.datetime
    has_handwritten_signature: bool = False


@dataclass(frozen=True)
class ImpactAssessmentRecord:
    purpose_id: int
    purpose_version: int
    document_id: str
    language: str
    created_by: str
    created_at: dt.datetime
    answers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PurposeCompliance:
    purpose_id: int
    version: int
    title: str
    stored_people: int
    necessity: AssessmentState
    necessity_version: int | None
    scenario: Scenario | None
    assessment: AssessmentState
    assessment_date: dt.datetime | None
    can_enroll: bool


@dataclass(frozen=True)
class ComplianceOverview:
    """The shape of ``consentdesk compliance --json`` (a promise to scripts)."""

    generated_at: dt.datetime
    stored_people: int
    per_purpose: tuple[PurposeCompliance, ...]
    filing_threshold: int
    filing_required: bool
    filing_level: FilingLevel
    threshold_ratio: float
    enrollment_rate_per_day: float
    projected_threshold_date: dt.date | None
    open_requests: int
    overdue_requests: int
    breaches: int
    retention_erasures: int
    last_backup_at: dt.datetime | None
    audit_entries: int
    audit_ok: bool | None = None
    devices: tuple[DeviceFreshness, ...] = ()
    """Every registered device: last bundle and revocation list written, revocations waiting."""
    devices_overdue: int = 0
    """Devices with a revocation older than ``device_overdue_hours`` not yet written for them."""


@dataclass(frozen=True)
class RequestRecord:
    """One entry of the requests register. ``requester`` is only kept for someone who is not in
    the vault (when ``person_id`` is set, the name comes from the person's own row, so erasing
    them leaves no name here)."""

    id: str
    kind: RequestKind
    person_id: str | None
    requester: str | None
    identity_check: str
    channel: str
    jurisdiction: Jurisdiction
    received_at: dt.datetime
    due_on: dt.date
    status: Literal["open", "closed"]
    overdue: bool
    outcome: str | None = None
    fulfilled_by: str | None = None
    documents: tuple[str, ...] = ()
    closed_at: dt.datetime | None = None
    closed_by: str | None = None


@dataclass(frozen=True)
class BreachInput:
    """What is known about a breach. People and records are counts, never names."""

    what: str
    discovered_at: dt.datetime
    data_categories: str
    people_affected: int
    records_affected: int
    consequences: str
    measures: str
    occurred_at: dt.datetime | None = None
    regulator_notified_at: dt.datetime | None = None
    people_notified_at: dt.datetime | None = None


@dataclass(frozen=True)
class BreachRecord:
    id: str
    details: BreachInput
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class IssuedDocument:
    """A governance PDF, signed and stored in the vault (so ``verify-document`` knows it)."""

    document_id: str
    kind: str
    language: str
    sha256: str
    filename: str
    pdf: bytes
