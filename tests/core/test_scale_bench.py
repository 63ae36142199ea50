"""``bench --json`` carries the vault-scale keys of issues 16 and 17 (small sizes here; the
100,000-people numbers are measured by ``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.core.test_cli import REPO


def test_bench_scale_keys_in_json(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--only", "scale", "--people", "1000", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["scale_people"] == 1000
    assert result["compliance_counts_match"] is True and result["compliance_ms_100k"] > 0
    assert result["handoff_templates"] == 1000 and result["gate_held"] == 1000
    assert result["revocations_entries"] == 100
    assert result["gate_held_after_revocations"] == 900
    for key in ("handoff_ms_100k", "gate_import_ms_100k", "revocations_ms_10k"):
        assert result[key] > 0
    assert "detect_fps_640x480" not in result  # --only scale skips the face pipeline


def test_bench_people_out_of_range_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--only", "scale", "--people", "5"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--people" in proc.stderr
