"""Attack on backups under <home>/backups versus an erasure in another process (issue 12): a
backup whose copy was taken before another process's erasure committed must not end up in
<home>/backups claiming (in its manifest) to be in line with the ledger, where no settle would
ever look at it again: it would keep the erased person until some later erasure."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import app.vault
from app.desk import Desk
from tests.core.vaultkit import ADMIN, PASSWORD, decrypt_database, enroll

REPO = Path(__file__).resolve().parents[2]


def test_a_backup_copied_before_another_process_erased_is_brought_in_line(
    desk: Desk, purpose, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = enroll(desk, purpose, name="Canary Zebulon", reference="REF-GONE-7")
    enroll(desk, purpose, name="Other Person", seed=9)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_DEBUG", None)
    real = app.vault.backup_copy

    def copy_then_other_process_erases(*args, **kw):  # type: ignore[no-untyped-def]
        real(*args, **kw)  # the copy still holds the person
        proc = subprocess.run(
            [sys.executable, "-m", "app", "erase", gone.person.id, "--yes"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr

    monkeypatch.setattr(app.vault, "backup_copy", copy_then_other_process_erases)
    kept = desk.backup(home / "backups" / "raced.cdbackup")
    monkeypatch.undo()
    desk.purge_expired()  # what every sign-in runs: it settles backups left behind
    key = desk._vault.data_key
    with zipfile.ZipFile(kept) as zf:
        (tmp_path / "b.db").write_bytes(zf.read("vault.db"))
    plain = decrypt_database(tmp_path / "b.db", key).lower()
    assert desk.find_people("canary").total == 0
    assert b"canary zebulon" not in plain and b"ref-gone-7" not in plain
