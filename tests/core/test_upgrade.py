"""The upgrade at the first sign-in after an update (app/upgrade.py): every step reports, the rows
come out exactly as the migration before this work left them, the documents still verify, and
the space the rewrite freed is given back (VACUUM INTO + journalled swap)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from app.compact_file import WORTH_IT
from app.desk import Desk, DeskOptions
from app.keyslots import Keyslots
from app.migrations import LATEST, MIGRATIONS
from app.paths import VaultPaths
from app.upgrade import RECLAIM_PENDING, UpgradeStep
from app.vault import Vault
from tests.core.test_compact_storage import _BEFORE_COMPACT, _check_signed
from tests.core.upgradekit import build_old_vault, dump, reference_copy, version_of
from tests.core.vaultkit import ADMIN, PASSWORD

REPO = Path(__file__).resolve().parents[2]
# what an old-layout vault has still to run: the storage migrations and everything after
PENDING = [m.version for m in MIGRATIONS if m.version > _BEFORE_COMPACT]
STEPS = len(PENDING) + 2  # the backup first, the space given back last


def test_upgrade_reports_each_step_and_leaves_the_reference_rows_in_a_smaller_file(
    desk: Desk, purpose, home: Path, options: DeskOptions, tmp_path: Path
) -> None:
    forms = build_old_vault(desk, purpose)
    reference = dump(reference_copy(home, tmp_path / "reference"))
    before = (home / "vault.db").stat().st_size

    steps: list[UpgradeStep] = []
    paths = VaultPaths(home)
    slots = Keyslots.load(paths.keyslots)
    vault = Vault._open(paths, slots, slots.unlock_user(ADMIN, PASSWORD), progress=steps.append)
    try:
        conn = vault.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0  # space given back
        assert (
            conn.execute("SELECT 1 FROM meta WHERE key = ?", (RECLAIM_PENDING,)).fetchone() is None
        )
    finally:
        vault.close()
    after = (home / "vault.db").stat().st_size
    assert after < before * (1 - WORTH_IT), (before, after)

    # Every step said where it was: the backup first, each pending migration, then the space.
    kinds = list(dict.fromkeys((s.number, s.kind, s.version) for s in steps))
    assert kinds[0] == (1, "backup", None)
    assert [k[2] for k in kinds if k[1] == "migration"] == PENDING
    assert kinds[-1][1] == "reclaim" and kinds[-1][0] == steps[0].steps == len(kinds)
    for number in {s.number for s in steps}:
        mine = [s.fraction for s in steps if s.number == number]
        assert mine == sorted(mine) and mine[-1] == 1.0, (number, mine)
    assert len([s for s in steps if s.version == 14]) > 5  # migration 14 reported as it went
    assert not [s for s in steps if s.notice]

    # The rows are the reference migration's, byte for byte (rowids too: the compaction
    # renumbers nothing), and nothing temporary is left.
    assert dump(home) == reference
    names = [p.name for p in home.iterdir()]
    assert not [n for n in names if n.startswith(".cd") or ".replaced-" in n], names
    assert "restore-journal.json" not in names
    assert len(list((home / "backups").glob("before-migration-v13-*.cdbackup"))) == 1

    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    try:
        for doc_id, sha in forms.items():
            pdf = d.document_pdf(doc_id)
            assert hashlib.sha256(pdf).hexdigest() == sha
            assert d.verify_document(pdf).status == "stored"
        _check_signed(d.document_pdf(next(iter(forms))), tmp_path)
        from app import counts

        with d.session.write() as conn:
            assert counts.recount(conn) == {}
    finally:
        d.lock()


def test_the_cli_prints_a_line_per_step_with_a_percentage(desk: Desk, purpose, home: Path) -> None:
    build_old_vault(desk, purpose, copies=10)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--home", str(home), "stats"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "people: 2" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    shape = re.compile(r"^consentdesk: upgrade (\d+)/(\d+): (.+): (\d+)%$")
    parsed = [shape.match(line) for line in lines]
    assert all(parsed), lines
    numbers = [int(m.group(1)) for m in parsed if m]
    assert numbers == sorted(numbers) and set(numbers) == set(range(1, numbers[-1] + 1))
    assert f"consentdesk: upgrade 1/{STEPS}: backup before the upgrade: 0%" in lines
    assert any("migration 14 (" in line and line.endswith(": 100%") for line in lines)
    assert lines[-1].endswith(": 100%")
    assert version_of(home) == LATEST
    # signed in again: nothing left to upgrade, nothing printed
    again = subprocess.run(
        [sys.executable, "-m", "app", "--home", str(home), "stats"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert again.returncode == 0 and again.stderr == "", again.stderr
