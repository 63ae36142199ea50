"""Issue 12: ``stats`` reads counters kept by triggers (constant cost at 100,000 people), and
the counters never drift from the rows they count, whatever changes them."""

from __future__ import annotations

import re
from pathlib import Path

from app import counts
from app.desk import Desk, DeskOptions
from app.models import Purpose
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    counters_without_drift,
    enroll,
    refuse,
    short_purpose,
)


def _slow_stats(desk: Desk) -> dict[str, int]:
    """The statistics as they were counted before the counters (whole tables)."""
    c = desk._conn

    def one(sql: str) -> int:
        return int(c.execute(sql).fetchone()[0])

    return {
        "people": one("SELECT count(*) FROM people"),
        "active_consents": one(
            "SELECT count(*) FROM consents WHERE status = 'active' AND reconsent_due_at IS NULL"
        ),
        "refusals": one("SELECT count(*) FROM consents WHERE status = 'refused'")
        + one("SELECT count(*) FROM refusals"),
        "withdrawn": one("SELECT count(*) FROM consents WHERE status = 'withdrawn'"),
        "expired": one("SELECT count(*) FROM consents WHERE status = 'expired'"),
        "templates": one("SELECT count(*) FROM templates"),
        "documents": one("SELECT count(*) FROM documents"),
        "staff": one("SELECT count(*) FROM staff"),
        "purposes": one("SELECT count(*) FROM purposes"),
        "audit_entries": one("SELECT count(*) FROM audit"),
    }


def _check(desk: Desk) -> dict[str, int]:
    counters_without_drift(desk)
    stats = desk.stats().__dict__
    assert stats == _slow_stats(desk)
    return stats


def test_counts_stay_right_through_every_change(tmp_path: Path) -> None:
    clock = FakeClock()
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    home = tmp_path / "v"
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=opts)
    try:
        assert _check(desk)["people"] == 0
        short: Purpose = short_purpose(desk)
        people = [enroll(desk, short, name=f"Counted Person {i}", seed=i + 1) for i in range(6)]
        refuse(desk, short)  # a named refusal: a consent row with status 'refused'
        refuse(desk, short, name="Nameless Nora", in_name=False)  # a row in refusals
        s = _check(desk)
        assert (s["people"], s["active_consents"], s["templates"], s["refusals"]) == (7, 6, 12, 2)

        desk.withdraw(people[0].person.id, "changed my mind")
        s = _check(desk)
        assert (s["active_consents"], s["withdrawn"], s["templates"]) == (5, 1, 10)

        desk.erase(people[1].person.id)  # cascades: consents, templates, documents
        s = _check(desk)
        assert (s["people"], s["active_consents"], s["templates"]) == (6, 4, 8)

        desk.edit_purpose(short.id, material=True, retention_days=20)  # waiting for re-consent
        s = _check(desk)
        assert s["active_consents"] == 0 and s["templates"] == 8
        assert counters_without_drift(desk)["consents.active.reconsent"] == 4

        backup = desk.backup(tmp_path / "b.cdbackup")
        before_restore = _check(desk)
        enroll(desk, desk.get_purpose(short.id), name="After Backup", seed=40)
        assert _check(desk)["people"] == before_restore["people"] + 1
        desk.lock()
        desk = Desk.restore(home, backup, ADMIN, PASSWORD, options=opts)
        assert _check(desk) == {
            **before_restore,
            "audit_entries": _slow_stats(desk)["audit_entries"],
        }

        clock.advance(days=400)  # the re-consents lapse: the purge destroys their templates
        purged = desk.purge_expired()
        assert purged.templates_deleted == 8 and len(purged.reconsent_lapsed) == 4
        s = _check(desk)
        assert s["templates"] == 0 and s["active_consents"] == 0
    finally:
        if not desk.locked:
            desk.lock()


def test_a_vault_from_before_the_counters_gets_them_from_one_count(desk: Desk, purpose) -> None:
    """Migration 13 on a vault with people in it: counters equal the real counts."""
    enroll(desk, purpose)
    refuse(desk, purpose, in_name=False)
    with desk.session.write() as conn:
        for statement in counts.COUNTS_SQL.split(";"):
            m = re.search(r"CREATE (TABLE|TRIGGER) (\w+)", statement)
            if m:
                conn.execute(f"DROP {m.group(1)} {m.group(2)}")
        counts.install(conn)
    assert _check(desk)["templates"] == 2


def test_stats_reads_counters_not_whole_tables(desk: Desk, purpose) -> None:
    """The statistics touch the counters and two small tables, never people, consents,
    templates, documents or the audit log."""
    enroll(desk, purpose)
    seen: list[str] = []
    desk._conn.set_trace_callback(seen.append)
    try:
        desk.stats()
    finally:
        desk._conn.set_trace_callback(None)
    sql = " ".join(seen)
    assert "FROM counts" in sql
    for table in ("people", "consents", "templates", "documents", "audit", "refusals"):
        assert not re.search(rf"\bFROM {table}\b", sql), table


def test_the_full_check_sets_a_drifted_counter_right_and_records_it(
    desk: Desk, purpose: Purpose
) -> None:
    """Counters cannot drift through ConsentDesk; if a change outside it made one wrong, the
    daily full check finds it, sets it right and leaves an audit entry."""
    enroll(desk, purpose)
    with desk.session.write() as conn:
        conn.execute("UPDATE counts SET n = n + 5 WHERE name = 'people'")
    assert desk.stats().people == 6
    assert desk.full_check().ok
    assert desk.stats().people == 1
    repaired = [e for e in desk.audit_events() if e.action == "counters.repaired"]
    assert [e.details["counters"] for e in repaired] == [["people"]]
    assert desk.full_check().ok  # nothing to repair the second time
    assert len([e for e in desk.audit_events() if e.action == "counters.repaired"]) == 1
