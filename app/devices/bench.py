"""Benchmark of the handoff at door scale (issue 17): 100,000 templates out, 10,000 revocations.

``bench --json`` runs :func:`run_handoff_benchmark` (see :mod:`app.scale_bench`). Everything is real except
the templates (random unit vectors: matching is not measured here) and the way people get into
the vault (bulk SQL instead of 50,000 signed enrollments, which would measure the PDF maker).
The Argon2 cost of the throwaway vault is lowered; no measured step uses it.

Keys: ``handoff_ms_100k`` (select, pseudonymise, record, seal and sign a full bundle),
``handoff_bytes_100k``, ``gate_import_ms_100k`` (verify, decrypt, check, store encrypted),
``revoke_sql_ms_10k`` (the deletion trigger turning 10,000 templates into revocations),
``revocations_ms_10k``, ``revocations_bytes_10k``, ``gate_revocations_ms_10k``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Progress = Callable[[str], None]


def _populate(desk: Any, purpose_version_id: int, people: int, per_person: int) -> None:
    rng = np.random.default_rng(17)
    now = desk.session.now()
    signed = now.isoformat(timespec="seconds")
    expires = (now + dt.timedelta(days=365)).isoformat(timespec="seconds")
    with desk.session.write() as conn:
        conn.executemany(
            "INSERT INTO people (id, name, name_fold, language, created_at, last_interaction_at) "
            "VALUES (?, ?, ?, 'en', ?, ?)",
            [(f"B{i:09d}", f"Bench {i}", f"bench {i}", signed, signed) for i in range(people)],
        )
        conn.executemany(
            "INSERT INTO consents (id, person_id, purpose_version_id, language, disclosure_text, "
            "text_sha256, decision, status, operator, signed_at, expires_at) "
            "VALUES (?, ?, ?, 'en', '', '', 'granted', 'active', 'bench', ?, ?)",
            [
                (f"CB{i:09d}", f"B{i:09d}", purpose_version_id, signed, expires)
                for i in range(people)
            ],
        )
        for start in range(0, people, 5000):
            batch = range(start, min(people, start + 5000))
            mats = rng.normal(size=(len(batch) * per_person, 128)).astype("<f4")
            mats /= np.linalg.norm(mats, axis=1, keepdims=True)
            conn.executemany(
                "INSERT INTO templates (consent_id, person_id, embedding, created_at) "
                "VALUES (?, ?, ?, ?)",
                [
                    (
                        f"CB{i:09d}",
                        f"B{i:09d}",
                        mats[(i - start) * per_person + k].tobytes(),
                        signed,
                    )
                    for i in batch
                    for k in range(per_person)
                ],
            )


def run_handoff_benchmark(
    templates: int = 100_000,
    revocations: int = 10_000,
    progress: Progress | None = None,
    workdir: Path | None = None,
) -> dict[str, Any]:
    from app.desk import Desk, DeskOptions
    from app.devices.format import generate_device_keys
    from app.devices.registry import Devices
    from app.gate.device import Gate
    from app.keyslots import KdfParams

    report = progress or (lambda _m: None)
    per_person = 2
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        base = Path(tmp)
        options = DeskOptions(kdf=KdfParams(1, 8192, 1), auto_purge=False)
        desk, _ = Desk.initialise(
            base / "vault", "Bench", "bench", "bench password 1", options=options
        )
        try:
            purpose = desk.add_purpose(
                title="Entrance",
                controller="Bench",
                contact="bench@example.org",
                retention_days=365,
                alternative="Card",
            )
            devices = Devices(desk)
            devices.add("Door", purpose.id, generate_device_keys(base / "door"))
            report(f"populating {templates} templates")
            _populate(desk, purpose.version_id, templates // per_person, per_person)
            report("handoff")
            t0 = time.perf_counter()
            bundle = devices.handoff("Door", full=True)
            out["handoff_ms_100k"] = round((time.perf_counter() - t0) * 1000.0, 1)
            out["handoff_bytes_100k"] = len(bundle.data)
            out["handoff_templates"] = bundle.templates
            gate = Gate(base / "door", clock=lambda: dt.datetime.now(dt.UTC))
            report("gate import")
            t0 = time.perf_counter()
            held = gate.import_file(bundle.data).held
            out["gate_import_ms_100k"] = round((time.perf_counter() - t0) * 1000.0, 1)
            out["gate_held"] = held
            report("revocations")
            ids = [f"CB{i:09d}" for i in range(revocations // per_person)]
            t0 = time.perf_counter()
            with desk.session.write() as conn:
                conn.executemany(
                    "UPDATE consents SET status = 'withdrawn' WHERE id = ?", [(i,) for i in ids]
                )
            out["revoke_sql_ms_10k"] = round((time.perf_counter() - t0) * 1000.0, 1)
            t0 = time.perf_counter()
            listed = devices.revocations("Door")
            out["revocations_ms_10k"] = round((time.perf_counter() - t0) * 1000.0, 1)
            out["revocations_bytes_10k"] = len(listed.data)
            out["revocations_entries"] = listed.entries
            t0 = time.perf_counter()
            out["gate_held_after_revocations"] = gate.import_file(listed.data).held
            out["gate_revocations_ms_10k"] = round((time.perf_counter() - t0) * 1000.0, 1)
        finally:
            desk.lock()
    return out
