"""Issue 12: retention purging finds what is due through indexes and works in batches."""

from __future__ import annotations

import re

import pytest

from app.desk import Desk, DeskOptions
from app.models import Purpose
from app.rooms import retention
from app.rooms.retention import DUE_CONSENTS_SQL, DUE_PEOPLE_SQL
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, FakeClock, enroll, sign_necessity

_TABLE_SCAN = re.compile(r"\bSCAN (people|consents|templates|audit|documents)\b")


def _plan(desk: Desk, sql: str, args: tuple[object, ...]) -> list[str]:
    return [str(r[3]) for r in desk._conn.execute("EXPLAIN QUERY PLAN " + sql, args)]


def test_purge_queries_use_the_expiry_and_interaction_indexes(desk: Desk) -> None:
    consents = _plan(desk, DUE_CONSENTS_SQL, ("2026-01-01", 200))
    assert any("SEARCH consents USING INDEX consents_status" in line for line in consents)
    assert "expires_at<?" in " ".join(consents)
    people = _plan(desk, DUE_PEOPLE_SQL, ("2026-01-01",))
    joined = " | ".join(people)
    assert "USING INDEX people_last_interaction (last_interaction_at<?)" in joined
    assert "USING COVERING INDEX consents_status_person (status=?)" in joined
    assert "USING INDEX consents_person (person_id=?)" in joined
    from app.rooms.reconsent import LAPSE_DUE_SQL

    lapsed = _plan(desk, LAPSE_DUE_SQL, ("2026-01-01",))
    assert any("SEARCH consents USING INDEX consents_reconsent (" in line for line in lapsed)
    for line in consents + people + lapsed:
        assert not _TABLE_SCAN.search(line), line  # never a walk over a whole table


def test_purge_in_batches_expires_and_erases_everyone_due(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    desk, _ = Desk.initialise(tmp_path / "v", "Acme", ADMIN, PASSWORD, options=opts)
    try:
        short: Purpose = sign_necessity(
            desk,
            desk.add_purpose(
                title="Short",
                controller="Acme",
                contact="p@acme.example",
                retention_days=30,
                alternative="Card",
            ),
        )
        people = [enroll(desk, short, name=f"Brief Person {i}", seed=i + 1) for i in range(5)]
        monkeypatch.setattr(retention, "PURGE_BATCH", 2)
        assert desk.purge_expired().expired_consents == ()  # nothing due yet
        clock.advance(days=31)
        result = desk.purge_expired()
        assert len(result.expired_consents) == 5 and result.templates_deleted == 10
        assert set(result.erased_people) == {p.person.id for p in people}
        assert desk.find_people("brief person").total == 0
        expire_entries = [e for e in desk.audit_events() if e.action == "consent.expire"]
        assert [len(e.details["consents"]) for e in expire_entries] == [2, 2, 1]
        erased = [e for e in desk.audit_events() if e.action == "person.erase"]
        assert {e.subject for e in erased} == set(result.erased_people)
        assert desk.stats().templates == 0
        assert desk.purge_expired().erased_people == ()  # and nothing twice
    finally:
        desk.lock()
