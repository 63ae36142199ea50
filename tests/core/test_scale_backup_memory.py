"""Issue 12: backup and restore stream the database; memory does not grow with the vault.

A vault of about 300 MB (stored documents of random bytes, written through SQL like the bulk
benchmark) is backed up and restored in child processes whose peak RSS (``getrusage``) must
stay far below the vault's size. The old code held the whole file in memory (twice, restoring).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.desk import Desk

pytestmark = pytest.mark.slow

VAULT_MB = 300
RSS_LIMIT_MB = 220  # python + the core's imports take ~100 MB; the vault is 300 MB

_CHILD = r"""
import json, resource, sys
from pathlib import Path
from app.desk import Desk, DeskOptions
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD
home, what, target = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
opts = DeskOptions(kdf=FAST_KDF, auto_purge=False)
steps = []
if what == "backup":
    desk = Desk.unlock(home, ADMIN, PASSWORD, options=opts)
    desk.backup(target, steps.append)
else:
    desk = Desk.restore(home, target, ADMIN, PASSWORD, options=opts, progress=steps.append)
people = desk.stats().documents
desk.lock()
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # Linux keeps the parent's peak in ru_maxrss across exec; VmHWM is this program's own
    status = Path("/proc/self/status").read_text()
    rss_kb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
except (OSError, StopIteration, ValueError):
    pass
print(json.dumps({"rss_mb": rss_kb / 1024, "steps": len(steps), "documents": people}))
"""


def _child(home: Path, what: str, target: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(home), what, str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_backup_and_restore_peak_rss_stays_bounded(desk: Desk, home: Path, tmp_path: Path) -> None:
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
    desk.lock()
    size_mb = (home / "vault.db").stat().st_size / 2**20
    assert size_mb > VAULT_MB * 0.95

    backup = tmp_path / "big.cdbackup"
    made = _child(home, "backup", backup)
    assert backup.stat().st_size / 2**20 > VAULT_MB * 0.95
    assert made["steps"] > 10  # progress was reported along the way
    assert made["rss_mb"] < RSS_LIMIT_MB, made

    restored = _child(home, "restore", backup)
    assert restored["documents"] == count
    assert restored["steps"] > 10
    assert restored["rss_mb"] < RSS_LIMIT_MB, restored
