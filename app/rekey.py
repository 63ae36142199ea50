"""Re-keying a vault by streaming it into a new file, then swapping it in atomically.

Why not ``PRAGMA rekey`` (issue 12): it rewrites the whole file in place in one statement, with
no progress and no way to cancel; at 100,000 people (several GB) an admin stares at a frozen
command for minutes. Here the database is copied page by page (SQLite's backup API, 1 MiB a
step) into ``<home>/.cdrekey-*/vault.db`` under the new key, with progress and cancel between
steps and memory bounded whatever the vault's size. The copy is verified (every page's HMAC
and the structure), the keyslots are re-sealed into the same folder, and both are swapped in
under the restore journal (:mod:`app.restore_journal`).

What a cancel or a crash leaves:

* before the swap: the live ``vault.db`` and ``keyslots.json`` untouched (the old key opens
  them); the staging folder is removed at once, or later by ``clean_leftovers``;
* during the swap (journal ``swapping``): the next open rolls every file back (old vault,
  old key);
* after the journal says ``done``: the new vault with its new keyslots; recovery finishes the
  tidying.

No other connection may write while the copy runs: the vault must be the only one open (the
switch out of WAL mode proves it) and a read transaction is held on the old file until the new
one is in place, so another process's commit waits instead of landing in the old file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.backups import hold_staging, release_staging
from app.db import (
    DATA_KEY_BYTES,
    Connection,
    DatabaseError,
    _is_storage_error,
    backup_copy,
    checkpoint,
    open_database,
)
from app.errors import StorageError, VaultError
from app.keyslots import Keyslots
from app.paths import VaultPaths
from app.restore_journal import JOURNAL, Fault, finish, fsync_dir, rollback, swap

REKEY_PREFIX = ".cdrekey-"
Progress = Callable[[float], None]
# Shares of the work reported through ``progress`` (the copy dominates; the check reads it all
# once more).
_COPY, _VERIFY = 0.75, 0.95
_POISON_BYTES = 65536  # the header page and then some, whatever the page size


def stream_rekey(
    conn: Connection,
    paths: VaultPaths,
    slots: Keyslots,
    progress: Progress | None = None,
    fault: Fault | None = None,
) -> tuple[Connection, Keyslots, bytes]:
    """Re-key the vault open on ``conn``; returns the new connection, keyslots and key.

    The caller holds the keyslot file lock for the whole call. On any failure or cancel
    (``progress`` raising, Ctrl+C) the old vault is left as it was and ``conn`` stays usable;
    on success ``conn`` is closed. ``fault`` is a test hook called after each step."""
    report = progress or (lambda _f: None)
    step: Fault = fault or (lambda _name: None)
    _take_alone(conn)
    try:
        staging_dir = Path(tempfile.mkdtemp(prefix=REKEY_PREFIX, dir=paths.home))
    except OSError as exc:
        _back_to_wal(conn)
        raise StorageError(f"The rekey could not start ({exc.strerror}).") from None
    owner = hold_staging(staging_dir)  # a crash leaves it to the next sign-in to remove
    staging = VaultPaths(staging_dir)
    new_key = secrets.token_bytes(DATA_KEY_BYTES)
    try:
        return _copy_and_swap(conn, paths, slots, staging, new_key, report, step)
    finally:
        release_staging(owner)


def _copy_and_swap(
    conn: Connection,
    paths: VaultPaths,
    slots: Keyslots,
    staging: VaultPaths,
    new_key: bytes,
    report: Progress,
    step: Fault,
) -> tuple[Connection, Keyslots, bytes]:
    staging_dir = staging.home
    try:
        # A read transaction on the old file: in rollback-journal mode no other connection
        # can commit until it ends, which is after the new file is in place.
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # Created private first: SQLite would make it with the umask's mode (0644), and this
        # file becomes the vault (its WAL and shared-memory files copy its mode).
        os.close(os.open(staging.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        backup_copy(conn, staging.database, new_key, lambda f: report(_COPY * f))
        step("copied")
        open_database(staging.database, new_key).close()  # every page, before it counts
        report(_VERIFY)
        step("verified")
        staged = Keyslots.load(paths.keyslots, slots.kdf)
        staged.path = staging.keyslots
        staged.reseal_all(new_key)
        (staging_dir / "keyslots.lock").unlink(missing_ok=True)
        fsync_dir(staging_dir)
        step("staged")
        journal = swap(paths, staging_dir, step)
    except BaseException as exc:
        shutil.rmtree(staging_dir, ignore_errors=True)
        _back_to_wal(conn)
        if isinstance(exc, OSError) or (isinstance(exc, DatabaseError) and _is_storage_error(exc)):
            raise StorageError(
                "The rekey could not be written (is the disk full?); the vault was not changed."
            ) from None
        if isinstance(exc, DatabaseError):
            raise VaultError(
                "The rekey could not copy the vault (a page could not be read); the vault was "
                "not changed. Run unlock-check --full.",
                code="rekey_failed",
            ) from None
        raise
    try:
        new_conn, old_fd = swap_in(paths, journal, new_key, step, conn)
    except OSError:
        raise StorageError(
            "The rekey could not be finished (is the disk full?); the vault was not changed."
        ) from None
    if old_fd is not None:
        _poison(old_fd)
    with contextlib.suppress(DatabaseError):
        conn.execute("ROLLBACK")
    with contextlib.suppress(DatabaseError):
        conn.close()
    staged.path = paths.keyslots
    report(1.0)
    return new_conn, staged, new_key


def swap_in(
    paths: VaultPaths,
    journal: dict[str, Any],
    key: bytes,
    step: Fault,
    conn: Connection,
    cleanup: Callable[[], None] = lambda: None,
) -> tuple[Connection, int | None]:
    """Open the staged copy now at ``vault.db`` and finish the journalled swap; on any failure
    before the journal is done, roll the swap back (``cleanup`` runs after the rollback, then
    ``conn`` goes back to WAL mode) and re-raise. Shared by ``rekey`` and the compaction after
    an upgrade (:mod:`app.compact_file`): one crash-safe path, tested by both.

    Returns the new connection and a descriptor on the replaced file (for :func:`_poison`)."""
    committed = False
    old_fd: int | None = None
    try:
        new_conn = open_database(paths.database, key, quick=True)
        try:
            step("opened")
            with contextlib.suppress(OSError):
                old_fd = os.open(paths.home / f"vault.db.replaced-{journal['stamp']}", os.O_RDWR)
            try:
                finish(paths, journal, step)
            except OSError:
                if not _journal_done(paths):
                    raise
            committed = True
        except BaseException:
            new_conn.close()
            raise
    except BaseException:
        if committed:  # pragma: no cover - finish() only fails before or after its commit
            raise
        if old_fd is not None:
            os.close(old_fd)
        rollback(paths, journal)
        cleanup()
        _back_to_wal(conn)
        raise
    return new_conn, old_fd


def _poison(fd: int) -> None:
    """Zero the first page of the old file (already unlinked) before our lock on it goes.

    Why: a process that opened ``vault.db`` while the copy ran holds the old file and waits
    for our lock; once it gets it, it must fail on an unreadable page (``open_database`` then
    says the vault was busy) instead of writing into a deleted file or folding the new vault's
    WAL into it."""
    try:
        os.pwrite(fd, bytes(_POISON_BYTES), 0)
    except OSError:
        pass
    finally:
        os.close(fd)


def _take_alone(conn: Connection) -> None:
    """Fold the WAL in and leave WAL mode: possible only when no other connection (a second
    window, a command) has the vault open, which is what a rekey needs."""
    try:
        checkpoint(conn)
        conn.execute("PRAGMA journal_mode = DELETE")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "delete":
            raise DatabaseError("database is locked")
    except DatabaseError:
        _back_to_wal(conn)
        raise VaultError(
            "The vault is open in another window or command; close it and run rekey "
            "again. Nothing was changed.",
            code="vault_busy",
        ) from None


def _back_to_wal(conn: Connection) -> None:
    with contextlib.suppress(DatabaseError):
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    with contextlib.suppress(DatabaseError):
        conn.execute("PRAGMA journal_mode = WAL")


def _journal_done(paths: VaultPaths) -> bool:
    """Whether the journal reached its commit point (then recovery keeps the new vault)."""
    try:
        return bool(json.loads((paths.home / JOURNAL).read_bytes()).get("state") == "done")
    except FileNotFoundError:
        return True  # finished and removed
    except (OSError, ValueError):
        return False
