"""The upgrade at the first sign-in after installing a newer ConsentDesk, with progress.

Why a module of its own: at a site with a large vault the pending migrations (13 counters, 14
compact storage, 16 shared font programs) run at the first sign-in, and took about 12 minutes
at 100,000 people with nothing shown; a front desk takes that for a hang and kills it. Here:

* one process upgrades at a time: ``<home>/upgrade.lock`` is held from the backup to the end,
  and a second window or command signing in meanwhile is told at once that the vault is being
  upgraded (``vault_busy``), before it opens the database or reads its growing WAL;
* the backup comes first, then each migration in its own transaction (a kill leaves the vault
  at the last committed version, and the next sign-in goes on from there);
* every step reports (:class:`UpgradeStep`): the CLI prints a line per step with a percentage,
  the window shows it on the sign-in screen;
* there must be room for the backup and the rewrite before anything starts (one line if not);
* afterwards, when most of the file was rewritten, the freed space is given back
  (:mod:`app.compact_file`), or one line says why not and the next sign-in tries again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.compact_file import WORTH_IT, free_share, reclaim
from app.db import Connection, DatabaseError, transaction
from app.errors import StorageError, VaultError
from app.filelock import FileLock
from app.keyslots import Keyslots
from app.migrations import Migration, current_version, migrate, pending
from app.paths import VaultPaths

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

UPGRADE_LOCK = "upgrade.lock"
RECLAIM_PENDING = "reclaim_pending"  # meta key: space still to be given back
# Free space asked for before an upgrade, in database sizes: the backup takes about one, the
# migrations' rewrite in the WAL up to about one more.
ROOM_FACTOR = 2.0


@dataclass(frozen=True)
class UpgradeStep:
    """Where the upgrade is: step ``number`` of ``steps`` (1-based), ``fraction`` of it done.

    ``kind``: ``"backup"``, ``"migration"`` (``version`` set) or ``"reclaim"``. ``notice``:
    one line the operator must see (space not reclaimed, and why)."""

    number: int
    steps: int
    kind: str
    name: str
    fraction: float
    version: int | None = None
    notice: str | None = None

    def line(self) -> str:
        """The CLI's line: ``upgrade 2/4: migration 14 (documents compressed): 40%``."""
        head = f"upgrade {self.number}/{self.steps}: {self.name}"
        if self.notice:
            return f"{head}: {self.notice}"
        return f"{head}: {int(self.fraction * 100)}%"


UpgradeProgress = Callable[[UpgradeStep], None]


class UpgradingVault(Protocol):
    """What the upgrade needs of ``app.vault.Vault`` (which imports this module)."""

    paths: VaultPaths
    conn: Connection
    keyslots: Keyslots

    @property
    def data_key(self) -> bytes: ...

    def backup(self, target: Path, progress: Callable[[float], None] | None = None) -> Path: ...


def _busy() -> VaultError:
    return VaultError(
        "The vault is being upgraded by another window or command (this version changes how it "
        "is stored); wait until that one has signed in, then try again. Nothing was changed.",
        code="vault_upgrading",
    )


def refuse_while_upgrading(paths: VaultPaths) -> None:
    """Before opening: another process upgrading the vault holds ``upgrade.lock``; say so at
    once instead of waiting on its locks or reading its growing WAL. Only a lock held by
    someone else counts: a lock file that cannot be opened (a read-only disk) is not a busy
    vault, and the open goes on to say what it finds."""
    try:
        fd = os.open(paths.home / UPGRADE_LOCK, os.O_RDONLY)
    except OSError:
        return  # no upgrade ever ran here, or the disk says more at the open itself
    try:
        if fcntl is None:  # pragma: no cover - Windows: the lock is taken to probe it
            try:
                with FileLock(paths.home / UPGRADE_LOCK, wait_s=0.0):
                    return
            except StorageError:
                raise _busy() from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy() from None
        except OSError:
            return
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def upgrade(
    vault: UpgradingVault,
    migrations: tuple[Migration, ...],
    progress: UpgradeProgress | None = None,
    *,
    compact: bool = True,
) -> None:
    """Back up, apply the pending migrations, give back the freed space; see the module.

    ``compact=False`` (a restore upgrading its staged copy): the freed space is only marked,
    and the first sign-in on the restored vault gives it back."""
    paths = vault.paths
    say = progress or (lambda _s: None)
    try:
        lock = FileLock(paths.home / UPGRADE_LOCK, wait_s=0.0)
        lock.__enter__()
    except StorageError:
        raise _busy() from None
    try:
        conn = vault.conn
        todo = pending(conn, migrations)
        if not todo:
            return  # another process finished it while this one opened
        version = current_version(conn)
        steps = len(todo) + 2
        _check_room(paths)
        name = f"before-migration-v{version}-{_stamp()}.cdbackup"

        def backup_step(fraction: float) -> None:
            say(UpgradeStep(1, steps, "backup", "backup before the upgrade", fraction))

        backup_step(0.0)
        try:
            vault.backup(paths.backups / name, backup_step)
        except StorageError:
            raise StorageError(
                "The vault could not be upgraded: the backup written before the upgrade did not "
                "fit on the disk. Nothing was changed; free some space and sign in again.",
                code="upgrade_disk_full",
            ) from None
        backup_step(1.0)
        numbers = {m.version: i + 2 for i, m in enumerate(todo)}

        def migration_step(m: Migration, fraction: float) -> None:
            title = f"migration {m.version} ({m.name})"
            say(UpgradeStep(numbers[m.version], steps, "migration", title, fraction, m.version))

        try:
            migrate(conn, migrations, migration_step)
        except StorageError:
            raise StorageError(
                "The vault could not be upgraded: its disk filled during the upgrade. Nothing "
                "was lost (the vault is as it was before the step that failed, and a backup "
                "was written first); free some space and sign in again.",
                code="upgrade_disk_full",
            ) from None
        if free_share(conn) >= WORTH_IT:
            _mark_reclaim(conn)
            if compact:
                reclaim_space(vault, lambda s: say(UpgradeStep(steps, steps, **s)))  # type: ignore[arg-type]
        else:
            say(UpgradeStep(steps, steps, "reclaim", "reclaiming space", 1.0))
    finally:
        lock.__exit__(None, None, None)


def reclaim_space(vault: UpgradingVault, say: Callable[[dict[str, object]], None]) -> None:
    """Compact the file (the keyslot lock held, as a rekey holds it); on success forget the
    pending mark, otherwise keep it and tell the one line why."""
    name = "reclaiming space"
    say({"kind": "reclaim", "name": name, "fraction": 0.0})
    with vault.keyslots.file_lock():
        conn, notice = reclaim(
            vault.conn,
            vault.paths,
            vault.data_key,
            lambda f: say({"kind": "reclaim", "name": name, "fraction": f}),
        )
        vault.conn = conn
    if notice is not None:
        say({"kind": "reclaim", "name": name, "fraction": 1.0, "notice": notice})
        return
    with contextlib.suppress(DatabaseError, StorageError), transaction(conn):
        conn.execute("DELETE FROM meta WHERE key = ?", (RECLAIM_PENDING,))
    say({"kind": "reclaim", "name": name, "fraction": 1.0})


def reclaim_pending(conn: Connection) -> bool:
    """Whether an earlier upgrade could not give its space back (checked at every sign-in:
    one indexed read)."""
    try:
        row = conn.execute("SELECT 1 FROM meta WHERE key = ?", (RECLAIM_PENDING,)).fetchone()
    except DatabaseError:
        return False
    return row is not None


def retry_reclaim(vault: UpgradingVault, progress: UpgradeProgress | None = None) -> None:
    """At a later sign-in: try again to give back the space an upgrade freed."""
    say = progress or (lambda _s: None)
    try:
        lock = FileLock(vault.paths.home / UPGRADE_LOCK, wait_s=0.0)
        lock.__enter__()
    except StorageError:
        return  # another process is at it
    try:
        reclaim_space(vault, lambda s: say(UpgradeStep(1, 1, **s)))  # type: ignore[arg-type]
    finally:
        lock.__exit__(None, None, None)


def _mark_reclaim(conn: Connection) -> None:
    with contextlib.suppress(DatabaseError, StorageError), transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (RECLAIM_PENDING, b"1")
        )


def _check_room(paths: VaultPaths) -> None:
    """Refuse before anything is written when the disk cannot hold the backup and the rewrite:
    failing ten minutes in helps nobody."""
    size = sum(
        p.stat().st_size
        for p in (paths.database, paths.database.with_name("vault.db-wal"))
        if p.exists()
    )
    need = int(size * ROOM_FACTOR)
    free = shutil.disk_usage(paths.home).free
    if free < need:
        raise StorageError(
            "This version of ConsentDesk must upgrade the vault before it opens, and that needs "
            f"about {_mb(need)} MB free on its disk ({_mb(free)} MB free). Free some space and "
            "sign in again; nothing was changed.",
            code="upgrade_no_room",
            params={"need": _mb(need), "free": _mb(free)},
        )


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _mb(n: int) -> int:
    return max(1, round(n / 1e6))
