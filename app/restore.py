"""Restoring a backup: authorised first, then written beside the vault and swapped in atomically.

Why this order:

1. **Authorise before touching anything.** The credentials must open the *current* vault's
   keyslots and name an admin inside it (when the current vault can be read at all: a damaged
   vault is the usual reason to restore), and they must open the *backup* and name an admin in
   it too. An operator is refused with every file of the home byte-identical.
2. **Prepare beside the vault.** The backup is unpacked into ``<home>/.cdrestore-*`` (same file
   system, so the swap is a rename), opened, migrated, brought up to date with the erasure
   ledger (withdrawn and erased people are destroyed again, corrected details corrected again,
   *before* the copy becomes the vault; what was re-applied is reported: ``Vault.replayed``)
   and integrity-checked. A full disk fails here, with the vault untouched.
3. **Swap under a journal.** ``restore-journal.json`` (written atomically) lists the live files;
   each is renamed to ``*.replaced-<stamp>``, the new files are renamed in, the new vault is
   opened, and only then the journal says ``done``. A crash or kill at any point is finished at
   the next open by :func:`recover`: before ``done`` every aside copy is renamed back (the old
   vault), after ``done`` the aside copies are deleted (the new vault). The old vault is never
   deleted before the new one has opened.

``fault`` is a test hook called with the name of each step just after it happened; production
passes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3

from app.backoff import LoginBackoff
from app.backups import extract_backup, hold_staging, release_staging
from app.db import key_pragma, open_database
from app.errors import (
    KeyslotError,
    PermissionDenied,
    StorageError,
    VaultCorrupt,
)
from app.filelock import FileLock
from app.keyslots import Keyslots
from app.names import name_key
from app.paths import VaultPaths
from app.restore_journal import Fault, finish, fsync_dir, recover, rollback, swap
from app.values import _now
from app.vault import Vault, _unwrap


def restore_vault(
    paths: VaultPaths,
    source: Path,
    username: str,
    password: str,
    backoff: LoginBackoff,
    *,
    clock: Callable[[], dt.datetime] = _now,
    fault: Fault | None = None,
    progress: Callable[[float], None] | None = None,
) -> Vault:
    """Replace the vault at ``paths`` with the backup ``source``; returns the restored vault open.

    Streamed (issue 12): the database is unpacked in chunks and checked page by page, so
    memory stays bounded; ``progress`` gets 0..1 and may raise to cancel before the swap
    (the staging folder is removed, the vault untouched)."""
    step: Fault = fault or (lambda _name: None)
    report = progress or (lambda _f: None)
    recover(paths)
    _authorise_current(paths, username, password, backoff)
    step("authorised")
    try:
        paths.ensure()
        staging_dir = Path(tempfile.mkdtemp(prefix=".cdrestore-", dir=paths.home))
    except OSError as exc:
        raise StorageError(f"The restore could not start ({exc.strerror}).") from None
    owner = hold_staging(staging_dir)  # a crash leaves it to the next sign-in to remove
    swapping = contextlib.ExitStack()
    try:
        staging = VaultPaths(staging_dir)
        try:
            extract_backup(Path(source), staging, lambda f: report(0.6 * f))
            step("extracted")
            slots = Keyslots.load(staging.keyslots)
            opened = _unwrap(backoff, "password", lambda: slots.open_user(username, password))
            key = opened.data_key
            role = _peek_role(staging.database, key, username)
            if role != "admin":
                raise PermissionDenied(
                    "Only an admin can restore a backup; nothing was changed.", code="admin_only"
                )
            prepared = Vault._open(staging, slots, key, ledger_home=paths.home, clock=clock)
            replayed = prepared.replayed  # what the restore reports as re-applied
            prepared.close()
            step("prepared")
            report(0.7)
            open_database(staging.database, key).close()  # integrity after the replay
            report(0.95)
            fsync_dir(staging_dir)
            step("verified")
            # Held until the swap is finished or undone: another process's recover() waits
            # for it instead of taking this swap for an interrupted one (issue 12).
            swapping.enter_context(FileLock(paths.keyslots.with_name("keyslots.lock")))
            journal = swap(paths, staging_dir, step)
        except BaseException as exc:
            swapping.close()
            shutil.rmtree(staging_dir, ignore_errors=True)
            if isinstance(exc, OSError):
                raise StorageError(
                    f"The restore could not be prepared ({exc.strerror}); the vault was not changed."
                ) from None
            raise
        try:
            vault = Vault._open(paths, Keyslots.load(paths.keyslots), key, clock=clock)
        except BaseException:
            rollback(paths, journal)
            raise
        vault.opened = opened  # the same slot, now live: the role is checked at sign-in
        vault.replayed = replayed
        step("opened")
        # The new vault is in place; if tidying up fails, recover() finishes it at the next open.
        with contextlib.suppress(OSError):
            finish(paths, journal, step)
        return vault
    finally:
        swapping.close()
        release_staging(owner)


# ---------------------------------------------------------------------- authorisation
def _authorise_current(
    paths: VaultPaths, username: str, password: str, backoff: LoginBackoff
) -> None:
    """The current vault must let this person in as an admin, when it can be read at all."""
    if not paths.database.exists():
        return
    try:
        slots = Keyslots.load(paths.keyslots)
    except KeyslotError:
        return  # keyslots lost or damaged: only the backup can vouch for the role
    key = _unwrap(backoff, "password", lambda: slots.unlock_user(username, password))
    try:
        role = _peek_role(paths.database, key, username, slots)
    except VaultCorrupt:
        return  # the vault being restored over cannot be read: the backup's role decides
    if role != "admin":
        raise PermissionDenied(
            "Only an admin can restore a backup; nothing was changed.", code="admin_only"
        )


def _peek_role(
    database: Path, key: bytes, username: str, slots: Keyslots | None = None
) -> str | None:
    """Read one staff role without changing any file: read-only, no pragmas that write. With
    no WAL file the main file is complete, so it is opened ``immutable`` (SQLite then creates
    no ``-wal``/``-shm`` either); with one, the WAL must be read and its files already exist."""
    wal = database.with_name(database.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    uri = f"{database.resolve().as_uri()}?{flags}"
    try:
        conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlcipher3.Error:
        raise VaultCorrupt("The vault database cannot be read.") from None
    try:
        conn.execute(f"PRAGMA key = {key_pragma(key)}")
        conn.execute("PRAGMA cipher_log_level = NONE")
        row = conn.execute(
            "SELECT role FROM staff WHERE username = ? COLLATE BINARY", (username,)
        ).fetchone()
        columns = {r[1] for r in conn.execute("PRAGMA table_info(staff)").fetchall()}
        if row is None and "username_key" in columns:  # issue-11: one account key per name
            rows = conn.execute(
                "SELECT role FROM staff WHERE username_key = ?", (name_key(username),)
            ).fetchall()
            row = rows[0] if len(rows) == 1 else None
        elif row is None:
            row = conn.execute(
                "SELECT role FROM staff WHERE username = ? COLLATE NOCASE", (username,)
            ).fetchone()
        if row is not None and slots is not None and not _grant_holds(conn, slots, username):
            row = None  # issue-11: a role without an administrator's signature is no role
    except sqlcipher3.Error:
        raise VaultCorrupt("The vault database cannot be read.") from None
    finally:
        conn.close()
    return str(row[0]) if row else None


def _grant_holds(conn: Any, slots: Keyslots, username: str) -> bool:
    """Whether the account's role carries the authority's signature (true in a vault that has
    no authority yet)."""
    from app.authority import grant_valid, pinned_public

    try:
        public = pinned_public(slots, conn)
    except VaultCorrupt:
        return False
    if public is None:
        return True
    cur = conn.cursor()
    cur.row_factory = sqlcipher3.Row
    rows = cur.execute(
        "SELECT id, username, role, grant_sig FROM staff WHERE username = ? COLLATE BINARY "
        "OR username_key = ?",
        (username, name_key(username)),
    ).fetchall()
    return len(rows) >= 1 and all(grant_valid(public, slots.vault_id, r) for r in rows)
