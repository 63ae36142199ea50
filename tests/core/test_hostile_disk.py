"""issue-11: a disk on which nothing can be written (simulated with RLIMIT_FSIZE = 0 in a real
subprocess: no root, no tmpfs needed). Every command says why in one line and loses nothing.

Reading on such a disk works read-only (tests/core/test_hostile_disk_readonly.py); what needs a
write fails with exit code 7: here a backup (its file cannot grow) and a change.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from app.desk import Desk, DeskOptions
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD

REPO = Path(__file__).resolve().parents[2]


def _no_writes() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_full_disk_says_why_and_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    desk.lock()
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
        "CONSENTDESK_NEW_PASSWORD": "a much longer passphrase 7 kites",
    }
    env.pop("CONSENTDESK_DEBUG", None)
    for args, says in (
        (["backup", str(tmp_path / "b.cdbackup")], "could not be written"),
        (["user", "add", "bob"], "read-only because its disk is full"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            preexec_fn=_no_writes,
            timeout=120,
        )
        assert proc.returncode == 7, proc.stderr  # StorageError, not "damaged vault" (3)
        assert says in proc.stderr and "Traceback" not in proc.stderr
        # the read-only notice at sign-in, then the one line saying why the command failed
        assert proc.stderr.strip().count("\n") == 1, proc.stderr
    after = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    for name, data in before.items():
        assert after.get(name) == data, name
    again = Desk.unlock(home, ADMIN, PASSWORD)  # with space back, everything is there
    assert again.stats().staff >= 1
    again.lock()
