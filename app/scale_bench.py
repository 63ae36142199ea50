"""The vault-scale part of ``consentdesk bench``: the compliance overview at 100,000 people
(issue 16) and the device handoff at 100,000 templates with 10,000 revocations (issue 17).

Why here and not in :mod:`app.bio.bench`: the face benchmark is a library below the ``Desk``
(the import contracts forbid it to build a vault), while these two measure verbs of an
unlocked desk. Both build throwaway vaults with bulk SQL (100,000 signed enrolments would
measure the PDF maker, not the verbs) and delete them afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SCALE_KEYS = (
    "compliance_ms_100k",
    "handoff_ms_100k",
    "gate_import_ms_100k",
    "revocations_ms_10k",
)


def run_scale_benchmarks(
    people: int = 100_000,
    *,
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Flat, JSON-ready results. ``people`` sizes both vaults: the overview counts that many
    people, the handoff sends that many templates and revokes a tenth of them. The key names
    keep their ``_100k``/``_10k`` suffix whatever the size (``scale_people`` says which)."""
    from app.compliance.bench import compliance_ms_100k
    from app.devices.bench import run_handoff_benchmark

    say = progress or (lambda _m: None)
    compliance = compliance_ms_100k(people, workdir=workdir, repeat=5, progress=say)
    handoff = run_handoff_benchmark(
        templates=people, revocations=max(2, people // 10), progress=say, workdir=workdir
    )
    return {
        "scale_people": people,
        "compliance_ms_100k": compliance["compliance_ms_100k"],
        "compliance_ms_max": compliance["compliance_ms_max"],
        "compliance_counts_match": compliance["counts_match"],
        "compliance_build_s": compliance["build_s"],
        **handoff,
    }
