"""``compliance_ms_100k``: how long ``consentdesk compliance`` takes with 100,000 people stored.

The issue asks for the overview to answer in under a second at the filing threshold; this is a
benchmark, not a timed test (a loaded CI machine must not fail a build). The vault is real
(SQLCipher, the same schema, indexes and triggers) but filled with direct inserts, because
100,000 enrolments through the front door would take hours of PDF signing. The audit chain is
filled through the real ``AuditLog`` so the overview's audit reads see a realistic table.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.compliance.service import Compliance
from app.compliance.types import NecessityAnswers
from app.keyslots import KdfParams
from app.values import _iso

_BATCH = 5_000


def _fill(desk: Any, people: int, now: dt.datetime) -> None:
    purpose = desk.add_purpose(
        title="Benchmark entrance",
        controller="Benchmark Org",
        contact="bench@example.invalid",
        retention_days=3650,
        alternative="Card",
    )
    Compliance(desk).assess_purpose(
        purpose.id, NecessityAnswers("Benchmark", "Benchmark", "building_access", "Nobody")
    )
    version_id = desk.get_purpose(purpose.id).version_id
    rng = np.random.default_rng(16)
    for start in range(0, people, _BATCH):
        count = min(_BATCH, people - start)
        templates = rng.normal(size=(count, 128)).astype("<f4")
        with desk.session.write() as conn:
            for i in range(count):
                n = start + i
                pid, cid = f"PBENCH{n:07d}", f"CBENCH{n:07d}"
                signed = _iso(now - dt.timedelta(minutes=n))
                conn.execute(
                    "INSERT INTO people (id, name, name_fold, language, created_at, "
                    "last_interaction_at) VALUES (?,?,?,?,?,?)",
                    (pid, f"Person {n}", f"person {n}", "en", signed, signed),
                )
                conn.execute(
                    "INSERT INTO consents (id, person_id, purpose_version_id, language, "
                    "disclosure_text, text_sha256, decision, status, operator, signed_at, "
                    "expires_at) VALUES (?,?,?,?,?,?,'granted','active','bench',?,?)",
                    (cid, pid, version_id, "en", "text", "0" * 64, signed, "2099-01-01"),
                )
                conn.execute(
                    "INSERT INTO templates (consent_id, person_id, embedding, created_at) "
                    "VALUES (?,?,?,?)",
                    (cid, pid, templates[i].tobytes(), signed),
                )
                desk.session.audit.append("bench", "consent.grant", pid, {"consent": cid})


def compliance_ms_100k(
    people: int = 100_000,
    workdir: Path | None = None,
    repeat: int = 5,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Median milliseconds of ``Compliance.overview()`` on a vault holding ``people`` people
    with face data; also reports the build time and that the counts are right."""
    from app.desk import Desk, DeskOptions

    say = progress or (lambda _m: None)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        options = DeskOptions(kdf=KdfParams(time_cost=1, memory_cost=8192, parallelism=1))
        desk, _ = Desk.initialise(
            Path(tmp) / "vault", "Benchmark Org", "admin", "benchmark password", options=options
        )
        try:
            started = time.perf_counter()
            say(f"filling a vault with {people} people")
            _fill(desk, people, options.clock())
            build_s = time.perf_counter() - started
            compliance = Compliance(desk)
            timings = []
            overview = compliance.overview()
            for _ in range(repeat):
                t0 = time.perf_counter()
                overview = compliance.overview()
                timings.append((time.perf_counter() - t0) * 1000)
        finally:
            desk.lock()
    return {
        "compliance_ms_100k": round(statistics.median(timings), 1),
        "compliance_ms_max": round(max(timings), 1),
        "people": people,
        "stored_people_reported": overview.stored_people,
        "counts_match": overview.stored_people == people,
        "build_s": round(build_s, 1),
    }


if __name__ == "__main__":  # pragma: no cover - manual run: python -m app.compliance.bench
    print(compliance_ms_100k(progress=print))
