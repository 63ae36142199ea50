"""Requests and results of the ``Desk`` verbs that are not domain objects themselves.

They live apart from ``app.desk`` so the service class stays about behaviour; ``app.desk``
re-exports them, so callers import everything from one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from app.keyslots import KdfParams
from app.models import (
    AgeBasis,
    AuditEvent,
    Consent,
    ConsentStatus,
    DocumentInfo,
    FaceSearch,
    Guardian,
    Language,
    LivenessResult,
    Match,
    Person,
    Signature,
)
from app.values import _now

if TYPE_CHECKING:
    from app.bio.engine import BioEngine
    from app.upgrade import UpgradeStep


@dataclass(frozen=True)
class PersonDetails:
    name: str
    reference: str | None = None
    date_of_birth: dt.date | None = None
    language: Language = "en"
    # issue-13: without a date of birth, the attestation that stands in for it ("adult, identity
    # document seen" at the desk); the core refuses an enrollment with neither.
    age_basis: AgeBasis | None = None


@dataclass(frozen=True)
class EnrollmentRequest:
    """Everything the enrollment wizard gathered. ``disclosure_sha256`` is the hash of the text the
    person was shown; the vault re-renders the disclosure and refuses if it differs."""

    person: PersonDetails
    purpose_id: int
    disclosure_sha256: str
    signature: Signature
    embeddings: Sequence[Sequence[float]] = ()
    liveness: LivenessResult | None = None
    guardian: Guardian | None = None
    photo_jpeg: bytes | None = None
    photo_consent: bool = False
    existing_person_id: str | None = None
    acknowledged_warnings: bool = False
    paper_signed_on: dt.date | None = None
    paper_scan: bytes | None = None
    paper_scan_name: str | None = None
    # Token from ``Desk.approve_liveness_skip`` when an admin signed off a skipped liveness check.
    liveness_approval: str | None = None


@dataclass(frozen=True)
class ReconsentRequest:
    """issue-13: the short path after a material purpose change. The person read the current
    version's disclosure (``disclosure_sha256``) and signed; the templates kept from their
    earlier consent (``consent_id``) carry over, so nothing is captured again."""

    consent_id: str
    disclosure_sha256: str
    signature: Signature
    guardian: Guardian | None = None
    photo_consent: bool = False


@dataclass(frozen=True)
class RefusalRequest:
    person: PersonDetails
    purpose_id: int
    disclosure_sha256: str
    alternative: str
    signature: Signature | None = None
    guardian: Guardian | None = None
    existing_person_id: str | None = None
    # issue-13: the person asked for a record in their name. Otherwise the vault keeps no name,
    # only what proves the choice was free and the hash of the record the person takes home.
    in_name: bool = False


@dataclass(frozen=True)
class RefusalResult:
    """A recorded refusal. ``pdf`` is the signed refusal record for the person to take home;
    ``person``, ``consent`` and ``documents`` exist only for a refusal recorded in their name."""

    refusal_id: str
    purpose_id: int
    purpose_version: int
    refused_at: dt.datetime
    alternative: str
    pdf: bytes
    pdf_sha256: str
    filename: str
    person: Person | None = None
    consent: Consent | None = None
    documents: tuple[DocumentInfo, ...] = ()

    @property
    def in_name(self) -> bool:
        return self.person is not None


@dataclass(frozen=True)
class RectificationResult:
    """A corrected person: the fields changed and the receipt handed to them."""

    person: Person
    fields: tuple[str, ...]
    receipt: DocumentInfo | None = None


@dataclass(frozen=True)
class PersonSummary:
    person: Person
    status: ConsentStatus | Literal["none"]
    purposes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeoplePage:
    items: tuple[PersonSummary, ...]
    total: int
    offset: int
    limit: int
    # issue-13: refusals an operator asked to list, counted but never named
    refusals_withheld: int = 0


@dataclass(frozen=True)
class IdentifyResult:
    decision: Literal["match", "no_match", "no_face", "several_faces", "error"]
    candidates: tuple[Match, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class PersonExport:
    """Data-subject access: everything held about one person (template values excluded)."""

    person: Person
    consents: tuple[Consent, ...]
    documents: tuple[DocumentInfo, ...]
    audit: tuple[AuditEvent, ...]
    templates: int
    photos: int
    face_searches: tuple[FaceSearch, ...] = ()  # issue-13: who looked the person up


@dataclass(frozen=True)
class DocumentCheck:
    """``valid``: the workstation's signature covers the unchanged file. ``status``: whether the
    vault knows this exact file (``stored``), knows the document but holds different bytes
    (``differs_from_stored``), knows it as an erasure certificate, knows its hash only from the
    erasure ledger (``ledger_record``: a withdrawal receipt whose stored copy a restore or an
    erasure removed), knows it as a refusal record kept without a name (``refusal_record``:
    the person holds the only copy; the vault its hash, issue 13), or does not know it."""

    valid: bool
    status: Literal[
        "stored",
        "differs_from_stored",
        "erasure_certificate",
        "ledger_record",
        "refusal_record",
        "unknown",
    ]
    document_id: str | None
    kind: str | None
    person_id: str | None
    signer: str | None
    signed_at: dt.datetime | None
    sha256: str
    problems: tuple[str, ...] = ()
    # issue-15: who issued the signing certificate, and the RFC 3161 time of a B-T signature
    issuer: str | None = None
    timestamp_at: dt.datetime | None = None


@dataclass(frozen=True)
class DeskOptions:
    """Injected knobs (tests use a cheaper KDF and a fixed clock)."""

    kdf: KdfParams = field(default_factory=KdfParams)
    clock: Callable[[], dt.datetime] = _now
    auto_purge: bool = True
    # A BioEngine shared across lock/unlock (the UI keeps one: loading models takes a second).
    # When None, the desk loads its own on first use and closes it at lock.
    face_engine: BioEngine | None = None
    # Or where to get it on first use (blocking until loaded; called outside the session lock):
    # the UI's shared engine loads in the background after sign-in (issue 12), not before it.
    face_engine_factory: Callable[[], BioEngine] | None = None
    # Told each step of an upgrade at sign-in (backup, each migration, giving back space) with
    # its share done; called on the signing-in thread (the window marshals it to the screen).
    upgrade_progress: Callable[[UpgradeStep], None] | None = None
