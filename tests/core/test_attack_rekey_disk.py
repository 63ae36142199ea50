"""Attack on the streaming rekey (issue 12): the disk fills at some point of the rekey (the
backup before it, the copy, the re-sealed keyslots). The old vault and key must still open,
nothing half-written may stay behind, and no temporary name may carry key material."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import StorageError
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, PURPOSE_ZH, enroll, sign_necessity


def _mount_tmpfs(where: Path, size_kib: int) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(where)],
        capture_output=True,
    )
    return result.returncode == 0


@pytest.mark.parametrize("spare", [0.3, 1.2, 1.6, 1.95, 2.2])
def test_rekey_on_a_filling_disk_keeps_the_old_vault_and_key(tmp_path: Path, spare: float) -> None:
    """``spare``: free space left before the rekey, in vault sizes (the backup before the
    rekey takes about one, the copy another)."""
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, 8192):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = mnt / "vault"
        opts = DeskOptions(kdf=FAST_KDF)
        desk, _ = Desk.initialise(home, "Org", ADMIN, PASSWORD, options=opts)
        purpose = sign_necessity(
            desk,
            desk.add_purpose(
                title="Entrance",
                controller="Org",
                contact="p@org.example",
                retention_days=365,
                alternative="Card",
                **PURPOSE_ZH,
            ),
        )
        for i in range(3):
            enroll(desk, purpose, name=f"Kept Person {i}", seed=i + 1)
        old_key = bytes(desk._vault.data_key)
        from app.db import checkpoint

        checkpoint(desk._conn)
        size = (home / "vault.db").stat().st_size
        st = os.statvfs(mnt)
        free = st.f_bavail * st.f_frsize
        filler = mnt / "filler"
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, free - int(spare * size)))
        outcome = "rekeyed"
        try:
            desk.rekey()
        except StorageError:
            outcome = "refused"
            assert bytes(desk._vault.data_key) == old_key
            assert desk.find_people("kept person").total == 3  # still usable
        desk.lock()
        filler.unlink()
        print(f"spare={spare}: {outcome}")
        names = [p.name for p in home.rglob("*")]
        assert not [n for n in names if n.startswith((".cdrekey-", ".cdbackup-"))], names
        assert not [n for n in names if ".replaced-" in n or n == "restore-journal.json"], names
        assert not [n for n in names if old_key.hex()[:16] in n]
        again = Desk.unlock(home, ADMIN, PASSWORD, options=opts)
        try:
            assert again.find_people("kept person").total == 3
            assert (bytes(again._vault.data_key) == old_key) == (outcome == "refused")
        finally:
            again.lock()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
