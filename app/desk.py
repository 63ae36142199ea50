"""``Desk``: the one service object through which the UI and the CLI use the workstation.

Think of Anki's ``Collection``: the UI holds one ``Desk`` and calls its verbs (``enroll``,
``refuse``, ``withdraw``, ``erase``, ``identify`` ...). Every verb checks the signed-in staff
member's role, changes the database in one transaction together with its audit entry, and returns
frozen dataclasses. No verb hands out a live database row or the key.

Thread safety: the UI runs long verbs on a worker thread, so every verb holds one re-entrant lock
around its use of the connection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from app.audit import AuditLog
from app.backoff import LoginBackoff
from app.backups import BackupInfo, list_backups  # issue-10
from app.clockguard import ClockGuard, ClockHold  # issue-10
from app.db import checkpoint, transaction
from app.desk_types import (
    DeskOptions,
    DocumentCheck,
    EnrollmentRequest,
    IdentifyResult,
    PeoplePage,
    PersonDetails,
    PersonExport,
    PersonSummary,
    RefusalRequest,
)
from app.disclosure import render_disclosure
from app.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    VaultError,
)
from app.finality import Finality  # issue-10
from app.models import (
    AuditEvent,
    AuditVerification,
    Consent,
    ConsentStatus,
    Decision,
    Disclosure,
    DocumentInfo,
    DocumentKind,
    EnrollmentResult,
    EnrollmentWarning,
    ErasureResult,
    Guardian,
    Language,
    LivenessResult,
    Match,
    Organisation,
    Person,
    PurgeResult,
    Purpose,
    Role,
    StaffAccount,
    Stats,
    WithdrawalResult,
)
from app.paths import VaultPaths
from app.photoscrub import reissue_without_photos  # issue-10
from app.validation import (
    EMBEDDING_DIM,
    Embedding,
    check_password,
    check_signature,
    check_username,
    clean_text,
    embeddings_array,
    fold,
    purpose_values,
)
from app.values import _dt, _iso, _new_id, _now
from app.vault import Vault

T = TypeVar("T")

DEFAULT_SETTINGS: dict[str, str] = {
    "match_threshold": "0.6",
    "lookalike_margin": "0.05",
    "autolock_minutes": "5",
    "camera_index": "0",
    "guardian_age": "14",
    # At most three years after the last interaction, whatever the purpose says.
    "max_inactivity_days": "1095",
    # issue-10: backups under <home>/backups (newest N kept, none older than D days); clock check
    "backup_keep": "10",
    "backup_retention_days": "90",
    "clock_jump_days": "7",
}


class Desk:
    """An unlocked workstation, signed in as one staff member."""

    def __init__(
        self,
        vault: Vault,
        user: StaffAccount,
        options: DeskOptions | None = None,
        face_engine: Any = None,
        documents: Any = None,
    ) -> None:
        self._vault = vault
        self._conn = vault.conn
        self._lock = threading.RLock()
        self.options = options or DeskOptions()
        self.user = user
        self._face_engine = face_engine or self.options.face_engine
        self._owns_engine = False
        self._documents = documents
        self._gallery: Any = None
        audit_key = self._meta("audit_key")
        if audit_key is None:
            raise VaultError("The vault has no audit key; it was not created by ConsentDesk.")
        self._audit = AuditLog(self._conn, bytes(audit_key))
        # issue-10: ledger/backups/other sessions, and the clock check before purging
        hooks: dict[str, Any] = {"write": self._write, "setting": self.get_setting}
        self._finality = Finality(
            vault, self._audit, bytes(audit_key), clock=self._now, lock=self._lock, **hooks
        )
        self._clockguard = ClockGuard(self._conn, self._audit, clock=self._now, **hooks)
        self.clock_hold: ClockHold | None = None

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
        from app.pdfsign import create_workstation_identity

        options = options or DeskOptions()
        org_name = clean_text(org_name, "organisation name", required=True, limit=200) or ""
        check_username(admin_username)
        check_password(password)
        vault, recovery = Vault.create(
            VaultPaths(Path(home)), admin_username, password, options.kdf
        )
        now = options.clock()
        key_pem, cert_pem = create_workstation_identity(org_name)
        with transaction(vault.conn) as conn:
            for key, value in (
                ("org_name", org_name.encode()),
                ("timezone", timezone.encode()),
                ("audit_key", secrets.token_bytes(32)),
                ("signing_key", key_pem),
                ("signing_cert", cert_pem),
                ("created_at", _iso(now).encode()),  # type: ignore[union-attr]
            ):
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            conn.execute(
                "INSERT INTO staff (username, role, created_at, last_login_at) VALUES (?,?,?,?)",
                (admin_username, "admin", _iso(now), _iso(now)),
            )
        user = StaffAccount(1, admin_username, "admin", now, now)
        desk = cls(vault, user, options)
        with desk._write() as conn:
            desk._audit.append(admin_username, "vault.init", details={"schema": 1}, at=now)
            desk._clockguard.remember(conn, now)  # issue-10: the first "last time seen"
        return desk, recovery

    @classmethod
    def unlock(
        cls, home: Path, username: str, password: str, *, options: DeskOptions | None = None
    ) -> Desk:
        """Sign in with a staff password. Wrong passwords back off exponentially."""
        options = options or DeskOptions()
        paths = VaultPaths(Path(home))
        backoff = LoginBackoff(paths.login_state)
        vault = Vault.unlock_password(paths, username, password, backoff)
        return cls._signed_in(vault, username, backoff, options, "login.password")

    @classmethod
    def unlock_with_recovery(
        cls, home: Path, code: str, *, options: DeskOptions | None = None
    ) -> Desk:
        """Sign in with the recovery code, as the first admin (the code belongs to the vault)."""
        options = options or DeskOptions()
        paths = VaultPaths(Path(home))
        backoff = LoginBackoff(paths.login_state)
        vault = Vault.unlock_recovery(paths, code, backoff)
        row = vault.conn.execute(
            "SELECT username FROM staff WHERE role = 'admin' ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            vault.close()
            raise VaultError("The vault has no admin account.")
        return cls._signed_in(vault, row[0], backoff, options, "login.recovery")

    @classmethod
    def _signed_in(
        cls, vault: Vault, username: str, backoff: LoginBackoff, options: DeskOptions, action: str
    ) -> Desk:
        row = vault.conn.execute(
            "SELECT id, username, role, created_at, last_login_at FROM staff WHERE username = ?",
            (username,),
        ).fetchone()
        if row is None:
            # A slot without an account: the account was removed but its slot survived a crash.
            vault.remove_slot(username)
            vault.close()
            raise VaultError("This account has been removed.")
        user = StaffAccount(row[0], row[1], row[2], _dt(row[3]) or options.clock(), _dt(row[4]))
        desk = cls(vault, user, options)
        desk.clock_hold = desk._clockguard.check()  # issue-10
        failures = backoff.record_success()
        now = options.clock()
        with desk._write() as conn:
            if desk.clock_hold is None:  # issue-10
                desk._clockguard.remember(conn, now)
            for failure in failures:
                desk._audit.append(
                    "?",
                    "login.failed",
                    details={"method": failure.kind},
                    at=dt.datetime.fromtimestamp(failure.at, dt.UTC),
                )
            conn.execute("UPDATE staff SET last_login_at = ? WHERE id = ?", (_iso(now), user.id))
            desk._audit.append(user.username, action, at=now)
        if options.auto_purge and desk.clock_hold is None:  # issue-10: held on a clock jump
            desk.purge_expired()
        return desk

    def lock(self) -> None:
        """Close the vault and forget the key; the object is unusable afterwards."""
        with self._lock:
            self._gallery = None
            self._documents = None
            if self._owns_engine and self._face_engine is not None:
                self._face_engine.close()
                self._face_engine = None
            self._vault.close()

    close = lock

    @property
    def locked(self) -> bool:
        return not self._vault._key

    @property
    def home(self) -> Path:
        return self._vault.paths.home

    @property
    def organisation(self) -> Organisation:
        name = self._meta("org_name")
        tz = self._meta("timezone")
        return Organisation(
            name=bytes(name).decode() if name else "", timezone=bytes(tz).decode() if tz else "UTC"
        )

    def rename_organisation(self, name: str) -> Organisation:
        """Documents issued from now on carry the new name; issued ones keep theirs."""
        self._require_admin()
        new = clean_text(name, "organisation name", required=True, limit=200) or ""
        with self._write() as conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'org_name'", (new.encode(),))
            self._audit.append(self.user.username, "organisation.rename")
        return self.organisation

    @staticmethod
    def retry_after(home: Path) -> float:
        """Seconds before the next sign-in attempt is allowed (so a screen can count down)."""
        return LoginBackoff(VaultPaths(Path(home)).login_state).retry_after()

    # ================================================================== internals
    @contextmanager
    def _write(self) -> Iterator[Any]:
        with self._lock:
            if self.locked:
                raise VaultError("The vault is locked.", code="locked")
            with transaction(self._conn) as conn:
                yield conn

    def _read(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            if self.locked:
                raise VaultError("The vault is locked.", code="locked")
            return fn(self._conn)

    @property
    def documents(self) -> Any:
        """The PDF maker, signing with the workstation key kept in the vault (built on first
        use: registering the CJK font costs a few hundred milliseconds)."""
        with self._lock:
            if self._documents is None:
                from app.documents.maker import DocumentMaker
                from app.pdfsign import PdfSigner

                key_pem, cert_pem = self._meta("signing_key"), self._meta("signing_cert")
                signer = PdfSigner(key_pem, cert_pem) if key_pem and cert_pem else None
                self._documents = DocumentMaker(signer, clock=self.options.clock)
            return self._documents

    def _meta(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def _require_admin(self) -> None:
        if self.user.role != "admin":
            raise PermissionDenied("Only an admin can do this.")

    def _now(self) -> dt.datetime:
        return self.options.clock()

    # ================================================================== settings
    def get_setting(self, key: str) -> str:
        if key not in DEFAULT_SETTINGS:
            raise InvalidInput(f"Unknown setting: {key}")
        row = self._read(
            lambda c: c.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        )
        return str(row[0]) if row else DEFAULT_SETTINGS[key]

    def get_float(self, key: str) -> float:
        return float(self.get_setting(key))

    def settings(self) -> dict[str, str]:
        return {k: self.get_setting(k) for k in DEFAULT_SETTINGS}

    def set_setting(self, key: str, value: str | float | int) -> None:
        self._require_admin()
        if key not in DEFAULT_SETTINGS:
            raise InvalidInput(f"Unknown setting: {key}")
        text = str(value)
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(f"The setting {key} must be a number.") from None
        limits = {"match_threshold": (0.2, 1.0), "lookalike_margin": (0.0, 0.5)}
        limits |= {"backup_keep": (1, 1000), "clock_jump_days": (1, 3650)}  # issue-10
        lo, hi = limits.get(key, (0.0, 1e6))
        if not lo <= number <= hi:
            raise InvalidInput(f"The setting {key} must be between {lo} and {hi}.")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, text),
            )
            self._audit.append(self.user.username, "settings.set", details={key: text})

    # ================================================================== staff accounts
    def list_users(self) -> list[StaffAccount]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT id, username, role, created_at, last_login_at FROM staff ORDER BY username"
            ).fetchall()
        )
        return [StaffAccount(r[0], r[1], r[2], _dt(r[3]) or self._now(), _dt(r[4])) for r in rows]

    def add_user(self, username: str, password: str, role: Role = "operator") -> StaffAccount:
        self._require_admin()
        check_username(username)
        check_password(password)
        if role not in ("admin", "operator"):
            raise InvalidInput("The role must be admin or operator.")
        now = self._now()
        with self._lock:
            exists = self._conn.execute(
                "SELECT 1 FROM staff WHERE username = ?", (username,)
            ).fetchone()
            if exists:
                raise InvalidInput("That user name is already taken.", code="username_taken")
            with self._write() as conn:
                cur = conn.execute(
                    "INSERT INTO staff (username, role, created_at) VALUES (?,?,?)",
                    (username, role, _iso(now)),
                )
                self._audit.append(
                    self.user.username, "staff.add", details={"user": username, "role": role}
                )
                # Slot after the row, inside the transaction: if writing the slot fails the
                # account is rolled back too.
                self._vault.set_password(username, password)
            return StaffAccount(int(cur.lastrowid), username, role, now, None)

    def remove_user(self, username: str) -> None:
        self._require_admin()
        with self._lock:
            row = self._conn.execute(
                "SELECT id, role FROM staff WHERE username = ?", (username,)
            ).fetchone()
            if row is None:
                raise NotFound("No such staff account.")
            if row[0] == self.user.id:
                raise InvalidInput("You cannot remove your own account while signed in.")
            admins = self._conn.execute(
                "SELECT count(*) FROM staff WHERE role = 'admin'"
            ).fetchone()[0]
            if row[1] == "admin" and admins <= 1:
                raise InvalidInput("The last admin account cannot be removed.")
            with self._write() as conn:
                conn.execute("DELETE FROM staff WHERE id = ?", (row[0],))
                self._audit.append(self.user.username, "staff.remove", details={"user": username})
            self._vault.remove_slot(username)

    def change_password(self, username: str, new_password: str) -> None:
        """Users change their own password; admins may reset anyone's."""
        if username.casefold() != self.user.username.casefold():
            self._require_admin()
        check_password(new_password)
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM staff WHERE username = ?", (username,)
            ).fetchone()
            if row is None:
                raise NotFound("No such staff account.")
            self._vault.set_password(username, new_password)
            with self._write():
                self._audit.append(self.user.username, "staff.password", details={"user": username})

    def new_recovery_code(self) -> str:
        self._require_admin()
        with self._lock:
            code = self._vault.new_recovery_code()
            with self._write():
                self._audit.append(self.user.username, "vault.recovery_code")
            return code

    def rekey(self) -> None:
        self._require_admin()
        with self._lock:
            self._vault.rekey()
            with self._write():
                self._audit.append(self.user.username, "vault.rekey")

    # ================================================================== purposes
    _PURPOSE_FIELDS = (
        "title",
        "controller",
        "contact",
        "description",
        "recipients",
        "regulator",
        "retention_days",
        "alternative",
        "keep_photos",
    )

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
    ) -> Purpose:
        self._require_admin()
        values = purpose_values(
            title=title,
            controller=controller,
            contact=contact,
            retention_days=retention_days,
            alternative=alternative,
            description=description,
            recipients=recipients,
            regulator=regulator,
            keep_photos=keep_photos,
        )
        now = _iso(self._now())
        with self._write() as conn:
            pid = conn.execute("INSERT INTO purposes (created_at) VALUES (?)", (now,)).lastrowid
            self._insert_purpose_version(conn, int(pid), 1, values, now)
            self._audit.append(
                self.user.username, "purpose.add", details={"purpose": pid, "version": 1}
            )
        return self.get_purpose(int(pid))

    def _insert_purpose_version(
        self, conn: Any, pid: int, version: int, values: Mapping[str, Any], now: str | None
    ) -> None:
        conn.execute(
            "INSERT INTO purpose_versions (purpose_id, version, title, controller, contact, "
            "description, recipients, regulator, retention_days, alternative, keep_photos, "
            "created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                pid,
                version,
                values["title"],
                values["controller"],
                values["contact"],
                values["description"],
                values["recipients"],
                values["regulator"],
                values["retention_days"],
                values["alternative"],
                int(values["keep_photos"]),
                now,
                self.user.username,
            ),
        )

    def edit_purpose(self, purpose_id: int, **changes: Any) -> Purpose:
        """A new version: consents already given keep pointing at the text they saw."""
        self._require_admin()
        unknown = set(changes) - set(self._PURPOSE_FIELDS)
        if unknown:
            raise InvalidInput(f"Unknown purpose field: {', '.join(sorted(unknown))}")
        current = self.get_purpose(purpose_id)
        merged = {f: getattr(current, f) for f in self._PURPOSE_FIELDS}
        merged.update({k: v for k, v in changes.items() if v is not None})
        values = purpose_values(**merged)
        if all(values[f] == getattr(current, f) for f in self._PURPOSE_FIELDS):
            return current
        with self._write() as conn:
            self._insert_purpose_version(
                conn, purpose_id, current.version + 1, values, _iso(self._now())
            )
            self._audit.append(
                self.user.username,
                "purpose.edit",
                details={
                    "purpose": purpose_id,
                    "version": current.version + 1,
                    "fields": sorted(changes),
                },
            )
        return self.get_purpose(purpose_id)

    _PURPOSE_SQL = (
        "SELECT purpose_id, version, id, title, controller, contact, retention_days, alternative, "
        "description, recipients, regulator, keep_photos, created_at FROM purpose_versions "
    )

    @staticmethod
    def _purpose_row(r: Sequence[Any]) -> Purpose:
        return Purpose(
            id=r[0],
            version=r[1],
            version_id=r[2],
            title=r[3],
            controller=r[4],
            contact=r[5],
            retention_days=r[6],
            alternative=r[7],
            description=r[8],
            recipients=r[9],
            regulator=r[10],
            keep_photos=bool(r[11]),
            created_at=_dt(r[12]),
        )

    def get_purpose(self, purpose_id: int, version: int | None = None) -> Purpose:
        def q(c: Any) -> Any:
            if version is None:
                return c.execute(
                    self._PURPOSE_SQL + "WHERE purpose_id = ? ORDER BY version DESC LIMIT 1",
                    (purpose_id,),
                ).fetchone()
            return c.execute(
                self._PURPOSE_SQL + "WHERE purpose_id = ? AND version = ?", (purpose_id, version)
            ).fetchone()

        row = self._read(q)
        if row is None:
            raise NotFound(f"No purpose with ID {purpose_id}.")
        return self._purpose_row(row)

    def _purpose_version(self, version_id: int) -> Purpose:
        row = self._read(
            lambda c: c.execute(self._PURPOSE_SQL + "WHERE id = ?", (version_id,)).fetchone()
        )
        if row is None:
            raise NotFound("No such purpose version.")
        return self._purpose_row(row)

    def list_purposes(self) -> list[Purpose]:
        rows = self._read(
            lambda c: c.execute(
                self._PURPOSE_SQL
                + "WHERE (purpose_id, version) IN (SELECT purpose_id, max(version) "
                "FROM purpose_versions GROUP BY purpose_id) ORDER BY purpose_id"
            ).fetchall()
        )
        return [self._purpose_row(r) for r in rows]

    def purpose_versions(self, purpose_id: int) -> list[Purpose]:
        rows = self._read(
            lambda c: c.execute(
                self._PURPOSE_SQL + "WHERE purpose_id = ? ORDER BY version", (purpose_id,)
            ).fetchall()
        )
        if not rows:
            raise NotFound(f"No purpose with ID {purpose_id}.")
        return [self._purpose_row(r) for r in rows]

    def disclosure(self, purpose_id: int, language: Language) -> Disclosure:
        """The exact text to show the person, for the purpose's current version."""
        return render_disclosure(self.get_purpose(purpose_id), self.organisation, language)

    # ================================================================== people
    _PERSON_SQL = (
        "SELECT id, name, reference, date_of_birth, language, created_at, last_interaction_at "
        "FROM people "
    )

    @staticmethod
    def _person_row(r: Sequence[Any]) -> Person:
        return Person(
            id=r[0],
            name=r[1],
            reference=r[2],
            date_of_birth=dt.date.fromisoformat(r[3]) if r[3] else None,
            language=r[4],
            created_at=_dt(r[5]),
            last_interaction_at=_dt(r[6]),
        )

    def get_person(self, person_id: str) -> Person:
        row = self._read(
            lambda c: c.execute(self._PERSON_SQL + "WHERE id = ?", (person_id,)).fetchone()
        )
        if row is None:
            raise NotFound("No such person (they may have been erased).", code="person_not_found")
        return self._person_row(row)

    def find_people(
        self,
        query: str = "",
        status: ConsentStatus | None = None,
        purpose_id: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> PeoplePage:
        """Search by name, reference or person ID; filter by consent status and purpose."""
        where: list[str] = []
        args: list[Any] = []
        q = fold(query or "")
        if q:
            where.append(
                "(p.name_fold LIKE ? ESCAPE '\\' OR lower(p.reference) LIKE ? ESCAPE '\\' OR p.id = ?)"
            )
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [like, like, query.strip().upper()]
        if status or purpose_id is not None:
            # An uncorrelated IN (...) over covering indexes is computed once; a correlated
            # EXISTS walked the consents once per person (quadratic at 100k people).
            sub = "p.id IN (SELECT c.person_id FROM consents c WHERE 1"
            if status:
                sub += " AND c.status = ?"
                args.append(status)
            if purpose_id is not None:
                sub += " AND c.purpose_version_id IN (SELECT id FROM purpose_versions WHERE purpose_id = ?)"
                args.append(purpose_id)
            where.append(sub + ")")
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        limit = max(1, min(int(limit), 500))
        offset = max(0, int(offset))

        def q_(c: Any) -> tuple[int, list[Any], dict[str, list[tuple[str, str]]]]:
            total = c.execute(f"SELECT count(*) FROM people p{clause}", args).fetchone()[0]
            rows = c.execute(
                "SELECT p.id, p.name, p.reference, p.date_of_birth, p.language, p.created_at, "
                f"p.last_interaction_at FROM people p INDEXED BY people_search{clause} "
                "ORDER BY p.name_fold, p.id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            ids = [r[0] for r in rows]
            statuses: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                for pid, st, title in c.execute(
                    "SELECT c.person_id, c.status, v.title FROM consents c JOIN purpose_versions v "
                    f"ON v.id = c.purpose_version_id WHERE c.person_id IN ({marks})",
                    ids,
                ):
                    statuses[pid].append((st, title))
            return int(total), rows, statuses

        total, rows, statuses = self._read(q_)
        items = tuple(
            PersonSummary(
                person=self._person_row(r),
                status=_overall_status([s for s, _ in statuses[r[0]]]),
                purposes=tuple(sorted({t for _, t in statuses[r[0]]})),
            )
            for r in rows
        )
        return PeoplePage(items=items, total=total, offset=offset, limit=limit)

    def similar_names(self, name: str, limit: int = 5) -> list[Person]:
        """Existing people with the same folded name: a hint against enrolling someone twice."""
        key = fold(name or "")
        if not key:
            return []
        rows = self._read(
            lambda c: c.execute(
                self._PERSON_SQL + "WHERE name_fold = ? ORDER BY created_at LIMIT ?", (key, limit)
            ).fetchall()
        )
        return [self._person_row(r) for r in rows]

    _CONSENT_SQL = (
        "SELECT c.id, c.person_id, v.purpose_id, v.version, c.purpose_version_id, c.language, "
        "c.text_sha256, c.decision, c.status, c.signed_at, c.operator, c.alternative, c.expires_at, "
        "c.guardian_name, c.withdrawn_at, c.withdrawn_by, c.withdraw_reason, c.paper_signed_on, "
        "c.liveness, (SELECT count(*) FROM templates t WHERE t.consent_id = c.id), "
        "(SELECT count(*) FROM photos ph WHERE ph.consent_id = c.id) "
        "FROM consents c JOIN purpose_versions v ON v.id = c.purpose_version_id "
    )

    @staticmethod
    def _consent_row(r: Sequence[Any]) -> Consent:
        return Consent(
            id=r[0],
            person_id=r[1],
            purpose_id=r[2],
            purpose_version=r[3],
            purpose_version_id=r[4],
            language=r[5],
            text_sha256=r[6],
            decision=r[7],
            status=r[8],
            signed_at=_dt(r[9]) or _now(),
            operator=r[10],
            alternative=r[11],
            expires_at=_dt(r[12]),
            guardian_name=r[13],
            withdrawn_at=_dt(r[14]),
            withdrawn_by=r[15],
            withdraw_reason=r[16],
            paper_signed_on=dt.date.fromisoformat(r[17]) if r[17] else None,
            liveness=LivenessResult.from_json(json.loads(r[18])) if r[18] else None,
            template_count=int(r[19]),
            photo_count=int(r[20]),
        )

    def person_consents(self, person_id: str) -> list[Consent]:
        rows = self._read(
            lambda c: c.execute(
                self._CONSENT_SQL + "WHERE c.person_id = ? ORDER BY c.signed_at", (person_id,)
            ).fetchall()
        )
        return [self._consent_row(r) for r in rows]

    def get_consent(self, consent_id: str) -> Consent:
        row = self._read(
            lambda c: c.execute(self._CONSENT_SQL + "WHERE c.id = ?", (consent_id,)).fetchone()
        )
        if row is None:
            raise NotFound("No such consent.")
        return self._consent_row(row)

    def consent_disclosure_text(self, consent_id: str) -> str:
        row = self._read(
            lambda c: c.execute(
                "SELECT disclosure_text FROM consents WHERE id = ?", (consent_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound("No such consent.")
        return str(row[0])

    def person_audit(self, person_id: str) -> list[AuditEvent]:
        return self._read(lambda c: self._audit.events(subject=person_id))

    # ================================================================== documents
    _DOC_SQL = (
        "SELECT id, kind, person_id, consent_id, created_at, sha256, filename, length(content), "
        "language FROM documents "
    )

    @staticmethod
    def _doc_row(r: Sequence[Any]) -> DocumentInfo:
        return DocumentInfo(
            id=r[0],
            kind=r[1],
            person_id=r[2],
            consent_id=r[3],
            created_at=_dt(r[4]) or _now(),
            sha256=r[5],
            filename=r[6],
            size=int(r[7]),
            language=r[8],
        )

    def person_documents(self, person_id: str) -> list[DocumentInfo]:
        rows = self._read(
            lambda c: c.execute(
                self._DOC_SQL + "WHERE person_id = ? ORDER BY created_at, id", (person_id,)
            ).fetchall()
        )
        return [self._doc_row(r) for r in rows]

    def document_pdf(self, document_id: str) -> bytes:
        row = self._read(
            lambda c: c.execute(
                "SELECT content FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound("No such document.")
        return bytes(row[0])

    def _store_document(
        self,
        conn: Any,
        *,
        doc_id: str,
        kind: DocumentKind,
        person_id: str | None,
        consent_id: str | None,
        language: str,
        filename: str,
        content: bytes,
        purpose_version_id: int | None = None,
    ) -> DocumentInfo:
        now = self._now()
        sha = hashlib.sha256(content).hexdigest()
        conn.execute(
            "INSERT INTO documents (id, kind, person_id, consent_id, purpose_version_id, language, "
            "filename, sha256, content, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                doc_id,
                kind,
                person_id,
                consent_id,
                purpose_version_id,
                language,
                filename,
                sha,
                content,
                _iso(now),
            ),
        )
        self._audit.append(
            self.user.username,
            "document.create",
            person_id,
            {"document": doc_id, "kind": kind, "sha256": sha},
        )
        lang: Language = "zh" if language == "zh" else "en"
        return DocumentInfo(
            doc_id, kind, person_id, consent_id, now, sha, filename, len(content), lang
        )

    # ================================================================== audit
    def audit_verify(self, expected_head: str | None = None) -> AuditVerification:
        return self._read(lambda c: self._audit.verify(expected_head))

    def audit_head(self) -> str:
        return self._read(lambda c: self._audit.head())

    def audit_events(self, limit: int | None = None, offset: int = 0) -> list[AuditEvent]:
        return self._read(lambda c: self._audit.events(limit=limit, offset=offset))

    def record_event(
        self, action: str, subject: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        """For UI-only events worth keeping (e.g. a document handed over, an export made)."""
        with self._write():
            self._audit.append(self.user.username, action, subject, details)

    # ================================================================== backup
    def backup(self, target: Path) -> Path:
        self._require_admin()
        with self._lock:
            path = self._vault.backup(Path(target))
            with self._write():
                self._audit.append(self.user.username, "vault.backup")
            if self._finality.holds_backup(path):  # issue-10: retention of <home>/backups
                self._finality.prune()
            return path

    def list_backups(self) -> tuple[BackupInfo, ...]:
        """issue-10: the backups kept in ``<home>/backups`` (admins only)."""
        self._require_admin()
        return list_backups(self._vault.paths.backups)

    @classmethod
    def restore(
        cls,
        home: Path,
        source: Path,
        username: str,
        password: str,
        *,
        options: DeskOptions | None = None,
    ) -> Desk:
        options = options or DeskOptions()
        paths = VaultPaths(Path(home))
        backoff = LoginBackoff(paths.login_state)
        # issue-10: authorised, ledger-replayed and journalled inside Vault.restore
        vault = Vault.restore(paths, Path(source), username, password, backoff, clock=options.clock)
        desk = cls._signed_in(
            vault, username, backoff, replace(options, auto_purge=False), "vault.restore"
        )
        if desk.user.role != "admin":
            desk.lock()
            raise PermissionDenied("Only an admin can restore a backup.")
        return desk

    # ================================================================== stats
    def stats(self) -> Stats:
        def q(c: Any) -> Stats:
            def one(sql: str) -> int:
                return int(c.execute(sql).fetchone()[0])

            return Stats(
                people=one("SELECT count(*) FROM people"),
                active_consents=one("SELECT count(*) FROM consents WHERE status = 'active'"),
                refusals=one("SELECT count(*) FROM consents WHERE status = 'refused'"),
                withdrawn=one("SELECT count(*) FROM consents WHERE status = 'withdrawn'"),
                expired=one("SELECT count(*) FROM consents WHERE status = 'expired'"),
                templates=one("SELECT count(*) FROM templates"),
                documents=one("SELECT count(*) FROM documents"),
                staff=one("SELECT count(*) FROM staff"),
                purposes=one("SELECT count(*) FROM purposes"),
                audit_entries=one("SELECT count(*) FROM audit"),
            )

        return self._read(q)

    # ================================================================== enrollment
    def _resolve_person(
        self, conn: Any, details: PersonDetails, existing_id: str | None, now: dt.datetime
    ) -> Person:
        name = clean_text(details.name, "name", required=True, limit=300) or ""
        reference = clean_text(details.reference, "reference", limit=200)
        if details.language not in ("en", "zh"):
            raise InvalidInput("The language must be en or zh.")
        if details.date_of_birth and details.date_of_birth > now.date():
            raise InvalidInput("The date of birth is in the future.")
        if existing_id:
            row = conn.execute(self._PERSON_SQL + "WHERE id = ?", (existing_id,)).fetchone()
            if row is None:
                raise NotFound(
                    "No such person (they may have been erased).", code="person_not_found"
                )
            conn.execute(
                "UPDATE people SET last_interaction_at = ? WHERE id = ?", (_iso(now), existing_id)
            )
            return self._person_row(row)
        pid = _new_id("P")
        conn.execute(
            "INSERT INTO people (id, name, name_fold, reference, date_of_birth, language, "
            "created_at, last_interaction_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                pid,
                name,
                fold(name),
                reference,
                details.date_of_birth.isoformat() if details.date_of_birth else None,
                details.language,
                _iso(now),
                _iso(now),
            ),
        )
        self._audit.append(self.user.username, "person.create", pid, at=now)
        return Person(pid, name, reference, details.date_of_birth, details.language, now, now)

    def needs_guardian(self, date_of_birth: dt.date | None) -> bool:
        if date_of_birth is None:
            return False
        today = self._now().date()
        age = (
            today.year
            - date_of_birth.year
            - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
        )
        return age < int(self.get_float("guardian_age"))

    def _check_guardian(
        self, details: PersonDetails, guardian: Guardian | None, paper: bool = False
    ) -> None:
        """A minor needs a guardian's name and signature. On a paper consent the guardian signed
        the paper (the scan is kept), so their name is required but no on-screen strokes."""
        if self.needs_guardian(details.date_of_birth):
            if guardian is None or not (guardian.name or "").strip():
                raise InvalidInput(
                    f"This person is under {self.get_setting('guardian_age')}: a parent or guardian "
                    "must give their name and sign as well.",
                    code="guardian_required",
                    params={"age": self.get_setting("guardian_age")},
                )
            clean_text(guardian.name, "guardian's name", required=True, limit=300)
            if not paper:
                check_signature(guardian.signature, "guardian's signature")

    def _check_disclosure(self, purpose: Purpose, language: Language, sha: str) -> Disclosure:
        disclosure = render_disclosure(purpose, self.organisation, language)
        if disclosure.sha256 != sha:
            raise InvalidInput(
                "The disclosure text changed since it was shown (the purpose was edited). "
                "Show the current text to the person again.",
                code="disclosure_changed",
            )
        return disclosure

    def enroll(self, request: EnrollmentRequest) -> EnrollmentResult:
        """Record a granted consent, its signature and the face templates, in one transaction."""
        now = self._now()
        purpose = self.get_purpose(request.purpose_id)
        disclosure = self._check_disclosure(
            purpose, request.person.language, request.disclosure_sha256
        )
        paper = request.paper_signed_on is not None
        if not paper:
            check_signature(request.signature, "signature")
        self._check_guardian(request.person, request.guardian, paper)
        embeddings = embeddings_array(request.embeddings)
        if not embeddings.shape[0]:
            raise InvalidInput(
                "No face template was captured; capture the face first.", code="no_template"
            )
        if request.photo_jpeg is not None and not (purpose.keep_photos and request.photo_consent):
            raise InvalidInput(
                "This purpose does not keep photos, or the person did not agree to a photo being kept.",
                code="photo_not_allowed",
            )
        warnings = self.check_duplicates(embeddings, exclude_person=request.existing_person_id)
        if warnings and not request.acknowledged_warnings:
            kinds = sorted({w.kind for w in warnings})
            raise InvalidInput(
                f"Possible {' and '.join(kinds)} found; the operator must review and acknowledge it.",
                code="warnings_unacknowledged",
                params={"kinds": kinds},
            )
        expires = self._expiry(purpose, now)
        with self._write() as conn:
            if request.existing_person_id:
                clash = conn.execute(
                    "SELECT 1 FROM consents c JOIN purpose_versions v ON v.id = c.purpose_version_id "
                    "WHERE c.person_id = ? AND v.purpose_id = ? AND c.status = 'active'",
                    (request.existing_person_id, purpose.id),
                ).fetchone()
                if clash:
                    raise InvalidInput(
                        "This person already has an active consent for this purpose.",
                        code="already_consented",
                    )
            person = self._resolve_person(conn, request.person, request.existing_person_id, now)
            consent_id = _new_id("C")
            conn.execute(
                "INSERT INTO consents (id, person_id, purpose_version_id, language, disclosure_text, "
                "text_sha256, decision, status, signature, guardian_name, guardian_signature, liveness, "
                "operator, signed_at, expires_at, paper_signed_on) "
                "VALUES (?,?,?,?,?,?,'granted','active',?,?,?,?,?,?,?,?)",
                (
                    consent_id,
                    person.id,
                    purpose.version_id,
                    request.person.language,
                    disclosure.text,
                    disclosure.sha256,
                    json.dumps(request.signature.to_json()),
                    request.guardian.name if request.guardian else None,
                    json.dumps(request.guardian.signature.to_json()) if request.guardian else None,
                    json.dumps(request.liveness.to_json()) if request.liveness else None,
                    self.user.username,
                    _iso(now),
                    _iso(expires),
                    request.paper_signed_on.isoformat() if request.paper_signed_on else None,
                ),
            )
            conn.executemany(
                "INSERT INTO templates (consent_id, person_id, embedding, created_at) VALUES (?,?,?,?)",
                [(consent_id, person.id, e.astype("<f4").tobytes(), _iso(now)) for e in embeddings],
            )
            if request.photo_jpeg is not None:
                conn.execute(
                    "INSERT INTO photos (consent_id, person_id, image, mime, created_at) VALUES (?,?,?,?,?)",
                    (consent_id, person.id, request.photo_jpeg, "image/jpeg", _iso(now)),
                )
            self._audit.append(
                self.user.username,
                "consent.grant",
                person.id,
                {
                    "consent": consent_id,
                    "purpose": purpose.id,
                    "purpose_version": purpose.version,
                    "text_sha256": disclosure.sha256,
                    "templates": int(embeddings.shape[0]),
                    "liveness": None if request.liveness is None else request.liveness.passed,
                    "paper": paper,
                    "warnings_acknowledged": [w.kind for w in warnings],
                },
                at=now,
            )
            docs = self._consent_documents(conn, person, consent_id, purpose, request, paper)
        consent = self.get_consent(consent_id)
        if self._gallery is not None:
            self._gallery.add(person.id, embeddings)
        return EnrollmentResult(person, consent, int(embeddings.shape[0]), warnings, docs)

    def refuse(self, request: RefusalRequest) -> EnrollmentResult:
        """Record a refusal as fully as a consent: the text shown, the alternative, no face."""
        now = self._now()
        purpose = self.get_purpose(request.purpose_id)
        disclosure = self._check_disclosure(
            purpose, request.person.language, request.disclosure_sha256
        )
        alternative = clean_text(request.alternative, "alternative", required=True, limit=500)
        if request.signature is not None:
            check_signature(request.signature, "signature")
        with self._write() as conn:
            person = self._resolve_person(conn, request.person, request.existing_person_id, now)
            consent_id = _new_id("C")
            conn.execute(
                "INSERT INTO consents (id, person_id, purpose_version_id, language, disclosure_text, "
                "text_sha256, decision, alternative, status, signature, guardian_name, "
                "guardian_signature, operator, signed_at) "
                "VALUES (?,?,?,?,?,?,'refused',?,'refused',?,?,?,?,?)",
                (
                    consent_id,
                    person.id,
                    purpose.version_id,
                    request.person.language,
                    disclosure.text,
                    disclosure.sha256,
                    alternative,
                    json.dumps(request.signature.to_json()) if request.signature else None,
                    request.guardian.name if request.guardian else None,
                    json.dumps(request.guardian.signature.to_json()) if request.guardian else None,
                    self.user.username,
                    _iso(now),
                ),
            )
            self._audit.append(
                self.user.username,
                "consent.refuse",
                person.id,
                {
                    "consent": consent_id,
                    "purpose": purpose.id,
                    "purpose_version": purpose.version,
                    "text_sha256": disclosure.sha256,
                },
                at=now,
            )
            docs = self._refusal_documents(conn, person, consent_id, purpose, request)
        return EnrollmentResult(person, self.get_consent(consent_id), 0, (), docs)

    def _expiry(self, purpose: Purpose, now: dt.datetime) -> dt.datetime:
        days = min(purpose.retention_days, int(self.get_float("max_inactivity_days")))
        return now + dt.timedelta(days=days)

    def _new_doc_id(self) -> str:
        from app.documents.maker import new_document_id

        return str(new_document_id())

    def _doc_filename(self, kind: str, doc_id: str) -> str:
        from app.documents.maker import document_filename

        return str(document_filename(kind, doc_id))

    def _consent_documents(
        self,
        conn: Any,
        person: Person,
        consent_id: str,
        purpose: Purpose,
        request: EnrollmentRequest,
        paper: bool,
    ) -> tuple[DocumentInfo, ...]:
        """The consent form (or, for a paper consent, the record with its scan attached), made
        and stored inside the enrollment's transaction: no consent exists without its document."""
        consent = self.get_consent(consent_id)
        disclosure = render_disclosure(purpose, self.organisation, consent.language)
        events = self._audit.events(subject=person.id)
        docs: list[DocumentInfo] = []
        doc_id = self._new_doc_id()
        if paper:
            if not request.paper_scan:
                raise InvalidInput(
                    "A paper consent needs its scanned signed form.", code="scan_required"
                )
            scan_id = self._new_doc_id()
            name = request.paper_scan_name or "scan"
            ext = Path(name).suffix.lower() or ".bin"
            docs.append(
                self._store_document(
                    conn,
                    doc_id=scan_id,
                    kind="paper_scan",
                    person_id=person.id,
                    consent_id=consent_id,
                    language=consent.language,
                    filename=f"consentdesk-paper-scan-{scan_id[:12]}{ext}",
                    content=request.paper_scan,
                    purpose_version_id=purpose.version_id,
                )
            )
            pdf = self.documents.paper_consent_record(
                org=self.organisation,
                purpose=purpose,
                person=person,
                consent=consent,
                scan=request.paper_scan,
                imported_by=self.user.username,
                imported_at=self._now(),
                disclosure=disclosure,
                audit_events=events,
                document_id=doc_id,
            )
        else:
            pdf = self.documents.consent_form(
                org=self.organisation,
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
            self._store_document(
                conn,
                doc_id=doc_id,
                kind="consent_form",
                person_id=person.id,
                consent_id=consent_id,
                language=consent.language,
                filename=self._doc_filename("consent_form", doc_id),
                content=pdf,
                purpose_version_id=purpose.version_id,
            )
        )
        return tuple(docs)

    def _refusal_documents(
        self, conn: Any, person: Person, consent_id: str, purpose: Purpose, request: RefusalRequest
    ) -> tuple[DocumentInfo, ...]:
        consent = self.get_consent(consent_id)
        doc_id = self._new_doc_id()
        pdf = self.documents.refusal_record(
            org=self.organisation,
            purpose=purpose,
            person=person,
            consent=consent,
            disclosure=render_disclosure(purpose, self.organisation, consent.language),
            signature=request.signature,
            guardian=request.guardian,
            audit_events=self._audit.events(subject=person.id),
            document_id=doc_id,
        )
        info = self._store_document(
            conn,
            doc_id=doc_id,
            kind="refusal_record",
            person_id=person.id,
            consent_id=consent_id,
            language=consent.language,
            filename=self._doc_filename("refusal_record", doc_id),
            content=pdf,
            purpose_version_id=purpose.version_id,
        )
        return (info,)

    # ================================================================== matching
    def check_duplicates(
        self, embeddings: Sequence[Sequence[float]] | Embedding, exclude_person: str | None = None
    ) -> tuple[EnrollmentWarning, ...]:
        """Duplicate: the face is already enrolled (under the match threshold). Lookalike: someone
        else within the threshold plus a margin (twins, relatives)."""
        probe = embeddings_array(embeddings)
        if not probe.shape[0]:
            return ()
        hits = self.gallery().enrollment_warnings(
            probe,
            person_id=exclude_person,
            threshold=self.get_float("match_threshold"),
            margin=self.get_float("lookalike_margin"),
        )
        return tuple(
            EnrollmentWarning(
                h.kind, h.person_id, self.get_person(h.person_id).name, round(h.distance, 4)
            )
            for h in hits
        )

    def identify_embedding(self, embedding: Sequence[float] | Embedding, k: int = 5) -> list[Match]:
        """Candidates within the match threshold, best first (active consents only)."""
        probe = embeddings_array(np.asarray(embedding, dtype=np.float32).reshape(1, -1))[0]
        out = []
        for hit in self.gallery().identify(probe, threshold=self.get_float("match_threshold"), k=k):
            try:  # issue-10: erased by another session since the gallery was read
                person = self.get_person(hit.person_id)
            except NotFound:
                continue
            out.append(Match(hit.person_id, person.name, person.reference, round(hit.distance, 4)))
        return out

    def gallery(self) -> Any:
        """The in-memory matrix of active templates, loaded on first use after unlock."""
        with self._lock:
            if self._finality.others_changed():  # issue-10: another session committed
                self._gallery = None
            if self._gallery is None:
                from app.bio.gallery import Gallery

                rows = self._conn.execute(
                    "SELECT t.person_id, t.embedding FROM templates t JOIN consents c "
                    "ON c.id = t.consent_id WHERE c.status = 'active'"
                ).fetchall()
                self._gallery = Gallery.from_blobs(rows)
            return self._gallery

    @property
    def face_engine(self) -> Any:
        """The dlib engine (one worker thread owns the models; see ``app.bio.engine``)."""
        with self._lock:
            if self._face_engine is None:
                from app.bio.engine import BioEngine

                self._face_engine = BioEngine.create()
                self._owns_engine = True
            return self._face_engine

    def analyse_photo(self, source: Path | bytes) -> Any:
        """Load a photo (EXIF-corrected, size-checked) and find faces with their templates.

        Bad files raise :class:`InvalidInput` with the loader's clear message."""
        from app.bio.errors import BioError
        from app.bio.images import load_image

        try:
            label = Path(source).name if isinstance(source, Path | str) else None
            rgb = load_image(source, label=label)
        except BioError as exc:
            # "bio_<code>": the UI translates the engine's stable codes.
            raise InvalidInput(exc.message, code=f"bio_{exc.code}") from None
        return self.face_engine.analyse_photo(rgb)

    def identify_image(self, rgb: Any) -> IdentifyResult:
        """1:N identification of the face in an RGB image (a photo or a camera frame)."""
        analysis = self.face_engine.analyse_photo(rgb)
        return self._identify_analysis(analysis)

    def identify_photo(self, source: Path | bytes) -> IdentifyResult:
        try:
            analysis = self.analyse_photo(source)
        except InvalidInput as exc:
            return IdentifyResult("error", (), str(exc))
        return self._identify_analysis(analysis)

    def _identify_analysis(self, analysis: Any) -> IdentifyResult:
        if analysis.face_count == 0:
            return IdentifyResult("no_face", (), "No face was found.")
        if analysis.face_count > 1:
            return IdentifyResult(
                "several_faces", (), f"{analysis.face_count} faces were found; show one person."
            )
        candidates = tuple(self.identify_embedding(analysis.single_encoding()))
        if candidates:
            return IdentifyResult(
                "match", candidates, f"Best match at distance {candidates[0].distance:.3f}."
            )
        return IdentifyResult("no_match", (), "Nobody enrolled matches this face.")

    def import_people(
        self, csv_path: Path, purpose_id: int, progress: Callable[[int, int], None] | None = None
    ) -> Any:
        """HR bulk enrollment from photos with signed paper consents (see ``app.bulk_import``);
        returns an ``ImportReport``. Each row is its own transaction: all or nothing."""
        from app.bulk_import import import_people

        report = import_people(self, Path(csv_path), purpose_id, progress)
        with self._write():
            self._audit.append(
                self.user.username,
                "import.csv",
                details={
                    "purpose": purpose_id,
                    "imported": report.imported,
                    "skipped": len(report.skipped),
                },
            )
        return report

    # ================================================================== withdrawal / erasure
    def withdraw(
        self, person_id: str, reason: str, purpose_id: int | None = None
    ) -> WithdrawalResult:
        """Withdraw active consents (all, or one purpose's): templates are deleted at once."""
        reason_text = clean_text(reason, "reason", required=True, limit=500) or ""
        now = self._now()
        person = self.get_person(person_id)
        with self._write() as conn:
            sql = (
                "SELECT c.id FROM consents c JOIN purpose_versions v ON v.id = c.purpose_version_id "
                "WHERE c.person_id = ? AND c.status = 'active'"
            )
            args: list[Any] = [person_id]
            if purpose_id is not None:
                sql += " AND v.purpose_id = ?"
                args.append(purpose_id)
            ids = [r[0] for r in conn.execute(sql, args).fetchall()]
            if not ids:
                raise InvalidInput(
                    "This person has no active consent to withdraw.", code="no_active_consent"
                )
            marks = ",".join("?" * len(ids))
            templates = conn.execute(
                f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids
            ).fetchone()[0]
            with_photo = [c for c in map(self.get_consent, ids) if c.photo_count]  # issue-10
            conn.execute(
                f"UPDATE consents SET status = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
                f"withdraw_reason = ? WHERE id IN ({marks})",
                [_iso(now), self.user.username, reason_text, *ids],
            )
            left = conn.execute(
                f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids
            ).fetchone()[0]
            if left:
                raise VaultError("Templates survived the withdrawal; nothing was changed.")
            photos = reissue_without_photos(  # issue-10: the stored form loses the photo too
                conn, with_photo, maker=self.documents, org=self.organisation, person=person,
                purpose_of=self._purpose_version, audit=self._audit, actor=self.user.username,
                now=now,
            )  # fmt: skip
            conn.execute(
                "UPDATE people SET last_interaction_at = ? WHERE id = ?", (_iso(now), person_id)
            )
            self._audit.append(
                self.user.username,
                "consent.withdraw",
                person_id,
                {"consents": ids, "templates_deleted": int(templates), "reason_given": True},
                at=now,
            )
            self._finality.record(  # issue-10: ledger entry, before COMMIT
                conn, "withdraw", actor=self.user.username, at=now, person_id=person_id,
                consent_ids=ids, destroyed={"templates": int(templates), "photos": photos},
            )  # fmt: skip
            receipt = self._withdrawal_document(
                conn, person, tuple(ids), int(templates), reason_text, now,
                photos={c.id: c.photo_count for c in with_photo},  # issue-10
            )  # fmt: skip
        self._forget_faces(person_id)
        self._finality.settle(self.user.username)  # issue-10: backups obey the withdrawal
        return WithdrawalResult(person_id, tuple(ids), int(templates), now, receipt)

    def _withdrawal_document(
        self,
        conn: Any,
        person: Person,
        ids: tuple[str, ...],
        templates: int,
        reason: str,
        now: dt.datetime,
        photos: Mapping[str, int] | None = None,
    ) -> DocumentInfo:
        # issue-10: the receipt counts the photos destroyed (the rows are gone by now)
        consents = [replace(self.get_consent(i), photo_count=(photos or {}).get(i, 0)) for i in ids]
        purposes = [self._purpose_version(c.purpose_version_id) for c in consents]
        doc_id = self._new_doc_id()
        result = WithdrawalResult(person.id, ids, templates, now, None)
        pdf = self.documents.withdrawal_receipt(
            org=self.organisation,
            person=person,
            result=result,
            consents=consents,
            purposes=purposes,
            operator=self.user.username,
            reason=reason,
            language=person.language,
            audit_events=self._audit.events(subject=person.id),
            document_id=doc_id,
        )
        return self._store_document(
            conn,
            doc_id=doc_id,
            kind="withdrawal_receipt",
            person_id=person.id,
            consent_id=ids[0],
            language=person.language,
            filename=self._doc_filename("withdrawal_receipt", doc_id),
            content=pdf,
        )

    def _forget_faces(self, person_id: str) -> None:
        """Drop the person's withdrawn templates from memory (keeping those of other purposes
        still active) and fold the WAL so the deleted pages leave no copy behind."""
        with self._lock:
            if self._gallery is not None:
                remaining = self._active_templates(person_id)
                if remaining:
                    self._gallery.replace(person_id, remaining)
                else:
                    self._gallery.remove(person_id)
            checkpoint(self._conn)

    def _active_templates(self, person_id: str) -> list[Embedding]:
        from app.bio.gallery import template_from_blob

        rows = self._conn.execute(
            "SELECT t.embedding FROM templates t JOIN consents c ON c.id = t.consent_id "
            "WHERE c.status = 'active' AND t.person_id = ?",
            (person_id,),
        ).fetchall()
        return [template_from_blob(bytes(r[0])) for r in rows]

    _PERSON_TABLES = ("people", "consents", "templates", "photos", "documents")

    def _counts(self, conn: Any, person_id: str) -> dict[str, int]:
        return {
            t: int(
                conn.execute(
                    f"SELECT count(*) FROM {t} WHERE {'id' if t == 'people' else 'person_id'} = ?",
                    (person_id,),
                ).fetchone()[0]
            )
            for t in self._PERSON_TABLES
        }

    def erase(self, person_id: str, reason: str = "request of the person") -> ErasureResult:
        """Delete every personal field, document, photo and template of a person.

        What remains: the pseudonymous audit trail and an ``erasures`` row (person ID, time, who,
        row counts) so the certificate can be verified later. The WAL is checkpointed and
        truncated so no page anywhere still holds the data (secure_delete zeroes freed pages).
        """
        self._require_admin()
        result = self._erase(person_id, reason, self.user.username)
        self._finality.settle(self.user.username)  # issue-10: backups obey the erasure
        return result

    def _erase(self, person_id: str, reason: str, actor: str) -> ErasureResult:
        reason_text = clean_text(reason, "reason", required=True, limit=500) or ""
        now = self._now()
        person = self.get_person(person_id)
        consents = self.person_consents(person_id)
        with self._write() as conn:
            before = self._counts(conn, person_id)
            conn.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM photos WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM documents WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM consents WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
            after = self._counts(conn, person_id)
            if any(after.values()):
                raise VaultError("Erasure left rows behind; nothing was changed.")
            certificate = self._erasure_certificate(person, consents, before, after, now, actor)
            cert_sha = hashlib.sha256(certificate).hexdigest()
            conn.execute(
                "INSERT OR REPLACE INTO erasures (person_id, erased_at, erased_by, reason, counts, "
                "certificate_sha256) VALUES (?,?,?,?,?,?)",
                (
                    person_id,
                    _iso(now),
                    actor,
                    reason_text,
                    json.dumps({"before": before, "after": after}),
                    cert_sha,
                ),
            )
            self._audit.append(
                actor,
                "person.erase",
                person_id,
                {"before": before, "after": after, "certificate_sha256": cert_sha},
                at=now,
            )
            self._finality.record(  # issue-10: ledger entry, before COMMIT
                conn, "erase", actor=actor, at=now, person_id=person_id,
                consent_ids=[c.id for c in consents], destroyed=before,
                certificate_sha256=cert_sha,
            )  # fmt: skip
        self._forget_faces(person_id)
        return ErasureResult(person_id, now, actor, before, after, None, certificate)

    def _erasure_certificate(
        self,
        person: Person,
        consents: list[Consent],
        before: Mapping[str, int],
        after: Mapping[str, int],
        now: dt.datetime,
        actor: str,
    ) -> bytes:
        """Made from values captured before deletion; handed over, not kept (it names them)."""
        purposes = [self._purpose_version(c.purpose_version_id) for c in consents]
        result = ErasureResult(person.id, now, actor, dict(before), dict(after))
        pdf: bytes = self.documents.erasure_certificate(
            org=self.organisation,
            person=person,
            result=result,
            consents=consents,
            purposes=purposes,
            language=person.language,
            audit_events=self._audit.events(subject=person.id),
            document_id=self._new_doc_id(),
        )
        return pdf

    def purge_expired(self, confirm_clock: bool = False) -> PurgeResult:
        """Apply retention: expire consents past their date (templates go at once) and erase
        people whose last consent expired or whom nobody has seen for the maximum period.

        ``confirm_clock``: an admin confirms the system date after a clock jump held purge."""
        # issue-10: refuse while the clock is unconfirmed; a confirmation is audited
        self._clockguard.gate(self.clock_hold, confirm_clock, self.user.username, self.user.role)
        self.clock_hold = None
        now = self._now()
        max_days = int(self.get_float("max_inactivity_days"))
        with self._write() as conn:
            due = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM consents WHERE status = 'active' AND expires_at <= ?",
                    (_iso(now),),
                ).fetchall()
            ]
            templates = 0
            if due:
                marks = ",".join("?" * len(due))
                templates = int(
                    conn.execute(
                        f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", due
                    ).fetchone()[0]
                )
                conn.execute(f"UPDATE consents SET status = 'expired' WHERE id IN ({marks})", due)
                self._audit.append(
                    "retention",
                    "consent.expire",
                    None,
                    {"consents": due, "templates_deleted": templates},
                    at=now,
                )
                self._finality.record(  # issue-10: ledger entry, before COMMIT
                    conn, "expire", actor="retention", at=now, person_id=None,
                    consent_ids=due, destroyed={"templates": templates},
                )  # fmt: skip
        cutoff = _iso(now - dt.timedelta(days=max_days))
        people = [
            r[0]
            for r in self._read(
                lambda c: c.execute(
                    "SELECT p.id FROM people p WHERE NOT EXISTS (SELECT 1 FROM consents c "
                    "WHERE c.person_id = p.id AND c.status = 'active') AND (EXISTS (SELECT 1 FROM "
                    "consents c WHERE c.person_id = p.id AND c.status = 'expired') "
                    "OR p.last_interaction_at <= ?)",
                    (cutoff,),
                ).fetchall()
            )
        ]
        for pid in people:
            self._erase(pid, "retention period ended", "retention")
        if due and self._gallery is not None:
            self._gallery = None  # reloaded lazily without the expired templates
        if due or people:
            with self._lock:
                checkpoint(self._conn)
            self._finality.settle("retention")  # issue-10: backups obey retention too
        return PurgeResult(tuple(due), tuple(people), templates)

    # ================================================================== access
    def access_report_pdf(self, person_id: str) -> bytes:
        """The data-subject access report (everything held; template values are not printed)."""
        export = self.export_person(person_id)
        purposes = [self._purpose_version(c.purpose_version_id) for c in export.consents]
        pdf: bytes = self.documents.access_report(
            org=self.organisation,
            person=export.person,
            consents=export.consents,
            purposes=purposes,
            documents=export.documents,
            audit_events=export.audit,
            template_count=export.templates,
            photo_count=export.photos,
            operator=self.user.username,
            language=export.person.language,
            document_id=self._new_doc_id(),
        )
        return pdf

    def retention_notice(self, purpose_id: int, language: Language) -> bytes:
        """The printable notice for a purpose; kept in the vault so it can be verified later."""
        purpose = self.get_purpose(purpose_id)
        doc_id = self._new_doc_id()
        pdf: bytes = self.documents.retention_notice(
            purpose, self.organisation, language, document_id=doc_id
        )
        with self._write() as conn:
            self._store_document(
                conn,
                doc_id=doc_id,
                kind="retention_notice",
                person_id=None,
                consent_id=None,
                language=language,
                filename=self._doc_filename("retention_notice", doc_id),
                content=pdf,
                purpose_version_id=purpose.version_id,
            )
        return pdf

    def verify_document(self, pdf: bytes) -> DocumentCheck:
        """Check a PDF's signature against this workstation's certificate and look it up."""
        from app.pdfsign import verify_pdf

        cert = self._meta("signing_cert") or b""
        result = verify_pdf(pdf, cert)
        sha = hashlib.sha256(pdf).hexdigest()

        def lookup(c: Any) -> tuple[Any, Any]:
            row = c.execute(
                "SELECT id, kind, person_id FROM documents WHERE sha256 = ? OR id = ? "
                "ORDER BY sha256 = ? DESC LIMIT 1",
                (sha, result.document_id or "", sha),
            ).fetchone()
            erased = c.execute(
                "SELECT person_id, erased_at FROM erasures WHERE certificate_sha256 = ?", (sha,)
            ).fetchone()
            return row, erased

        row, erased = self._read(lookup)
        stored_same = False
        if row is not None:
            stored = self._read(
                lambda c: c.execute(
                    "SELECT sha256 FROM documents WHERE id = ?", (row[0],)
                ).fetchone()
            )
            stored_same = bool(stored and stored[0] == sha)
        status: Literal["stored", "differs_from_stored", "erasure_certificate", "unknown"]
        if erased is not None:
            status = "erasure_certificate"
        elif row is None:
            status = "unknown"
        elif stored_same:
            status = "stored"
        else:
            status = "differs_from_stored"
        return DocumentCheck(
            valid=bool(result.valid),
            status=status,
            document_id=result.document_id or (row[0] if row else None),
            kind=(row[1] if row else None) or result.document_kind,
            person_id=(row[2] if row else None) or (erased[0] if erased else None),
            signer=result.signer,
            signed_at=result.signed_at,
            sha256=sha,
            problems=tuple(result.problems),
        )

    def export_person(self, person_id: str) -> PersonExport:
        """Everything held about a person, for a data-subject access request."""
        person = self.get_person(person_id)
        consents = tuple(self.person_consents(person_id))
        documents = tuple(self.person_documents(person_id))
        audit = tuple(self.person_audit(person_id))
        counts = self._read(lambda c: self._counts(c, person_id))
        with self._write():
            self._audit.append(self.user.username, "person.access_export", person_id)
        return PersonExport(
            person, consents, documents, audit, counts["templates"], counts["photos"]
        )


def _overall_status(statuses: Sequence[str]) -> Any:
    for s in ("active", "withdrawn", "expired", "refused"):
        if s in statuses:
            return s
    return "none"


__all__ = [
    "EMBEDDING_DIM",
    "Decision",
    "Desk",
    "DeskOptions",
    "DocumentCheck",
    "EnrollmentRequest",
    "IdentifyResult",
    "PeoplePage",
    "PersonDetails",
    "PersonExport",
    "PersonSummary",
    "RefusalRequest",
    "clean_text",
    "fold",
]
