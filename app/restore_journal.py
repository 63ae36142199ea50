"""The journal that makes a restore's file swap atomic (see :mod:`app.restore`).

Kept apart from ``app.restore`` because ``app.vault`` must finish or undo an interrupted swap
before every open (:func:`recover`), while ``app.restore`` builds on ``Vault``: one module each
way keeps the core free of import cycles.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import VaultError
from app.filecheck import read_own_file
from app.filelock import FileLock
from app.paths import VaultPaths, write_private

JOURNAL = "restore-journal.json"
LIVE_FILES = ("vault.db", "keyslots.json", "vault.db-wal", "vault.db-shm")
Fault = Callable[[str], None]
_STAMP = re.compile(r"^vault\.db\.replaced-(.+)$")


# ---------------------------------------------------------------------- journalled swap
def swap(paths: VaultPaths, staging: Path, step: Fault) -> dict[str, Any]:
    home = paths.home
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + secrets.token_hex(2)
    journal: dict[str, Any] = {
        "state": "swapping",
        "staging": staging.name,
        "stamp": stamp,
        "existing": [n for n in LIVE_FILES if (home / n).exists()],
    }
    write_private(home / JOURNAL, json.dumps(journal).encode())
    step("journal")
    try:
        for name in journal["existing"]:
            os.replace(home / name, home / f"{name}.replaced-{stamp}")
            fsync_dir(home)
            step(f"aside:{name}")
        for name in ("vault.db", "keyslots.json"):
            os.replace(staging / name, home / name)
            fsync_dir(home)
            step(f"placed:{name}")
    except BaseException:
        rollback(paths, journal)
        raise
    return journal


def finish(paths: VaultPaths, journal: dict[str, Any], step: Fault) -> None:
    """The commit point: from ``done`` on, recovery keeps the new vault."""
    home = paths.home
    write_private(home / JOURNAL, json.dumps({**journal, "state": "done"}).encode())
    step("committed")
    for name in journal["existing"]:
        (home / f"{name}.replaced-{journal['stamp']}").unlink(missing_ok=True)
        step(f"cleaned:{name}")
    shutil.rmtree(home / journal["staging"], ignore_errors=True)
    (home / JOURNAL).unlink(missing_ok=True)
    fsync_dir(home)
    step("finished")


def rollback(paths: VaultPaths, journal: dict[str, Any]) -> None:
    """Put the old files back (idempotent: a crash during it is finished by the next call)."""
    home = paths.home
    for name in LIVE_FILES:
        aside = home / f"{name}.replaced-{journal['stamp']}"
        if aside.exists():
            os.replace(aside, home / name)
        elif name not in journal["existing"]:
            (home / name).unlink(missing_ok=True)
    fsync_dir(home)
    shutil.rmtree(home / str(journal["staging"]), ignore_errors=True)
    (home / JOURNAL).unlink(missing_ok=True)
    fsync_dir(home)


def recover(paths: VaultPaths) -> str | None:
    """Finish or undo an interrupted restore; returns ``"rolled_back"``, ``"completed"`` or None.

    Also repairs a restore interrupted by an older version (no journal): if ``vault.db`` is
    missing but an aside copy exists, the newest aside set is renamed back.

    Only under ``keyslots.lock``, which a rekey or restore holds from its swap to its finish:
    a journal or an aside copy seen while another process is still swapping is that process's
    work in progress, not an interruption (a ``stats`` started mid-rekey rolled the swap back
    under it: the rekey failed as "disk full?", or went on with a key the files no longer had).
    The lock goes with a killed process, so a real interruption is still recovered at once.
    """
    home = paths.home
    if not (home / JOURNAL).exists() and (
        paths.database.exists()
        or not home.is_dir()
        or not any(_STAMP.match(p.name) for p in home.iterdir())
    ):
        return None  # nothing to recover (the common case): no lock file made
    with FileLock(paths.keyslots.with_name("keyslots.lock")):
        return _recover(paths)


def _recover(paths: VaultPaths) -> str | None:
    home = paths.home
    journal_path = home / JOURNAL
    if journal_path.exists():
        try:
            journal = json.loads(read_own_file(journal_path))
            state = journal["state"]
            journal["stamp"], journal["existing"], journal["staging"]
        except (ValueError, KeyError, TypeError, OSError):
            raise VaultError(
                "An interrupted restore left a journal that cannot be read; "
                f"move {JOURNAL} away and restore again."
            ) from None
        if state == "done":
            with contextlib.suppress(OSError):
                finish(paths, journal, lambda _n: None)
            return "completed"
        rollback(paths, journal)
        return "rolled_back"
    if not paths.database.exists() and home.is_dir():
        stamps = sorted(m.group(1) for p in home.iterdir() if (m := _STAMP.match(p.name)))
        if stamps:
            stamp = stamps[-1]
            for name in LIVE_FILES:
                aside = home / f"{name}.replaced-{stamp}"
                if aside.exists() and not (home / name).exists():
                    os.replace(aside, home / name)
            fsync_dir(home)
            return "rolled_back"
    return None


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
