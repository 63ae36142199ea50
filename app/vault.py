"""The vault's lifecycle: create, unlock, migrate, back up, restore, rekey, close.

A vault is one home folder holding ``vault.db`` (SQLCipher) and ``keyslots.json``. This module
knows how those files fit together; what is *in* the database is the business of ``app.desk``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.backoff import LoginBackoff
from app.db import (
    DATA_KEY_BYTES,
    Connection,
    check_integrity,
    checkpoint,
    export_copy,
    open_database,
)
from app.errors import (
    InvalidInput,
    StorageError,
    VaultCorrupt,
    VaultError,
    VaultExists,
    VaultNotFound,
    WrongPassword,
)
from app.keyslots import KdfParams, Keyslots, generate_recovery_code
from app.migrations import LATEST, MIGRATIONS, Migration, current_version, migrate, pending
from app.paths import VaultPaths

BACKUP_FORMAT = "consentdesk-backup"


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
        return paths.database.exists()

    @classmethod
    def _require(cls, paths: VaultPaths) -> None:
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
        return cls._open_or_finish_rekey(
            paths, slots, key, lambda s: s.unlock_user(username, password)
        )

    @classmethod
    def unlock_recovery(cls, paths: VaultPaths, code: str, backoff: LoginBackoff) -> Vault:
        cls._require(paths)
        slots = Keyslots.load(paths.keyslots)
        key = _unwrap(backoff, "recovery", lambda: slots.unlock_recovery(code))
        return cls._open_or_finish_rekey(paths, slots, key, lambda s: s.unlock_recovery(code))

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
    ) -> Vault:
        conn = open_database(paths.database, key)
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
        """Write an encrypted backup (database copy + keyslots) and verify it by reopening it."""
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
            db_bytes = copy.read_bytes()
            slots_bytes = self.paths.keyslots.read_bytes()
            manifest = {
                "format": BACKUP_FORMAT,
                "version": 1,
                "schema": current_version(self.conn),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "vault.db": hashlib.sha256(db_bytes).hexdigest(),
                "keyslots.json": hashlib.sha256(slots_bytes).hexdigest(),
            }
            staged = Path(tmp) / "backup.zip"
            with zipfile.ZipFile(staged, "w", zipfile.ZIP_STORED) as zf:
                zf.writestr("manifest.json", json.dumps(manifest, indent=1))
                zf.writestr("vault.db", db_bytes)
                zf.writestr("keyslots.json", slots_bytes)
            fd = os.open(staged, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(staged, 0o600)
            os.replace(staged, target)
        return target

    @classmethod
    def restore(
        cls, paths: VaultPaths, source: Path, username: str, password: str, backoff: LoginBackoff
    ) -> Vault:
        """Replace the vault with a backup after proving the backup opens with these credentials.

        The current files are kept as ``*.replaced-<time>`` until the restored vault has opened.
        """
        with tempfile.TemporaryDirectory(
            prefix=".cdrestore-", dir=paths.home if paths.home.exists() else None
        ) as tmp:
            tmp_paths = VaultPaths(Path(tmp))
            cls._extract(source, tmp_paths)
            slots = Keyslots.load(tmp_paths.keyslots)
            key = _unwrap(backoff, "password", lambda: slots.unlock_user(username, password))
            probe = open_database(tmp_paths.database, key)
            probe.close()
            paths.ensure()
            stamp = _stamp()
            kept: list[tuple[Path, Path]] = []
            for name in ("vault.db", "keyslots.json", "vault.db-wal", "vault.db-shm"):
                live = paths.home / name
                if live.exists():
                    aside = paths.home / f"{name}.replaced-{stamp}"
                    os.replace(live, aside)
                    kept.append((live, aside))
            shutil.copy2(tmp_paths.database, paths.database)
            shutil.copy2(tmp_paths.keyslots, paths.keyslots)
            for f in (paths.database, paths.keyslots):
                f.chmod(0o600)
        try:
            vault = cls._open(paths, Keyslots.load(paths.keyslots), key)
        except BaseException:
            for live, aside in kept:
                os.replace(aside, live)
            raise
        for _live, aside in kept:
            aside.unlink(missing_ok=True)
        return vault

    @staticmethod
    def _extract(source: Path, into: VaultPaths) -> None:
        try:
            with zipfile.ZipFile(source) as zf:
                manifest = json.loads(zf.read("manifest.json"))
                if manifest.get("format") != BACKUP_FORMAT:
                    raise ValueError("not a backup")
                db_bytes = zf.read("vault.db")
                slots_bytes = zf.read("keyslots.json")
        except FileNotFoundError:
            raise InvalidInput(f"Backup file not found: {source}") from None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise VaultCorrupt("That file is not a readable ConsentDesk backup.") from None
        if hashlib.sha256(db_bytes).hexdigest() != manifest.get("vault.db") or hashlib.sha256(
            slots_bytes
        ).hexdigest() != manifest.get("keyslots.json"):
            raise VaultCorrupt("The backup file is damaged (its checksums do not match).")
        into.database.write_bytes(db_bytes)
        into.keyslots.write_bytes(slots_bytes)

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
