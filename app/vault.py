"""The vault's lifecycle: create, unlock, migrate, back up, restore, rekey, close.

A vault is one home folder holding ``vault.db`` (SQLCipher) and ``keyslots.json``. This module
knows how those files fit together; what is *in* the database is the business of ``app.desk``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.backoff import LoginBackoff
from app.backups import BACKUP_FORMAT, clean_leftovers, write_backup_file
from app.db import (
    DATA_KEY_BYTES,
    Connection,
    DatabaseError,
    check_integrity,
    checkpoint,
    export_copy,
    open_database,
)
from app.devices.marks import reconcile as reconcile_device_marks
from app.errors import (
    StorageError,
    VaultCorrupt,
    VaultError,
    VaultExists,
    VaultNotFound,
    WrongPassword,
)
from app.integrity import quick_checks
from app.keyslots import KdfParams, Keyslots, generate_recovery_code
from app.ledger import ErasureLedger
from app.migrations import LATEST, MIGRATIONS, Migration, current_version, migrate, pending
from app.paths import VaultPaths
from app.replay import applied_marker, apply_pending, audit_key_of
from app.restore_journal import recover
from app.values import _now

__all__ = ["BACKUP_FORMAT", "Vault"]


@dataclass
class Vault:
    """An open vault: the live connection, its data key and the keyslots that wrap it."""

    paths: VaultPaths
    conn: Connection
    keyslots: Keyslots
    _key: bytearray

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
        cls, paths: VaultPaths, username: str, password: str, backoff: LoginBackoff
    ) -> Vault:
        cls._require(paths)
        slots = Keyslots.load(paths.keyslots)
        key = _unwrap(backoff, "password", lambda: slots.unlock_user(username, password))
        vault = cls._open_or_finish_rekey(
            paths, slots, key, lambda s: s.unlock_user(username, password)
        )
        clean_leftovers(paths, _now(), after_open=True)
        return vault

    @classmethod
    def unlock_recovery(cls, paths: VaultPaths, code: str, backoff: LoginBackoff) -> Vault:
        cls._require(paths)
        slots = Keyslots.load(paths.keyslots)
        key = _unwrap(backoff, "recovery", lambda: slots.unlock_recovery(code))
        vault = cls._open_or_finish_rekey(paths, slots, key, lambda s: s.unlock_recovery(code))
        clean_leftovers(paths, _now(), after_open=True)
        return vault

    @classmethod
    def _open_or_finish_rekey(
        cls, paths: VaultPaths, slots: Keyslots, key: bytes, unlock: Callable[[Keyslots], bytes]
    ) -> Vault:
        """Open with ``key``; if a rekey was interrupted after ``PRAGMA rekey``, the staged
        ``keyslots.json.next`` holds the key that fits, so finish the rename and use it."""
        staged_path = paths.keyslots.with_name("keyslots.json.next")
        try:
            return cls._open(paths, slots, key)
        except VaultCorrupt:
            if not staged_path.exists():
                raise
        staged = Keyslots.load(staged_path)
        vault = cls._open(paths, staged, unlock(staged))
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
    ) -> Vault:
        """Open, migrate, then replay the erasure ledger kept in ``ledger_home`` (the home;
        a restore prepares its copy in a staging folder but replays the home's ledger), so no
        session ever works on a database that still holds someone withdrawn or erased."""
        conn = open_database(paths.database, key, quick=True)  # full checks: app.integrity
        vault = cls(paths, conn, slots, bytearray(key))
        try:
            version = current_version(conn)
            if version > LATEST:
                raise VaultError(
                    "This vault was written by a newer ConsentDesk. Install the newer version."
                )
            if pending(conn, migrations):
                vault.backup(paths.backups / f"before-migration-v{version}-{_stamp()}.cdbackup")
                migrate(conn, migrations)
            audit_key = audit_key_of(conn)
            quick_checks(conn, audit_key)
            if audit_key is not None:
                # issue-17: device numbers first, so revocations the replay adds take new ones
                reconcile_device_marks(conn, ledger_home or paths.home, audit_key, clock())
                apply_pending(conn, ErasureLedger(ledger_home or paths.home, audit_key), clock())
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
    def set_password(self, username: str, password: str) -> None:
        self.keyslots.set_user(username, password, self.data_key)

    def remove_slot(self, username: str) -> bool:
        return self.keyslots.remove_user(username)

    def new_recovery_code(self) -> str:
        code = generate_recovery_code()
        self.keyslots.set_recovery(code, self.data_key)
        return code

    def rekey(self) -> None:
        """Re-encrypt the database with a fresh data key and re-seal every slot to it.

        Order for crash safety: a backup under the old key first; the new slots are written to
        ``keyslots.json.next`` before ``PRAGMA rekey``; the rename happens after. ``unlock`` tries
        the pending file when the current one no longer fits the database.
        """
        self.backup(self.paths.backups / f"before-rekey-{_stamp()}.cdbackup")
        new_key = secrets.token_bytes(DATA_KEY_BYTES)
        pending_path = self.paths.keyslots.with_name("keyslots.json.next")
        staged = Keyslots.load(self.paths.keyslots)
        staged.path = pending_path
        staged.reseal_all(new_key)
        checkpoint(self.conn)
        self.conn.execute("PRAGMA journal_mode = DELETE")
        self.conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        self.conn.execute("PRAGMA journal_mode = WAL")
        os.replace(pending_path, self.paths.keyslots)
        staged.path = self.paths.keyslots
        self.keyslots = staged
        self._wipe()
        self._key = bytearray(new_key)
        check_integrity(self.conn)

    # ----------------------------------------------------------------- backup / restore
    def backup(self, target: Path) -> Path:
        """Write an encrypted backup (database copy + keyslots) and verify it by reopening it.

        The manifest records the last erasure-ledger entry the copy has applied, so keeping
        the backups under ``<home>/backups`` up to date can skip those already current."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".cdbackup-") as tmp:
            copy = Path(tmp) / "vault.db"
            try:
                export_copy(self.conn, copy, self.data_key)
            except Exception as exc:
                raise StorageError(f"The backup could not be written: {_short(exc)}") from None
            verify = open_database(copy, self.data_key)
            verify.close()
            manifest = {
                "schema": current_version(self.conn),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "ledger_applied": applied_marker(self.conn),
            }
            write_backup_file(copy, self.paths.keyslots.read_bytes(), manifest, target)
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


def _unwrap(backoff: LoginBackoff, kind: str, unlock: Callable[[], bytes]) -> bytes:
    """Every attempt passes the back-off first; every failure is counted before it is reported."""
    backoff.check()
    try:
        return unlock()
    except WrongPassword as exc:
        delay = backoff.record_failure(kind)
        raise WrongPassword(str(exc), retry_after=delay) from None


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."
