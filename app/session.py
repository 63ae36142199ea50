"""The state every manager of a ``Desk`` shares: one connection, one lock, one clock, one user.

Managers (``app.rooms``) each own their tables' SQL but not the connection: they reach it
through this object, so every verb takes the same re-entrant lock (the UI runs long verbs on a
worker thread), writes its change and its audit entry in one transaction, and reads the time
from the one injected clock (tests pass a fake clock instead of sleeping).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from app.audit import AuditLog
from app.authority import SessionAuthority
from app.db import Connection, fetch_all, fetch_one, transaction
from app.errors import PermissionDenied, VaultCorrupt, VaultError, VaultReadOnly
from app.models import Organisation, StaffAccount
from app.permissions import allowed
from app.settings_schema import DEFAULT_SETTINGS
from app.vault import Vault

T = TypeVar("T")
READ_ONLY_WRITE = (
    "The vault is read-only because its disk is full: nothing can be changed until space is "
    "freed. Nothing was changed."
)
Clock = Callable[[], dt.datetime]


class Session:
    """An unlocked vault, the staff member signed in to it and the clock they work by."""

    def __init__(self, vault: Vault, user: StaffAccount, clock: Clock) -> None:
        self.vault = vault
        self.lock = threading.RLock()
        self.clock = clock
        self.user = user
        # How this session was opened ("login.password", "login.recovery", "vault.restore"):
        # a recovery sign-in may set a new own password without knowing the old one.
        self.signed_in_with = "login.password"
        audit_key = self.meta("audit_key")
        if audit_key is None:
            raise VaultError("The vault has no audit key; it was not created by ConsentDesk.")
        self.audit = AuditLog(self.conn, audit_key, clock)
        # issue-11: the verified role's keys (signing key; for admins the authority key), set
        # at sign-in by ``app.authority``; None in a vault that has no authority yet.
        self.authority: SessionAuthority | None = None
        # Set when the background full integrity check failed (issue 12): reading goes on so
        # the admin can export and back up, but nothing more is written to a damaged file.
        self.writes_locked: str | None = None

    @property
    def conn(self) -> Connection:
        """The vault's connection, looked up each time: a rekey replaces it (issue 12)."""
        return self.vault.conn

    def rebind(self) -> None:
        """After a rekey swapped in a new connection: the audit log writes through it too."""
        self.audit.rebind(self.vault.conn)

    def set_authority(self, authority: SessionAuthority | None) -> None:
        self.authority = authority
        self.audit.signer = authority.sign_entry if authority is not None else None

    @property
    def locked(self) -> bool:
        return not self.vault._key

    @property
    def actor(self) -> str:
        """The name written into audit entries for changes made by the signed-in user."""
        return self.user.username

    def now(self) -> dt.datetime:
        return self.clock()

    @contextmanager
    def write(self, *, despite_damage: bool = False) -> Iterator[Connection]:
        """One transaction under the lock: the change and its audit entry commit together.

        ``despite_damage``: only for recording the integrity check's own verdict."""
        with self.lock:
            if self.locked:
                raise VaultError("The vault is locked.", code="locked")
            self.require_writable()
            if self.writes_locked and not despite_damage:
                raise VaultCorrupt(
                    "The vault failed its full integrity check, so nothing more is written "
                    "to it. An admin should restore the latest backup (consentdesk restore "
                    "FILE).",
                    code="integrity_failed",
                )
            with transaction(self.conn) as conn:
                yield conn

    def require_writable(self) -> None:
        """issue-11: opened read-only on a full disk; a change is refused before anything
        changes, and long work that ends in a change (an import) before it starts."""
        if self.vault.read_only:
            raise VaultReadOnly(READ_ONLY_WRITE, code="vault_read_only")

    def read(self, fn: Callable[[Connection], T]) -> T:
        with self.lock:
            if self.locked:
                raise VaultError("The vault is locked.", code="locked")
            return fn(self.conn)

    def meta(self, key: str) -> bytes | None:
        row = fetch_one(self.conn, "SELECT value FROM meta WHERE key = ?", (key,))
        return bytes(row["value"]) if row else None

    def require_admin(self) -> None:
        """Roles are decided here, before anything changes."""
        if self.user.role != "admin":
            raise PermissionDenied("Only an admin can do this.")

    def require(self, verb: str) -> None:
        """The permission table (``app.permissions``) decides, for the CLI and the window."""
        if not allowed(self.user.role, verb):
            raise PermissionDenied("Only an admin can do this.")

    @property
    def organisation(self) -> Organisation:
        name = self.meta("org_name")
        tz = self.meta("timezone")
        return Organisation(
            name=name.decode() if name else "",
            timezone=tz.decode() if tz else "UTC",
            **self._disclosure_settings(),
        )

    def _disclosure_settings(self) -> dict[str, Any]:
        """issue-15 point 7: the settings the disclosure text states (jurisdiction, DPO,
        regulator, retention caps), read with the organisation so every disclosure, on screen or
        printed, is rendered from the same values."""
        keys: tuple[str, ...] = ("jurisdiction", "dpo_contact", "regulator")
        keys += ("max_inactivity_days", "backup_retention_days")
        rows = fetch_all(
            self.conn,
            f"SELECT key, value FROM settings WHERE key IN ({','.join('?' * len(keys))})",
            keys,
        )
        value = {**DEFAULT_SETTINGS, **{str(r["key"]): str(r["value"]) for r in rows}}
        return {
            "jurisdiction": value["jurisdiction"],
            "dpo_contact": value["dpo_contact"],
            "regulator": value["regulator"],
            "inactivity_days": int(float(value["max_inactivity_days"])),
            "backup_days": int(float(value["backup_retention_days"])),
        }
