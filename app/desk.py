"""``Desk``: the one service object through which the UI and the CLI use the workstation.

Shaped like Anki's ``Collection``: a thin facade that builds one manager per kind of record over
one shared :class:`app.session.Session` (connection, re-entrant lock, clock, signed-in staff
member, audit log) and exposes them as attributes:

* ``desk.config`` settings (typed schema) and the organisation's name, ``desk.staff``
  accounts, ``desk.purposes``, ``desk.people``, ``desk.archive`` stored documents, ``desk.faces``
  gallery and engine, ``desk.consents`` enroll/refuse, ``desk.retention``
  withdraw/erase/purge/access, ``desk.imports`` HR bulk import, ``desk.backups``,
  ``desk.audit_trail``, ``desk.integrity`` the full check.

Workflow verbs (``enroll``, ``refuse``, ``withdraw``, ``erase``, ``identify_*`` ...) and the older
flat methods stay on the facade as one-line calls into the managers, so callers keep working;
the face search verbs live in ``app.desk_faces`` and the vault's upkeep verbs in
``app.desk_upkeep`` (both mixed into ``Desk``), so no file of the facade outgrows ~600 lines.
Every verb checks the signed-in staff member's role, changes the database in one transaction
together with its audit entry, and returns frozen dataclasses. No verb hands out a live row or
the key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import desk_open
from app.backoff import LoginBackoff
from app.bulk_import import ImportReport
from app.clockguard import ClockGuard, ClockHold
from app.db import Connection
from app.desk_faces import FaceVerbs
from app.desk_types import (
    DeskOptions,
    DocumentCheck,
    EnrollmentRequest,
    IdentifyResult,
    PeoplePage,
    PersonDetails,
    PersonExport,
    PersonSummary,
    ReconsentRequest,
    RectificationResult,
    RefusalRequest,
    RefusalResult,
)
from app.desk_upkeep import VaultUpkeep
from app.finality import Finality
from app.models import (
    AuditEvent,
    Consent,
    ConsentStatus,
    Decision,
    Disclosure,
    DocumentInfo,
    EnrollmentResult,
    ErasureResult,
    Language,
    Organisation,
    Person,
    PurgeResult,
    Purpose,
    RequestedBy,
    Role,
    StaffAccount,
    WithdrawalResult,
)
from app.paths import VaultPaths
from app.permissions import allowed
from app.rooms.archive import Archive
from app.rooms.audit_trail import AuditTrail
from app.rooms.backups import Backups
from app.rooms.consents import Consents
from app.rooms.drafts import Drafts, EnrollmentDraft
from app.rooms.faces import Faces
from app.rooms.imports import Imports
from app.rooms.integrity import Integrity
from app.rooms.materiality import PurposeDifference
from app.rooms.people import People
from app.rooms.purposes import Purposes
from app.rooms.reconsent import Reconsents
from app.rooms.rectify import Rectifications
from app.rooms.refusals import Refusals
from app.rooms.retention import Retention
from app.rooms.settings import Settings
from app.rooms.staff import Staff
from app.session import Session
from app.settings_schema import DEFAULT_SETTINGS, SettingSpec
from app.validation import (
    EMBEDDING_DIM,
    clean_text,
    fold,
)
from app.vault import Vault

if TYPE_CHECKING:
    from app.bio.engine import BioEngine
    from app.documents.maker import DocumentMaker
    from app.org_authority import RootCertificate
    from app.printed_check import PrintedCheck


class Desk(FaceVerbs, VaultUpkeep):
    """An unlocked workstation, signed in as one staff member. The face search verbs are in
    ``app.desk_faces``, the vault's upkeep (audit trail, backups, full check, statistics) in
    ``app.desk_upkeep``: same facade, one file per group of verbs."""

    def __init__(
        self,
        vault: Vault,
        user: StaffAccount,
        options: DeskOptions | None = None,
        face_engine: BioEngine | None = None,
        documents: DocumentMaker | None = None,
    ) -> None:
        self.options = options or DeskOptions()
        self.session = Session(vault, user, self.options.clock)
        s = self.session
        self.config = Settings(s)
        # Issue 10: the erasure ledger, backups and other sessions (``finality``) and the clock
        # check before purging (``clockguard``), built once with this session's hooks.
        self.finality = Finality.for_session(s, self.config.get)
        self.clockguard = ClockGuard.for_session(s, self.config.get)
        self.integrity = Integrity(s)  # issue 12: the full check, in the background
        self.staff = Staff(s, self.integrity)
        self.people = People(s)
        self.faces = Faces(
            s,
            self.config,
            self.people,
            face_engine or self.options.face_engine,
            changed_elsewhere=self.finality.others_changed,
            engine_factory=self.options.face_engine_factory,
        )
        self.purposes = Purposes(s, self.config, self.faces.reload)
        self.archive = Archive(s, self.purposes, documents)
        self.consents = Consents(
            s, self.config, self.purposes, self.people, self.archive, self.faces
        )
        self.retention = Retention(s, self.consents, self.finality, self.clockguard)
        self.reconsents = Reconsents(s, self.consents)  # issue-13
        self.refusals = Refusals(self.consents)  # issue-13
        self.rectifications = Rectifications(s, self.people, self.archive, self.finality)
        self.drafts = Drafts(s)
        self.imports = Imports(s, self.purposes, self.consents)
        self.backups = Backups(s, self.finality)
        self.audit_trail = AuditTrail(s)

    # Kept for tests and tools that look at the raw vault (never used by the UI).
    @property
    def _vault(self) -> Vault:
        return self.session.vault

    @property
    def _conn(self) -> Connection:
        return self.session.conn

    @property
    def user(self) -> StaffAccount:
        return self.session.user

    @property
    def clock_hold(self) -> ClockHold | None:
        """Set when the clock jumped since the vault was last used: automatic purging waits
        until an admin confirms the date (``purge_expired(confirm_clock=True)``)."""
        return self.retention.clock_hold

    # ================================================================== lifecycle
    @staticmethod
    def exists(home: Path) -> bool:
        return Vault.exists(VaultPaths(Path(home)))

    @classmethod
    def initialise(
        cls,
        home: Path,
        org_name: str,
        admin_username: str,
        password: str,
        *,
        timezone: str = "UTC",
        options: DeskOptions | None = None,
    ) -> tuple[Desk, str]:
        """Create a vault with its first admin; returns the open desk and the recovery code."""
        return desk_open.initialise(
            cls, home, org_name, admin_username, password, timezone, options or DeskOptions()
        )

    @classmethod
    def unlock(
        cls, home: Path, username: str, password: str, *, options: DeskOptions | None = None
    ) -> Desk:
        """Sign in with a staff password. Wrong passwords back off exponentially."""
        options = options or DeskOptions()
        paths = VaultPaths(Path(home))
        backoff = desk_open.login_backoff(paths)
        vault = Vault.unlock_password(paths, username, password, backoff, options.upgrade_progress)
        return cls._signed_in(vault, username, backoff, options, "login.password", password)

    @classmethod
    def unlock_with_recovery(
        cls, home: Path, code: str, *, options: DeskOptions | None = None
    ) -> Desk:
        """Sign in with the recovery code, as the first admin (the code belongs to the vault)."""
        options = options or DeskOptions()
        paths = VaultPaths(Path(home))
        backoff = desk_open.login_backoff(paths)
        vault = Vault.unlock_recovery(paths, code, backoff, options.upgrade_progress)
        admin = desk_open.recovery_admin(vault)
        return cls._signed_in(vault, admin, backoff, options, "login.recovery")

    @classmethod
    def _signed_in(
        cls,
        vault: Vault,
        username: str,
        backoff: LoginBackoff,
        options: DeskOptions,
        action: str,
        password: str | None = None,
    ) -> Desk:
        return desk_open.signed_in(cls, vault, username, backoff, options, action, password)

    @classmethod
    def restore(
        cls,
        home: Path,
        source: Path,
        username: str,
        password: str,
        *,
        options: DeskOptions | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Desk:
        return desk_open.restore(
            cls, home, source, username, password, options or DeskOptions(), progress
        )

    def lock(self) -> None:
        """Close the vault and forget the key; the object is unusable afterwards."""
        self.integrity.cancel()  # a background full check stops early
        with self.session.lock:
            self.faces.close()
            self.archive.forget()
            self.session.vault.close()

    close = lock

    @property
    def locked(self) -> bool:
        return self.session.locked

    @property
    def home(self) -> Path:
        return self.session.vault.paths.home

    @property
    def organisation(self) -> Organisation:
        return self.session.organisation

    def rename_organisation(self, name: str) -> Organisation:
        return self.config.rename_organisation(name)

    @staticmethod
    def retry_after(home: Path) -> float:
        """Seconds before the next sign-in attempt is allowed (so a screen can count down)."""
        return desk_open.login_backoff(VaultPaths(Path(home))).retry_after()

    @property
    def documents(self) -> DocumentMaker:
        """The PDF maker (see :attr:`Archive.maker`)."""
        return self.archive.maker

    # ================================================================== settings
    def get_setting(self, key: str) -> str:
        return self.config.get(key)

    def get_float(self, key: str) -> float:
        return self.config.get_float(key)

    def settings(self) -> dict[str, str]:
        return self.config.all()

    def set_setting(self, key: str, value: str | float | int) -> None:
        """Checked against :meth:`settings_schema`: out-of-range values and admin-only settings
        changed by an operator are refused before anything is stored."""
        self.config.set(key, value)

    def settings_schema(self) -> tuple[SettingSpec, ...]:
        """Every setting's name, type, default, range, unit and role, as they apply now (the
        guardian age's minimum follows the organisation's jurisdiction)."""
        return self.config.schema()

    # ================================================================== staff accounts
    def list_users(self) -> list[StaffAccount]:
        return self.staff.all()

    def add_user(self, username: str, password: str, role: Role = "operator") -> StaffAccount:
        return self.staff.add(username, password, role)

    def remove_user(self, username: str) -> None:
        self.staff.remove(username)

    def change_password(
        self, username: str, new_password: str, *, current_password: str | None = None
    ) -> None:
        """Users change their own password (with the current one); admins reset anyone's."""
        self.staff.change_password(username, new_password, current_password=current_password)

    @property
    def signed_in_with(self) -> str:
        """How this session was opened: "login.password", "login.recovery" or "vault.restore"."""
        return self.session.signed_in_with

    def approve_liveness_skip(self, admin_username: str, admin_password: str) -> str:
        """An admin signs off one enrollment without a passed liveness check (one-use token)."""
        return self.consents.approve_liveness_skip(admin_username, admin_password)

    def new_recovery_code(self) -> str:
        return self.staff.new_recovery_code()

    def rekey(self, progress: Callable[[float], None] | None = None) -> None:
        self.staff.rekey(progress)

    # ================================================================== purposes
    def add_purpose(
        self,
        *,
        title: str,
        controller: str,
        contact: str,
        retention_days: int,
        alternative: str,
        description: str = "",
        recipients: str = "",
        regulator: str = "",
        keep_photos: bool = False,
        legal_basis: str = "",
        dpo_contact: str = "",
        **texts_zh: str,
    ) -> Purpose:
        """``texts_zh``: ``title_zh``, ``description_zh``... (issue 13, see app.purpose_texts)."""
        return self.purposes.add(
            **texts_zh,
            title=title,
            controller=controller,
            contact=contact,
            retention_days=retention_days,
            alternative=alternative,
            description=description,
            recipients=recipients,
            regulator=regulator,
            keep_photos=keep_photos,
            legal_basis=legal_basis,  # issue-15: empty = the jurisdiction's default
            dpo_contact=dpo_contact,
        )

    def edit_purpose(
        self, purpose_id: int, material: bool | None = None, **changes: Any
    ) -> Purpose:
        """A new version; a material one puts older consents into re-consent (issue 13)."""
        return self.purposes.edit(purpose_id, material, **changes)

    def get_purpose(self, purpose_id: int, version: int | None = None) -> Purpose:
        return self.purposes.get(purpose_id, version)

    def list_purposes(self) -> list[Purpose]:
        return self.purposes.all()

    def purpose_versions(self, purpose_id: int) -> list[Purpose]:
        return self.purposes.versions(purpose_id)

    def disclosure(self, purpose_id: int, language: Language) -> Disclosure:
        return self.purposes.disclosure(purpose_id, language)

    # ================================================================== people and consents
    def get_person(self, person_id: str) -> Person:
        return self.people.get(person_id)

    def find_people(
        self,
        query: str = "",
        status: ConsentStatus | None = None,
        purpose_id: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> PeoplePage:
        return self.people.find(query, status, purpose_id, offset, limit)

    def similar_names(self, name: str, limit: int = 5) -> list[Person]:
        return self.people.similar_names(name, limit)

    def person_audit(self, person_id: str) -> list[AuditEvent]:
        return self.people.audit(person_id)

    def person_consents(self, person_id: str) -> list[Consent]:
        return self.consents.of_person(person_id)

    def get_consent(self, consent_id: str) -> Consent:
        return self.consents.get(consent_id)

    def consent_disclosure_text(self, consent_id: str) -> str:
        return self.consents.disclosure_text(consent_id)

    def needs_guardian(self, date_of_birth: dt.date | None) -> bool:
        return self.consents.needs_guardian(date_of_birth)

    def enroll(self, request: EnrollmentRequest) -> EnrollmentResult:
        """Record a granted consent, its signature and the face templates, in one transaction."""
        return self.consents.enroll(request)

    def reconsent(self, request: ReconsentRequest) -> EnrollmentResult:
        """issue-13: renew a consent after a material purpose change, without a new capture."""
        return self.reconsents.renew(request)

    def reconsent_differences(self, consent_id: str) -> tuple[PurposeDifference, ...]:
        """What changed since the version the consent was given to (highlighted on screen)."""
        return self.reconsents.differences(consent_id)

    def rectify_person(
        self,
        person_id: str,
        *,
        name: str | None = None,
        reference: str | None = None,
        language: Language | None = None,
    ) -> RectificationResult:
        """Correct a person's name or reference; the person gets a receipt (issue 13)."""
        return self.rectifications.rectify(
            person_id, name=name, reference=reference, language=language
        )

    def refuse(self, request: RefusalRequest) -> RefusalResult:
        """Record a refusal: nameless (the person takes the record home) unless they ask."""
        return self.refusals.refuse(request)

    def import_people(
        self, csv_path: Path, purpose_id: int, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """HR bulk enrollment from photos with signed paper consents (``app.rooms.imports``)."""
        return self.imports.people(csv_path, purpose_id, progress)

    # ================================================================== documents
    def person_documents(self, person_id: str) -> list[DocumentInfo]:
        return self.archive.of_person(person_id)

    def document_pdf(self, document_id: str) -> bytes:
        return self.archive.pdf(document_id)

    def retention_notice(self, purpose_id: int, language: Language) -> bytes:
        return self.archive.retention_notice(purpose_id, language)

    def verify_document(self, pdf: bytes) -> DocumentCheck:
        return self.archive.verify(pdf)

    # issue-15: the organisation root, trusted time, printed copies (see Archive)
    def organisation_root(self) -> RootCertificate:
        return self.archive.organisation_root()

    def set_timestamp_authority(self, url: str | None) -> None:
        self.archive.set_timestamp_authority(url)

    def verify_printed(self, qr_text: str) -> PrintedCheck:
        return self.archive.verify_printed(qr_text)

    # ================================================================== retention
    def withdraw(
        self,
        person_id: str,
        reason: str,
        purpose_id: int | None = None,
        requested_by: RequestedBy = "person",
    ) -> WithdrawalResult:
        """Withdraw active consents (all, or one purpose's): templates are deleted at once."""
        return self.retention.withdraw(person_id, reason, purpose_id, requested_by)

    def erase(
        self,
        person_id: str,
        reason: str = "request of the person",
        requested_by: RequestedBy = "person",
    ) -> ErasureResult:
        """Delete every personal field, document, photo and template of a person (admin)."""
        return self.retention.erase(person_id, reason, requested_by)

    def reissue_erasure_certificate(self, person_id: str, language: Language = "en") -> bytes:
        """The erasure certificate again, from the vault's erasure record (the name is no longer
        held); signed, stored and audited. Admin only."""
        from app.rooms.reissue import ErasureReissue

        return ErasureReissue(self.session, self.archive).certificate(person_id, language)

    def purge_expired(self, confirm_clock: bool = False) -> PurgeResult:
        """Purge now, on request: admins only (``app.permissions``); the purge at every sign-in
        runs for anyone. ``confirm_clock``: an admin confirms the date after a clock jump."""
        self.session.require("purge-expired")
        return self.retention.purge_expired(confirm_clock)

    # ================================================================== enrollment drafts
    def save_draft(self, fields: Mapping[str, str]) -> EnrollmentDraft:
        """Keep an interrupted enrollment's details (no decision, signature or face)."""
        return self.drafts.save(fields)

    def load_draft(self, owner: str | None = None) -> EnrollmentDraft | None:
        """The signed-in user's draft (another user's: admin only); None when there is none."""
        return self.drafts.load(owner)

    def discard_draft(self, owner: str | None = None) -> None:
        self.drafts.discard(owner)

    @property
    def can_erase(self) -> bool:
        """Whether the signed-in account may erase people: the rule :meth:`erase` enforces, so
        a screen offers the button, or says to fetch an administrator, without its own rule."""
        return self.may("erase")

    def may(self, verb: str) -> bool:
        """Whether the signed-in account may run ``verb`` (a CLI command name): the table the
        core enforces, so a screen offers exactly what will be allowed."""
        return allowed(self.user.role, verb)

    def export_person(self, person_id: str) -> PersonExport:
        return self.retention.export_person(person_id)

    def access_report_pdf(self, person_id: str, export: PersonExport | None = None) -> bytes:
        return self.retention.access_report_pdf(person_id, export)


__all__ = [
    "DEFAULT_SETTINGS",
    "EMBEDDING_DIM",
    "Decision",
    "Desk",
    "DeskOptions",
    "DocumentCheck",
    "EnrollmentRequest",
    "IdentifyResult",
    "ImportReport",
    "PeoplePage",
    "PersonDetails",
    "PersonExport",
    "PersonSummary",
    "ReconsentRequest",
    "RectificationResult",
    "RefusalRequest",
    "RefusalResult",
    "SettingSpec",
    "clean_text",
    "fold",
]
