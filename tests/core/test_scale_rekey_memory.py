"""Issue 12: rekey streams the vault into a new file; memory does not grow with the vault.

A vault of about 300 MB (documents of random bytes, written through SQL like the bulk
benchmark) is re-keyed in a child process whose peak RSS (``getrusage``) must stay far below
the vault's size, with progress reported along the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.db import open_database
from app.desk import Desk
from app.errors import VaultCorrupt

pytestmark = pytest.mark.slow

VAULT_MB = 300
RSS_LIMIT_MB = 220  # python + the core's imports take ~100 MB; the vault is 300 MB

_CHILD = r"""
import json, resource, sys
from pathlib import Path
from app.desk import Desk, DeskOptions
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD
home = Path(sys.argv[1])
desk = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
steps = []
desk.rekey(steps.append)
documents = desk.stats().documents
desk.lock()
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # Linux keeps the parent's peak in ru_maxrss across exec; VmHWM is this program's own
    status = Path("/proc/self/status").read_text()
    rss_kb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
except (OSError, StopIteration, ValueError):
    pass
print(json.dumps({"rss_mb": rss_kb / 1024, "steps": len(steps), "documents": documents}))
"""


def test_rekey_peak_rss_stays_bounded(desk: Desk, home: Path) -> None:
    blob = 100 * 1024
    count = VAULT_MB * 1024 * 1024 // blob
    with desk.session.write() as conn:
        for i in range(count):
            conn.execute(
                "INSERT INTO documents (id, kind, person_id, consent_id, purpose_version_id, "
                "language, filename, sha256, content, created_at) "
                "VALUES (?, 'consent_form', NULL, NULL, NULL, 'en', 'f.pdf', '0', ?, "
                "'2026-01-01T00:00:00+00:00')",
                (f"D{i:08d}", os.urandom(blob)),
            )
    old_key = desk._vault.data_key
    desk.lock()
    assert (home / "vault.db").stat().st_size / 2**20 > VAULT_MB * 0.95

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = json.loads(proc.stdout.strip().splitlines()[-1])
    assert made["documents"] == count
    assert made["steps"] > 10  # progress was reported along the way
    assert made["rss_mb"] < RSS_LIMIT_MB, made
    with pytest.raises(VaultCorrupt):
        open_database(home / "vault.db", old_key)  # re-keyed for real
