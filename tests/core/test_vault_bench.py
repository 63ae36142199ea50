"""Issue 12: ``consentdesk bench --scale N --json`` builds a vault of N people and reports
exactly the promised keys, each a plausible measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.vault_bench import KEYS

ROOT = Path(__file__).resolve().parents[2]


def test_bench_scale_200_reports_every_key(tmp_path: Path) -> None:
    testdata = os.environ.get("CONSENTDESK_TESTDATA", str(ROOT.parent / "shared" / "testdata"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--scale", "200", "--json", "--testdata", testdata],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert tuple(result) == KEYS
    assert result["people"] == 200
    assert 5 < result["vault_kb_per_person"] < 200  # a real consent form each
    for key in KEYS[2:]:
        if key == "identify_cli_ms" and result[key] is None:
            if os.environ.get("CI") == "true":
                pytest.fail("no test photo for identify_cli_ms")
            continue
        assert isinstance(result[key], int | float) and result[key] > 0, key
    assert result["purge_ms_none"] < result["purge_ms_1000_expired"]
    assert result["backup_peak_rss_mb"] < 1024
    assert not list(tmp_path.glob("consentdesk-scale-*"))  # the temporary vault is gone


def test_bench_scale_refuses_a_bad_count(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--scale", "lots"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "N must be a whole number of people" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bench_scale_keep_leaves_a_vault_to_sign_in_to(tmp_path: Path) -> None:
    """``--keep FOLDER``: the measured vault stays, so the window can be looked at on it."""
    from app.desk import Desk, DeskOptions
    from app.vault_bench import ADMIN, PASSWORD

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    kept = tmp_path / "kept"
    run = [sys.executable, "-m", "app", "bench", "--scale", "20", "--json", "--keep", str(kept)]
    proc = subprocess.run(run, capture_output=True, text=True, env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["people"] == 20
    assert not list(kept.glob("*.cdbackup"))  # the measured backup is not left behind
    desk = Desk.unlock(kept / "vault", ADMIN, PASSWORD, options=DeskOptions(auto_purge=False))
    try:
        # the purge measurement expires min(1000, N) people: at 20, everyone is gone
        assert desk.stats().people == 0
        assert desk.list_purposes()  # the bench's purpose is there
    finally:
        desk.lock()
    again = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 2 and "needs a new folder" in again.stderr
    assert "Traceback" not in again.stderr
