"""Issue 12: nothing done at every sign-in or every ``stats`` grows with the vault. Every query
they run is checked with ``EXPLAIN QUERY PLAN``: none walks a table that grows with the people
in it (a count through an index would, too); only the newest audit entries are read, by a
bounded reverse scan (``ORDER BY seq DESC LIMIT``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from app.desk import Desk, DeskOptions
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll, refuse

# Tables whose size grows with the people enrolled, their documents and the audit log.
GROWING = {
    "people",
    "consents",
    "templates",
    "documents",
    "photos",
    "audit",
    "erasures",
    "refusals",
    "disclosure_texts",
    "device_person_log",
    "device_revocations",
    "device_handed",
}


def _traced_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = sqlcipher3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        conn = real(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlcipher3, "connect", connect)
    return seen


def test_sign_in_and_stats_never_walk_a_growing_table(
    desk: Desk, purpose: Purpose, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        enroll(desk, purpose, name=f"Scale Person {i}", seed=i + 1)
    refuse(desk, purpose, in_name=False)
    desk.withdraw(desk.find_people("scale person 0").items[0].person.id, "moving away")
    desk.lock()

    seen = _traced_statements(monkeypatch)
    d = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF, auto_purge=True))
    try:
        assert d.stats().people == 3
        conn = d._conn
        conn.set_trace_callback(None)
        queries = [s for s in dict.fromkeys(seen) if s.lstrip().upper().startswith("SELECT")]
        assert len(queries) > 10  # the trace saw sign-in's own queries
        for sql in queries:
            plan = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            for line in plan:
                words = line.split()
                if words[0] != "SCAN" or words[1] not in GROWING:
                    continue
                bounded = "ORDER BY seq DESC LIMIT" in sql and words[1] == "audit"
                assert bounded, f"{line} :: {sql[:200]}"
    finally:
        d.lock()
