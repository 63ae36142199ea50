"""Backup files, and the backups this workstation keeps under ``<home>/backups``.

Why this module: an erasure certificate says the person's data was erased on this workstation,
so every copy the workstation itself holds must obey it. After each withdrawal, expiry or
erasure, :func:`reapply` brings every backup under ``<home>/backups`` up to date with the erasure
ledger (the same replay a restore runs). A backup written under an older data key (before a
``rekey``) cannot be opened without its old key, which is gone: it is destroyed instead, and a
fresh backup of the current vault takes its place. Backups written elsewhere (a USB stick) are
out of reach; the ledger replay on restore covers them (see the README).

Retention (``backup_keep`` newest files, none older than ``backup_retention_days``) bounds how
long a backup under ``<home>/backups`` exists at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.db import checkpoint, open_database
from app.errors import InvalidInput, StorageError, VaultCorrupt
from app.filecheck import open_regular
from app.ledger import ErasureLedger, ledger_path
from app.paths import VaultPaths
from app.replay import applied_marker, apply_pending, audit_key_of

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

BACKUP_FORMAT = "consentdesk-backup"
BACKUP_SUFFIX = ".cdbackup"
LEFTOVER_PREFIXES = (".cdbackup-", ".cdrestore-", ".cdrekey-", ".cdcompact-")
# A temporary copy younger than this may belong to an operation still running in another
# session (a backup from the UI while the CLI unlocks), so it is left for a later pass.
LEFTOVER_MIN_AGE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class BackupInfo:
    """One backup file, from its (unencrypted) manifest: no personal data is read."""

    path: Path
    name: str
    created_at: dt.datetime | None
    size: int
    schema: int | None
    ledger_applied: str | None


@dataclass(frozen=True)
class ReapplyResult:
    reapplied: tuple[str, ...] = ()
    destroyed: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    pruned: tuple[str, ...] = ()


# Limits when reading a backup (input validation only; the format is unchanged). Backups are
# written ZIP_STORED, so an entry that inflates far beyond its stored size is not ours.
MAX_BACKUP_BYTES = 16 * 1024**3
MAX_SMALL_ENTRY_BYTES = 4 * 1024 * 1024  # manifest.json, keyslots.json
MAX_ENTRY_RATIO = 20
_VAULT_FILES = ("vault.db", "keyslots.json", "login-state.json")


# ---------------------------------------------------------------------- target / entry checks
def check_backup_target(target: Path, home: Path) -> Path:
    """Refuse a backup target that would overwrite a vault (this one or another) or anything
    that is not a backup; returns the resolved target.

    Inside this vault's home only ``backups/<name>.cdbackup`` is allowed (the kept backups).
    Elsewhere, a file named like a vault file, a folder holding a vault, or an existing file
    that is not a ConsentDesk backup is refused: "written and verified" over ``vault.db`` would
    have destroyed the vault it claims to protect.
    """
    resolved = Path(os.path.abspath(target)).resolve()
    home_r = Path(home).resolve()
    refused = InvalidInput(
        "Refusing to write a backup there: it would overwrite a vault's files. "
        "Choose a file outside the vault folder (e.g. on another disk).",
        code="backup_target",
    )
    if resolved == home_r or home_r in resolved.parents:
        kept = resolved.parent == home_r / "backups" and resolved.suffix == BACKUP_SUFFIX
        if not kept or resolved.name.startswith("."):
            raise refused
    if resolved.name in _VAULT_FILES or resolved.name.startswith(
        tuple(f + "-" for f in _VAULT_FILES)
    ):
        raise refused
    if (resolved.parent / "keyslots.json").exists() or (resolved.parent / "vault.db").exists():
        raise refused  # another vault's home
    if resolved.is_dir():
        raise InvalidInput("The backup target is a folder; name a file.", code="backup_target")
    if resolved.exists() and not _is_backup(resolved):
        raise InvalidInput(
            "The backup target exists and is not a ConsentDesk backup; choose a new file name.",
            code="backup_target",
        )
    return resolved


def _is_backup(path: Path) -> bool:
    try:
        with (
            open_regular(path, "The backup file", MAX_BACKUP_BYTES) as fh,
            zipfile.ZipFile(fh) as zf,
        ):
            _check_entries(zf, os.fstat(fh.fileno()).st_size)
            manifest = json.loads(zf.read("manifest.json"))
        return isinstance(manifest, dict) and manifest.get("format") == BACKUP_FORMAT
    except (InvalidInput, VaultCorrupt, zipfile.BadZipFile, KeyError, ValueError, OSError):
        return False


def _check_entries(zf: zipfile.ZipFile, archive_size: int) -> None:
    """Every entry a backup needs, with sizes and compression ratios a backup can have, checked
    from the zip directory before anything is inflated (a 4 MB file announcing a 4 GiB entry
    is refused here, not by a MemoryError)."""
    names = {"manifest.json": MAX_SMALL_ENTRY_BYTES, "keyslots.json": MAX_SMALL_ENTRY_BYTES}
    names["vault.db"] = MAX_BACKUP_BYTES
    total = 0
    for name, cap in names.items():
        info = zf.getinfo(name)  # KeyError: not a backup
        if info.file_size > cap:
            raise VaultCorrupt("That backup holds an entry larger than a backup can hold.")
        if info.file_size > max(info.compress_size, 1) * MAX_ENTRY_RATIO + 65536:
            raise VaultCorrupt("That backup holds an entry that inflates beyond any real backup.")
        total += info.file_size
    if total > archive_size * MAX_ENTRY_RATIO + 3 * 65536:
        raise VaultCorrupt("That backup's entries are far larger than the file itself.")


# ---------------------------------------------------------------------- the file format
# issue 12: the database inside a backup is streamed in chunks of this size, never read whole
# (a 10 GB vault used to need 10 GB of memory to back up and 20 GB to restore).
CHUNK = 1 << 20
Progress = Callable[[float], None]


def _sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    size = max(1, path.stat().st_size)
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done / size)
    return digest.hexdigest()


def write_backup_file(
    db_copy: Path,
    slots_bytes: bytes,
    manifest: Mapping[str, Any],
    target: Path,
    progress: Progress | None = None,
) -> Path:
    """Zip a verified database copy with its keyslots next to ``target``, fsync, rename.

    The copy is hashed, then streamed into the zip, in :data:`CHUNK` pieces: memory stays
    bounded whatever the vault's size. The zip is written beside the target and renamed over
    it only when complete, so a cancel or a crash never leaves half a backup under its name."""
    report = progress or (lambda _f: None)
    doc = {
        "format": BACKUP_FORMAT,
        "version": 1,
        **manifest,
        "vault.db": _sha256_file(db_copy, lambda f: report(0.5 * f)),
        "keyslots.json": hashlib.sha256(slots_bytes).hexdigest(),
    }
    staged = db_copy.with_name(db_copy.name + ".zip")
    try:
        size = max(1, db_copy.stat().st_size)
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr("manifest.json", json.dumps(doc, indent=1))
            info = zipfile.ZipInfo("vault.db", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = db_copy.stat().st_size
            with open(db_copy, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                done = 0
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                    done += len(chunk)
                    report(0.5 + 0.5 * done / size)
            zf.writestr("keyslots.json", slots_bytes)
        fd = os.open(staged, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(staged, 0o600)
        os.replace(staged, target)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise StorageError(f"The backup could not be written ({exc.strerror}).") from None
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return target


def _open_backup(source: Path) -> tuple[zipfile.ZipFile, dict[str, Any], bytes]:
    """The open zip, its manifest and the keyslot bytes, sizes checked before reading."""
    try:
        with open_regular(source, "The backup file", MAX_BACKUP_BYTES) as fh:
            archive_size = os.fstat(fh.fileno()).st_size  # a regular file, size capped (issue 11)
        zf = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise InvalidInput(f"Backup file not found: {source}") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise VaultCorrupt("That file is not a readable ConsentDesk backup.") from None
    try:
        _check_entries(zf, archive_size)
        entries = {i.filename: i for i in zf.infolist()}
        db, slots, man = entries["vault.db"], entries["keyslots.json"], entries["manifest.json"]
        if (
            any(i.compress_type != zipfile.ZIP_STORED for i in (db, slots, man))
            or db.file_size > MAX_BACKUP_BYTES
            or max(slots.file_size, man.file_size) > MAX_SMALL_ENTRY_BYTES
        ):
            raise ValueError("unexpected entry")
        manifest = json.loads(zf.read(man))
        if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
            raise ValueError("not a backup")
        slots_bytes = zf.read(slots)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        zf.close()
        raise VaultCorrupt("That file is not a readable ConsentDesk backup.") from None
    except VaultCorrupt:
        zf.close()
        raise
    if hashlib.sha256(slots_bytes).hexdigest() != manifest.get("keyslots.json"):
        zf.close()
        raise VaultCorrupt("The backup file is damaged (its checksums do not match).")
    return zf, manifest, slots_bytes


def read_backup_file(source: Path) -> tuple[dict[str, Any], bytes]:
    """Manifest and keyslot bytes of a backup whose every checksum verifies; the database
    entry is hashed in chunks, never held in memory (issue 12)."""
    zf, manifest, slots_bytes = _open_backup(source)
    try:
        digest = hashlib.sha256()
        with zf.open("vault.db") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
    except (zipfile.BadZipFile, OSError, EOFError):
        raise VaultCorrupt("That file is not a readable ConsentDesk backup.") from None
    finally:
        zf.close()
    if digest.hexdigest() != manifest.get("vault.db"):
        raise VaultCorrupt("The backup file is damaged (its checksums do not match).")
    return manifest, slots_bytes


def read_backup_manifest(source: Path) -> tuple[dict[str, Any], bytes]:
    """Manifest and keyslot bytes (the database entry is not read)."""
    zf, manifest, slots_bytes = _open_backup(source)
    zf.close()
    return manifest, slots_bytes


def extract_backup(
    source: Path, into: VaultPaths, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the backup's files into ``into`` (a staging folder), the database streamed in
    chunks and its checksum verified as it goes; disk full is a StorageError."""
    zf, manifest, slots_bytes = _open_backup(source)
    report = progress or (lambda _f: None)
    try:
        digest = hashlib.sha256()
        info = zf.getinfo("vault.db")
        size = max(1, info.file_size)
        fd = os.open(into.database, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh, zf.open(info) as src:
            done = 0
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                fh.write(chunk)
                done += len(chunk)
                report(done / size)
            fh.flush()
            os.fsync(fh.fileno())
        if digest.hexdigest() != manifest.get("vault.db"):
            into.database.unlink(missing_ok=True)
            raise VaultCorrupt("The backup file is damaged (its checksums do not match).")
        fd = os.open(into.keyslots, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(slots_bytes)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise StorageError(
            f"The backup could not be unpacked ({exc.strerror}); the vault was not changed."
        ) from None
    except (zipfile.BadZipFile, EOFError):
        raise VaultCorrupt("That file is not a readable ConsentDesk backup.") from None
    finally:
        zf.close()
    return manifest


# ---------------------------------------------------------------------- listing / retention
_MANIFEST_MAX = 1 << 20  # a real manifest is a few hundred bytes


def list_backups(folder: Path) -> tuple[BackupInfo, ...]:
    """Every ``*.cdbackup`` in ``folder``, oldest first."""
    out: list[BackupInfo] = []
    if not folder.is_dir():
        return ()
    for path in folder.glob(f"*{BACKUP_SUFFIX}"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            # A FIFO, device or link put here is no backup: opening a FIFO would hang every
            # listing, a device would be read without end (issue 11).
            continue
        created: dt.datetime | None = None
        schema: int | None = None
        marker: str | None = None
        try:
            with zipfile.ZipFile(path) as zf:
                if zf.getinfo("manifest.json").file_size > _MANIFEST_MAX:
                    raise ValueError("manifest too large")  # a bomb is listed as unreadable
                manifest = json.loads(zf.read("manifest.json"))
            created = dt.datetime.fromisoformat(str(manifest["created_at"]))
            schema = int(manifest.get("schema", 0)) or None
            marker = manifest.get("ledger_applied")
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
            pass
        out.append(BackupInfo(path, path.name, created, st.st_size, schema, marker))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return tuple(sorted(out, key=lambda b: (b.created_at or epoch, b.name)))


def prune(folder: Path, keep: int, max_age_days: float, now: dt.datetime) -> tuple[str, ...]:
    """Delete backups beyond the newest ``keep`` and those older than ``max_age_days``."""
    backups = list_backups(folder)
    cutoff = now - dt.timedelta(days=max_age_days)
    doomed = list(backups[: max(0, len(backups) - max(keep, 0))])
    doomed += [b for b in backups if b.created_at is not None and b.created_at < cutoff]
    removed: list[str] = []
    for b in dict.fromkeys(doomed):
        with contextlib.suppress(FileNotFoundError):
            b.path.unlink()
            removed.append(b.name)
    return tuple(removed)


# ---------------------------------------------------------------------- re-applying erasure
def reapply(
    paths: VaultPaths,
    data_key: bytes,
    ledger: ErasureLedger,
    now: dt.datetime,
    fresh_backup: Callable[[Path], Path],
) -> ReapplyResult:
    """Bring every backup under ``<home>/backups`` up to date with the ledger.

    ``fresh_backup`` writes a backup of the live vault; it is called once if any backup had to
    be destroyed, so the workstation is never left with fewer restore points than one.
    """
    newest = ledger.last()
    target = newest.marker if newest else None
    reapplied: list[str] = []
    destroyed: list[str] = []
    for info in list_backups(paths.backups):
        if target is None or info.ledger_applied == target:
            continue
        outcome = _reapply_one(info.path, data_key, ledger, now)
        if outcome == "destroyed":
            _destroy(info.path)
            destroyed.append(info.name)
        elif outcome == "changed":
            reapplied.append(info.name)
    written: list[str] = []
    if destroyed:
        stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        written.append(fresh_backup(paths.backups / f"after-erasure-{stamp}.cdbackup").name)
    return ReapplyResult(tuple(reapplied), tuple(destroyed), tuple(written))


def _reapply_one(path: Path, data_key: bytes, ledger: ErasureLedger, now: dt.datetime) -> str:
    with staging_folder(path.parent, ".cdbackup-") as tmp:
        staging = VaultPaths(tmp)
        try:
            manifest = extract_backup(path, staging)
        except (VaultCorrupt, InvalidInput):
            return "destroyed"  # unreadable: it can neither be restored nor brought up to date
        slots_bytes = staging.keyslots.read_bytes()
        try:
            # The copy's SHA-256 matched its manifest as it was unpacked: it is the file that
            # was checked page by page when written, so the full checks are not run again
            # (issue 12: they were a third of a purge's rewrite of each backup).
            conn = open_database(staging.database, data_key, check=False, quick=True)
        except VaultCorrupt:
            return "destroyed"  # written under a data key that no longer exists
        try:
            key = audit_key_of(conn)
            if key is None or ledger_path(ledger.path.parent, key) != ledger.path:
                return "foreign"  # another vault's backup: this ledger does not apply
            result = apply_pending(conn, ledger, now)
            marker = applied_marker(conn)
            checkpoint(conn)
        finally:
            conn.close()
        if not result.changed and manifest.get("ledger_applied") == marker:
            return "unchanged"
        manifest = {k: v for k, v in manifest.items() if k not in ("format", "version", "vault.db")}
        manifest.pop("keyslots.json", None)
        manifest["ledger_applied"] = marker
        manifest["reapplied_at"] = now.astimezone(dt.UTC).isoformat()
        write_backup_file(staging.database, slots_bytes, manifest, path)
    return "changed" if result.changed else "unchanged"


def _destroy(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# ---------------------------------------------------------------------- leftovers
STAGING_OWNER = ".owner"


def hold_staging(folder: Path) -> int | None:
    """Mark a staging folder as in use by this process: an exclusive ``flock`` on
    ``folder/.owner``, held until :func:`release_staging` or the process ends, however it ends.

    Why: a copy left by a crash (a backup being brought in line with an erasure, say) still
    holds the people erased since; with the mark, the next sign-in removes it at once instead
    of waiting ten minutes in case it belonged to a live operation. The file appears under its
    name only once locked, so a cleaner never mistakes a folder being set up for a dead one."""
    if fcntl is None:  # pragma: no cover - Windows: the age rule alone
        return None
    pending = folder / f"{STAGING_OWNER}.{os.getpid()}"
    try:
        fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(pending, folder / STAGING_OWNER)
    except OSError:
        os.close(fd)
        pending.unlink(missing_ok=True)
        return None
    return fd


def release_staging(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.contextmanager
def staging_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A temporary folder beside ``parent``'s files, marked as held (:func:`hold_staging`)."""
    with tempfile.TemporaryDirectory(dir=parent, prefix=prefix) as tmp:
        fd = hold_staging(Path(tmp))
        try:
            yield Path(tmp)
        finally:
            release_staging(fd)


def _owner(folder: Path) -> str:
    """``"held"`` while the staging folder's process runs, ``"free"`` once it is gone,
    ``"none"`` without a mark (an older version, or being set up: the age rule decides)."""
    if fcntl is None:  # pragma: no cover - Windows
        return "none"
    try:
        fd = os.open(folder / STAGING_OWNER, os.O_RDONLY)
    except OSError:
        return "none"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return "held"
    finally:
        os.close(fd)
    return "free"


def clean_leftovers(paths: VaultPaths, now: dt.datetime, *, after_open: bool) -> tuple[str, ...]:
    """Remove temporary copies left by interrupted backups, restores and rekeys.

    Run after the live vault has opened (``after_open``): only then is it certain that an aside
    copy (``*.replaced-*``) or a staged keyslot file is not the one that fits. An interrupted
    restore with a journal is handled by ``app.restore.recover`` before this. A staging folder
    is removed at once when its owner mark is free (its process died), never while the mark is
    held, and after ten minutes when it has none.
    """
    removed: list[str] = []
    newest = (now - LEFTOVER_MIN_AGE).timestamp()
    for folder in (paths.home, paths.backups):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            name = entry.name
            staging = name.startswith(LEFTOVER_PREFIXES) and entry.is_dir()
            owner = _owner(entry) if staging else "none"
            if owner == "held":
                continue  # a backup, restore or rekey still running, however long it takes
            try:
                if entry.lstat().st_mtime > newest and owner != "free":
                    continue
            except FileNotFoundError:
                continue
            if staging:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(name)
            elif (
                after_open
                and folder == paths.home
                and entry.is_file()
                and (".replaced-" in name or name in ("keyslots.json.next", "keyslots.json.tmp"))
            ):
                entry.unlink(missing_ok=True)
                removed.append(name)
    return tuple(removed)
