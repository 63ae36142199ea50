"""Giving back the space a large migration freed: ``VACUUM INTO`` a copy, then a journalled swap.

Why: migration 14 rewrites every document smaller, and SQLite keeps the freed pages in the file;
without a vacuum a 100,000-person vault stays its old size for good. A plain ``VACUUM`` is no
good here: it builds the new database in a temporary database (in memory, with the vault's
``temp_store = MEMORY``: gigabytes) and then writes every page through the WAL a second time.
``VACUUM INTO`` writes the compact copy once, under the same key (SQLCipher encrypts the target
with the source's key), into ``<home>/.cdcompact-*/vault.db``; the copy is checked page by page
and swapped in under the restore journal exactly as ``rekey`` swaps its copy (:mod:`app.rekey`,
:mod:`app.restore_journal`), so a kill, a crash or a full disk at any point leaves the vault
that was there (finished or rolled back at the next start).

It is never worth losing the sign-in over: when there is not room for the copy, another window
or command has the vault open, or the copy fails, the vault stays as it is (already migrated,
only larger) and the caller gets one line saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlcipher3

from app.backups import hold_staging, release_staging
from app.db import Connection, DatabaseError, _is_storage_error, key_pragma, open_database
from app.errors import StorageError, VaultError
from app.paths import VaultPaths, write_private
from app.rekey import _back_to_wal, _poison, _take_alone, swap_in
from app.restore_journal import Fault, fsync_dir, swap

COMPACT_PREFIX = ".cdcompact-"
# Reclaim when at least this share of the file is free pages after the migrations (a tenth of
# a 3 GB vault is worth one more copy; 10,000 bench people: 31 %).
WORTH_IT = 0.1
# Room kept free beyond the copy itself (the journal, the keyslots, SQLite's own files).
MARGIN_BYTES = 32 * 1024 * 1024
_COPY, _VERIFY = 0.8, 0.97
Progress = Callable[[float], None]


class Notice(str):
    """Why no space was given back: the English line (for the CLI and logs), with a stable
    ``code`` and its ``params`` so the window says it in the operator's language."""

    code: str
    params: dict[str, object]

    def __new__(cls, text: str, code: str, **params: object) -> Notice:
        notice = super().__new__(cls, text)
        notice.code = code
        notice.params = params
        return notice


def free_share(conn: Connection) -> float:
    """The share of the file that is free pages (two header reads, whatever the size)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    return free / pages if pages else 0.0


def needed_bytes(conn: Connection) -> int:
    """What the compact copy takes on disk: the pages in use, plus a margin."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size + MARGIN_BYTES


def reclaim(
    conn: Connection,
    paths: VaultPaths,
    key: bytes,
    progress: Progress | None = None,
    fault: Fault | None = None,
) -> tuple[Connection, Notice | None]:
    """Compact the vault open on ``conn``; returns the connection to go on with (a new one
    when the compact file was swapped in, ``conn`` itself otherwise) and a one-line notice
    when nothing was reclaimed (None when it was). The caller holds the keyslot file lock
    (``recover`` takes it too, so no other process rolls the swap back under it)."""
    report = progress or (lambda _f: None)
    step: Fault = fault or (lambda _name: None)
    from app.db import checkpoint

    with contextlib.suppress(DatabaseError):
        checkpoint(conn)
    need = needed_bytes(conn)
    free = shutil.disk_usage(paths.home).free
    if free < need:
        return conn, Notice(
            f"Space not reclaimed: the compact copy needs {_mb(need)} MB and the disk has "
            f"{_mb(free)} MB free. The vault works as it is; free some space and sign in again.",
            "reclaim_no_room",
            need=_mb(need),
            free=_mb(free),
        )
    try:
        _take_alone(conn)
    except VaultError:
        return conn, Notice(
            "Space not reclaimed: the vault is open in another window or command. The vault "
            "works as it is; sign in again when it is the only one open.",
            "reclaim_busy",
        )
    try:
        staging_dir = Path(tempfile.mkdtemp(prefix=COMPACT_PREFIX, dir=paths.home))
    except OSError:
        _back_to_wal(conn)
        return conn, _no_room()
    owner = hold_staging(staging_dir)
    try:
        return _copy_and_swap(conn, paths, key, VaultPaths(staging_dir), report, step)
    finally:
        release_staging(owner)


def _copy_and_swap(
    conn: Connection,
    paths: VaultPaths,
    key: bytes,
    staging: VaultPaths,
    report: Progress,
    step: Fault,
) -> tuple[Connection, Notice | None]:
    staging_dir = staging.home
    holder = None
    try:
        # VACUUM INTO cannot run inside a transaction: a second connection's read transaction
        # keeps every other process from committing (rollback-journal mode) until the compact
        # file is in place, so nothing committed meanwhile is left behind in the old file.
        holder = _read_lock(paths.database, key)
        os.close(os.open(staging.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _vacuum_into(conn, staging.database, needed_bytes(conn) - MARGIN_BYTES, report)
        step("copied")
        open_database(staging.database, key).close()  # every page, before it counts
        report(_VERIFY)
        step("verified")
        write_private(staging.keyslots, paths.keyslots.read_bytes())
        fsync_dir(staging_dir)
        step("staged")
        journal = swap(paths, staging_dir, step)
    except BaseException as exc:
        _close(holder)
        shutil.rmtree(staging_dir, ignore_errors=True)
        _back_to_wal(conn)
        if isinstance(exc, OSError) or (isinstance(exc, DatabaseError) and _is_storage_error(exc)):
            return conn, _no_room()
        if isinstance(exc, DatabaseError | StorageError):
            return conn, Notice(
                "Space not reclaimed: the compact copy could not be made. The vault works as it "
                "is; run unlock-check --full.",
                "reclaim_failed",
            )
        raise
    try:
        new_conn, old_fd = swap_in(paths, journal, key, step, conn, lambda: _close(holder))
    except (OSError, StorageError):
        return conn, _no_room()
    if old_fd is not None:
        _poison(old_fd)
    _close(holder)
    with contextlib.suppress(DatabaseError):
        conn.close()
    report(1.0)
    return new_conn, None


def _read_lock(database: Path, key: bytes) -> Connection:
    holder = sqlcipher3.connect(str(database), isolation_level=None, check_same_thread=False)
    try:
        holder.execute(f"PRAGMA key = {key_pragma(key)}")
        holder.execute("PRAGMA cipher_log_level = NONE")
        holder.execute("PRAGMA busy_timeout = 5000")
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        holder.close()
        raise
    return holder


def _close(holder: Connection | None) -> None:
    if holder is not None:
        with contextlib.suppress(DatabaseError):
            holder.close()


def _vacuum_into(conn: Connection, target: Path, expected: int, report: Progress) -> None:
    """``VACUUM INTO target`` with progress from the target's growing size (SQLite calls the
    handler every few thousand instructions; a stat at most every 0.2 s). The handler may
    raise to cancel: SQLite stops, the caller removes the partial copy."""
    last = [0.0]
    failure: list[BaseException] = []

    def tick() -> int:
        now = time.monotonic()
        if now - last[0] < 0.2:
            return 0
        last[0] = now
        try:
            size = target.stat().st_size
            report(_COPY * min(1.0, size / expected) if expected > 0 else 0.0)
        except BaseException as exc:  # a cancel (or a test's kill) stops the copy
            failure.append(exc)
            return 1
        return 0

    conn.set_progress_handler(tick, 20000)
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    except DatabaseError:
        if failure:
            raise failure[0] from None
        raise
    finally:
        conn.set_progress_handler(None, 0)
    report(_COPY)


def _no_room() -> Notice:
    return Notice(
        "Space not reclaimed: the disk filled while the compact copy was written; it was "
        "removed and the vault works as it is. Free some space and sign in again.",
        "reclaim_disk_filled",
    )


def _mb(n: int) -> int:
    return max(1, round(n / 1e6))
