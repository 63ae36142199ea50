"""The vault's lifecycle: create, unlock, migrate, back up, restore, rekey, close.

A vault is one home folder holding ``vault.db`` (SQLCipher) and ``keyslots.json``. This module
knows how those files fit together; what is *in* the database is the business of ``app.desk``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import sqlcipher3

from app.backoff import LoginBackoff
from app.backups import (
    BACKUP_FORMAT,
    check_backup_target,
    clean_leftovers,
    staging_folder,
    write_backup_file,
)
from app.db import (
    DATA_KEY_BYTES,
    Connection,
    DatabaseError,
    backup_copy,
    checkpoint,
    open_database,
    open_read_only,
    transaction,
)
from app.devices.marks import reconcile as reconcile_device_marks
from app.errors import (
    StorageError,
    VaultCorrupt,
    VaultError,
    VaultExists,
    VaultNotFound,
    VaultReadOnly,
    WrongPassword,
)
from app.integrity import quick_checks
from app.keyslots import KdfParams, Keyslots, OpenedSlot, generate_recovery_code
from app.ledger import ErasureLedger
from app.migrations import LATEST, MIGRATIONS, Migration, current_version, migrate, pending
from app.paths import VaultPaths
from app.rekey import stream_rekey
from app.replay import (
    ReplayResult,
    applied_marker,
    apply_pending,
    audit_key_of,
    ledger_gap,
    report_gap,
)
from app.replay import pending as replay_pending
from app.restore_journal import Fault, recover
from app.upgrade import (
    UpgradeProgress,
    reclaim_pending,
    refuse_while_upgrading,
    retry_reclaim,
    upgrade,
)
from app.values import _now

__all__ = ["BACKUP_FORMAT", "Vault"]
# The share of a rekey's progress taken by the backup written first under the old key.
_REKEY_BACKUP = 0.35
T = TypeVar("T")


@dataclass
class Vault:
    """An open vault: the live connection, its data key and the keyslots that wrap it."""

    paths: VaultPaths
    conn: Connection
    keyslots: Keyslots
    _key: bytearray
    # The slot this session was opened with (its private key unseals the account's signing
    # key and, for admins, the authority secret: app.authority). None after create/restore.
    opened: OpenedSlot | None = None
    # Set at unlock when the erasure ledger lost entries this database applied (deleted,
    # emptied, cut short): shown at sign-in and by ``unlock-check`` (app.replay.ledger_gap).
    ledger_problem: str | None = None
    # What the ledger replay at this open re-applied (a restore reports it: app.restore).
    replayed: ReplayResult = field(default_factory=ReplayResult)
    # issue-11: opened read-only because nothing could be written to the disk (full); every
    # change is refused (``Session.write``) while reading, export and backup go on.
    read_only: bool = False

    @property
    def data_key(self) -> bytes:
        if not self._key:
            raise VaultError("The vault is locked.")
        return bytes(self._key)

    # ----------------------------------------------------------------- creation / opening
    @classmethod
    def create(
        cls, paths: VaultPaths, username: str, password: str, kdf: KdfParams | None = None
    ) -> tuple[Vault, str]:
        """Make a new vault; returns it open and the recovery code (shown once, never stored)."""
        if paths.database.exists() or paths.keyslots.exists():
            raise VaultExists(f"A vault already exists in {paths.home}.")
        paths.ensure()
        key = secrets.token_bytes(DATA_KEY_BYTES)
        recovery = generate_recovery_code()
        slots = Keyslots.create(paths.keyslots, kdf)
        old_umask = os.umask(0o077)
        try:
            conn = open_database(paths.database, key, check=False)
        finally:
            os.umask(old_umask)
        try:
            migrate(conn)
            slots.set_user(username, password, key)
            slots.set_recovery(recovery, key)
            # keyslots.json says the vault tracks the back-off state, so it must exist from now.
            LoginBackoff(paths.login_state).record_success()
        except BaseException:
            conn.close()
            for f in (paths.database, paths.keyslots):
                f.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(paths.database) + suffix).unlink(missing_ok=True)
            raise
        return cls(paths, conn, slots, bytearray(key)), recovery

    @classmethod
    def exists(cls, paths: VaultPaths) -> bool:
        """Whether a vault is here, after finishing or undoing an interrupted restore (which
        may have left ``vault.db`` renamed aside for a moment)."""
        recover(paths)
        return paths.database.exists()

    @classmethod
    def _require(cls, paths: VaultPaths) -> None:
        recover(paths)
        if not paths.database.exists():
            raise VaultNotFound(
                f"No vault found in {paths.home}. Create one with 'consentdesk init'."
            )

    @classmethod
    def unlock_password(
        cls,
        paths: VaultPaths,
        username: str,
        password: str,
        backoff: LoginBackoff,
        progress: UpgradeProgress | None = None,
    ) -> Vault:
        cls._require(paths)
        slots = Keyslots.load(paths.keyslots)
        opened = _unwrap(backoff, "password", lambda: slots.open_user(username, password))
        vault = cls._open_or_finish_rekey(
            paths, slots, opened.data_key, lambda s: s.unlock_user(username, password), progress
        )
        vault.opened = opened
        clean_leftovers(paths, _now(), after_open=True)
        return vault

    @classmethod
    def unlock_recovery(
        cls,
        paths: VaultPaths,
        code: str,
        backoff: LoginBackoff,
        progress: UpgradeProgress | None = None,
    ) -> Vault:
        cls._require(paths)
        slots = Keyslots.load(paths.keyslots)
        opened = _unwrap(backoff, "recovery", lambda: slots.open_recovery(code))
        vault = cls._open_or_finish_rekey(
            paths, slots, opened.data_key, lambda s: s.unlock_recovery(code), progress
        )
        vault.opened = opened
        clean_leftovers(paths, _now(), after_open=True)
        return vault

    @classmethod
    def _open_or_finish_rekey(
        cls,
        paths: VaultPaths,
        slots: Keyslots,
        key: bytes,
        unlock: Callable[[Keyslots], bytes],
        progress: UpgradeProgress | None = None,
    ) -> Vault:
        """Open with ``key``; if a rekey was interrupted after ``PRAGMA rekey``, the staged
        ``keyslots.json.next`` holds the key that fits, so finish the rename and use it."""
        staged_path = paths.keyslots.with_name("keyslots.json.next")
        try:
            return cls._open(paths, slots, key, progress=progress)
        except VaultCorrupt:
            if not staged_path.exists():
                raise
        staged = Keyslots.load(staged_path)
        vault = cls._open(paths, staged, unlock(staged), progress=progress)
        os.replace(staged_path, paths.keyslots)
        staged.path = paths.keyslots
        return vault

    @classmethod
    def _open(
        cls,
        paths: VaultPaths,
        slots: Keyslots,
        key: bytes,
        migrations: tuple[Migration, ...] = MIGRATIONS,
        *,
        ledger_home: Path | None = None,
        clock: Callable[[], dt.datetime] = _now,
        progress: UpgradeProgress | None = None,
    ) -> Vault:
        """Open, migrate, then replay the erasure ledger kept in ``ledger_home`` (the home;
        a restore prepares its copy in a staging folder but replays the home's ledger), so no
        session ever works on a database that still holds someone withdrawn or erased.

        A database that is empty, holds no vault, or belongs to another vault than the keyslot
        file is refused before anything is written to it or to the keyslots (issue 11: an empty
        ``vault.db`` was "migrated" into a fresh one and the signing-in account's slot deleted).

        Pending migrations run through :func:`app.upgrade.upgrade` (one process at a time,
        backup first, ``progress`` per step, the freed space given back afterwards)."""
        _refuse_empty(paths.database)
        refuse_while_upgrading(paths)
        try:
            conn = open_database(paths.database, key, quick=True)  # full checks: app.integrity
        except StorageError:
            # issue-11: a full disk must not lock everyone out of reading; the stricter open
            # refused, so the vault is read without writing anything at all.
            conn = open_read_only(paths.database, key)
            vault = cls(paths, conn, slots, bytearray(key), read_only=True)
            try:
                _check_read_only(vault, migrations, ledger_home or paths.home)
            except DatabaseError:
                vault.close()
                raise VaultCorrupt(
                    "The vault database failed its integrity check: it is damaged or was "
                    "changed outside ConsentDesk. Restore the latest backup (consentdesk "
                    "restore FILE)."
                ) from None
            except BaseException:
                vault.close()
                raise
            return vault
        vault = cls(paths, conn, slots, bytearray(key))
        try:
            version = current_version(conn)
            _refuse_foreign(conn, version, slots.vault_id)
            if version > LATEST:
                raise VaultError(
                    "This vault was written by a newer ConsentDesk. Install the newer version."
                )
            if pending(conn, migrations):
                upgrade(vault, migrations, progress, compact=ledger_home is None)
                conn = vault.conn  # a new connection when the freed space was given back
            elif reclaim_pending(conn) and ledger_home is None:
                retry_reclaim(vault, progress)
                conn = vault.conn
            _remember_vault_id(conn, slots.vault_id)
            audit_key = audit_key_of(conn)
            quick_checks(conn, audit_key)
            if audit_key is not None:
                # issue-17: device numbers first, so revocations the replay adds take new ones
                reconcile_device_marks(conn, ledger_home or paths.home, audit_key, clock())
                ledger = ErasureLedger(ledger_home or paths.home, audit_key)
                vault.ledger_problem = report_gap(conn, ledger, clock())
                vault.replayed = apply_pending(conn, ledger, clock())
        except DatabaseError:
            # A page read at sign-in failed its HMAC (SQLCipher authenticates every page it
            # reads): the same verdict as the full check, in the same words.
            vault.close()
            raise VaultCorrupt(
                "The vault database failed its integrity check: it is damaged or was changed "
                "outside ConsentDesk. Restore the latest backup (consentdesk restore FILE)."
            ) from None
        except BaseException:
            vault.close()
            raise
        return vault

    # ----------------------------------------------------------------- key management
    def set_password(
        self,
        username: str,
        password: str,
        *,
        shared: bool = False,
        sealed: Mapping[str, tuple[bytes, bytes]] | None = None,
        pin_to: bytes | None = None,
    ) -> None:
        self.keyslots.set_user(
            username, password, self.data_key, shared=shared, sealed=sealed, pin_to=pin_to
        )

    def remove_slot(self, username: str, *, shared: bool = False) -> bool:
        return self.keyslots.remove_user(username, shared)

    def new_recovery_code(
        self,
        *,
        sealed: Mapping[str, tuple[bytes, bytes]] | None = None,
        pin_to: bytes | None = None,
    ) -> str:
        code = generate_recovery_code()
        self.keyslots.set_recovery(code, self.data_key, sealed=sealed, pin_to=pin_to)
        return code

    def rekey(
        self, progress: Callable[[float], None] | None = None, fault: Fault | None = None
    ) -> None:
        """Re-encrypt the database with a fresh data key and re-seal every slot to it.

        A backup under the old key first (``<home>/backups/before-rekey-*``); then the vault
        is streamed into a new file under the new key and swapped in atomically with its new
        keyslots (:mod:`app.rekey`: progress, cancel, bounded memory). ``progress`` gets 0..1
        and may raise to cancel: the old vault and key stay as they were."""
        report = progress or (lambda _f: None)
        with self.keyslots.file_lock():
            # Under the lock for the whole rekey: a ``user add`` in another process waits, then
            # finds the new key_check and refuses instead of sealing the old key.
            with self.keyslots.changing(self.data_key):
                pass  # refuses when another process re-keyed since this one signed in
            self.backup(
                self.paths.backups / f"before-rekey-{_stamp()}.cdbackup",
                lambda f: report(_REKEY_BACKUP * f),
            )
            conn, slots, key = stream_rekey(
                self.conn,
                self.paths,
                self.keyslots,
                lambda f: report(_REKEY_BACKUP + (1 - _REKEY_BACKUP) * f),
                fault,
            )
            self.conn = conn
            self.keyslots = slots
            self._wipe()
            self._key = bytearray(key)

    # ----------------------------------------------------------------- backup / restore
    def backup(self, target: Path, progress: Callable[[float], None] | None = None) -> Path:
        """Write an encrypted backup (database copy + keyslots) and verify it by reopening it.

        Streamed (issue 12): the copy is made page by page with SQLite's backup API, verified
        page by page, and zipped in chunks, so memory stays bounded whatever the vault's size.
        ``progress`` gets 0..1 and may raise to cancel: the temporary copy goes with its
        folder and the target is only ever renamed into place complete.

        The manifest records the last erasure-ledger entry the copy has applied, so keeping
        the backups under ``<home>/backups`` up to date can skip those already current."""
        target = check_backup_target(Path(target), self.paths.home)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"The backup folder cannot be made ({exc.strerror}).") from None
        report = progress or (lambda _f: None)
        with staging_folder(target.parent, ".cdbackup-") as tmp:
            copy = tmp / "vault.db"
            try:
                backup_copy(self.conn, copy, self.data_key, lambda f: report(0.4 * f))
            except sqlcipher3.Error as exc:
                raise StorageError(f"The backup could not be written: {_short(exc)}") from None
            verify = open_database(copy, self.data_key)  # every page, before it counts
            try:
                # The copy's own mark, not the live vault's: another process may have erased
                # someone since the copy was taken, and a manifest claiming that erasure would
                # make every later settle skip this file (issue 12).
                copied_marker = applied_marker(verify)
            finally:
                verify.close()
            report(0.6)
            manifest = {
                "schema": current_version(self.conn),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "ledger_applied": copied_marker,
            }
            write_backup_file(
                copy,
                self.paths.keyslots.read_bytes(),
                manifest,
                target,
                lambda f: report(0.6 + 0.4 * f),
            )
        return target

    # ----------------------------------------------------------------- closing
    def _wipe(self) -> None:
        for i in range(len(self._key)):
            self._key[i] = 0
        self._key = bytearray()

    def close(self) -> None:
        """Checkpoint, close the connection and overwrite the key bytes we hold."""
        with contextlib.suppress(Exception):
            checkpoint(self.conn)
        with contextlib.suppress(Exception):
            self.conn.close()
        self._wipe()


def _unwrap(backoff: LoginBackoff, kind: str, unlock: Callable[[], T]) -> T:
    """Every attempt passes the back-off first and runs under its lock; every failure is
    counted before it is reported."""
    return backoff.attempt(kind, unlock, WrongPassword)


def _check_read_only(vault: Vault, migrations: tuple[Migration, ...], ledger_home: Path) -> None:
    """The checks of a normal open that do not write; what would need a write (a migration,
    erasures in the ledger not yet applied) refuses the read-only session instead, so nobody
    sees a person the ledger says was erased or withdrawn."""
    conn = vault.conn
    version = current_version(conn)
    _refuse_foreign(conn, version, vault.keyslots.vault_id)
    if version > LATEST:
        raise VaultError(
            "This vault was written by a newer ConsentDesk. Install the newer version."
        )
    if pending(conn, migrations):
        raise VaultReadOnly(READ_ONLY_REFUSED, code="read_only_pending")
    audit_key = audit_key_of(conn)
    quick_checks(conn, audit_key)
    if audit_key is not None:
        ledger = ErasureLedger(ledger_home, audit_key)
        vault.ledger_problem = ledger_gap(conn, ledger)
        newest = ledger.last()
        unapplied = newest is not None and newest.marker != applied_marker(conn)
        if unapplied and replay_pending(conn, ledger.read()):
            raise VaultReadOnly(READ_ONLY_REFUSED, code="read_only_pending")


READ_ONLY_REFUSED = (
    "The vault cannot be opened even read-only: erasures or an update are waiting to be "
    "written and its disk is full. Free some space; no data was changed."
)


def _refuse_empty(database: Path) -> None:
    try:
        size = database.stat().st_size
    except OSError:
        raise VaultNotFound(
            f"No vault database in {database.parent}; nothing was changed. Restore vault.db "
            "from a backup (consentdesk restore FILE)."
        ) from None
    if size == 0 or not database.is_file():
        raise VaultCorrupt(
            "The vault database is empty or not a file; nothing was changed. Restore vault.db "
            "from a backup (consentdesk restore FILE).",
            code="vault_foreign",
        )


def _refuse_foreign(conn: Connection, version: int, vault_id: str) -> None:
    """A database the key opens but which holds no vault, or another vault's."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    row = (
        conn.execute("SELECT value FROM meta WHERE key = 'vault_id'").fetchone()
        if has_meta
        else None
    )
    stored = bytes(row[0]).decode("ascii", "replace") if row else None
    if version == 0 or not has_meta or (stored is not None and stored != vault_id):
        raise VaultCorrupt(
            "vault.db does not belong to this vault's keyslots.json (empty, foreign or from "
            "another vault); nothing was changed. Put the right vault.db back or restore a "
            "backup.",
            code="vault_foreign",
        )


def _remember_vault_id(conn: Connection, vault_id: str) -> None:
    """Bind the database to its keyslot file (vaults from before issue 11 learn it once)."""
    if audit_key_of(conn) is None:
        return
    if conn.execute("SELECT 1 FROM meta WHERE key = 'vault_id'").fetchone() is None:
        with transaction(conn):
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('vault_id', ?)", (vault_id.encode(),)
            )


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."
