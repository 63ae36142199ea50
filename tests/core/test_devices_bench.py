"""The handoff benchmark runs end to end (small sizes here; the 100k numbers are in the report)."""

from __future__ import annotations

from pathlib import Path

from app.devices.bench import run_handoff_benchmark


def test_handoff_benchmark_small(tmp_path: Path) -> None:
    result = run_handoff_benchmark(templates=2000, revocations=400, workdir=tmp_path)
    assert result["handoff_templates"] == 2000 and result["gate_held"] == 2000
    assert result["revocations_entries"] == 400
    assert result["gate_held_after_revocations"] == 1600
    for key in (
        "handoff_ms_100k",
        "gate_import_ms_100k",
        "revocations_ms_10k",
        "gate_revocations_ms_10k",
        "revoke_sql_ms_10k",
    ):
        assert result[key] > 0
    assert result["handoff_bytes_100k"] > 2000 * 512  # templates are in it, encrypted
