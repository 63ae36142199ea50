"""issue-11: backups aimed at a vault's own files, and hostile files given as a backup to read."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from app.backups import read_backup_file
from app.desk import Desk, DeskOptions
from app.errors import InvalidInput, VaultCorrupt
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll


def test_backup_onto_a_vault_is_refused(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    enroll(desk, purpose)
    before = {p.name: p.read_bytes() for p in (home / "vault.db", home / "keyslots.json")}
    other_home = tmp_path / "other"
    Desk.initialise(other_home, "Other Org", ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))[
        0
    ].lock()
    other_before = (other_home / "keyslots.json").read_bytes()
    (tmp_path / "notes.txt").write_text("keep me")
    (home / "link").symlink_to(home / "vault.db")
    targets = [
        home / "vault.db",
        home / "keyslots.json",
        home / "login-state.json",
        home / "x.cdbackup",
        home / "link",
        tmp_path / "elsewhere" / ".." / "vault" / "vault.db",
        home / "backups" / "notes.txt",
        other_home / "vault.db",
        other_home / "keyslots.json",
        other_home / "backup.cdbackup",
        tmp_path / "notes.txt",  # an existing file that is no backup
        tmp_path,  # a folder
    ]
    for target in targets:
        with pytest.raises(InvalidInput):
            desk.backup(target)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (other_home / "keyslots.json").read_bytes() == other_before
    desk.lock()
    again = Desk.unlock(home, ADMIN, PASSWORD)  # nothing was lost
    assert again.find_people("").total == 1
    # Allowed: a new file elsewhere, over an older backup, and under <home>/backups.
    first = again.backup(tmp_path / "usb" / "b.cdbackup")
    again.backup(first)
    again.backup(home / "backups" / "kept.cdbackup")
    again.lock()
    assert (home / "keyslots.json").read_bytes() == before["keyslots.json"]


def _bomb(path: Path, entry_bytes: int, *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("manifest.json", json.dumps({"format": "consentdesk-backup", "version": 1}))
        with zf.open("vault.db", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 24)
            for _ in range(entry_bytes // len(chunk)):
                fh.write(chunk)
        zf.writestr("keyslots.json", "{}")
    return path


def test_backup_reading_caps_sizes_and_ratios(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.cdbackup", 1 << 30)  # 1 GiB of zeros in ~1 MB
    assert bomb.stat().st_size < 4 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(VaultCorrupt, match=r"inflates|larger"):
        read_backup_file(bomb)
    assert time.monotonic() - started < 2  # refused from the zip directory, nothing inflated

    # A small entry that must stay small (keyslots.json) holding 5 MB: refused by its cap.
    with pytest.raises(VaultCorrupt, match="larger"):
        _patched_read(tmp_path)

    for target in ("/dev/zero", tmp_path / "fifo"):
        if target != "/dev/zero":
            os.mkfifo(target)
        with pytest.raises(InvalidInput, match="regular file"):
            read_backup_file(Path(target))


def _patched_read(tmp_path: Path) -> None:
    """A zip whose manifest checksum matches but whose keyslots entry is huge: 5 MB of JSON."""
    out = tmp_path / "big-slots.cdbackup"
    db = b"x" * 1024
    slots = b" " * (5 * 1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(
            "manifest.json",
            json.dumps(
                {
                    "format": "consentdesk-backup",
                    "vault.db": hashlib.sha256(db).hexdigest(),
                    "keyslots.json": hashlib.sha256(slots).hexdigest(),
                }
            ),
        )
        zf.writestr("vault.db", db)
        zf.writestr("keyslots.json", slots)
    read_backup_file(out)


def test_a_fifo_or_bomb_among_the_backups_does_not_hang_the_listing(tmp_path: Path) -> None:
    """``<home>/backups`` is listed at every backup (retention) and in Settings: a FIFO named
    like a backup would block the open forever, a huge manifest would be inflated."""
    import subprocess
    import sys

    folder = tmp_path / "backups"
    folder.mkdir()
    os.mkfifo(folder / "trap.cdbackup")
    os.symlink("/dev/zero", folder / "zero.cdbackup")
    with zipfile.ZipFile(folder / "bomb.cdbackup", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b" " * (8 << 20))
    code = (
        "import sys; from pathlib import Path; from app.backups import list_backups; "
        "print([(b.name, b.created_at) for b in list_backups(Path(sys.argv[1]))])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[('bomb.cdbackup', None)]"  # listed, unreadable; no FIFO
