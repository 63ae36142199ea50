"""Issue 12: retention purging finds what is due through indexes and works in batches."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from app import backups
from app.desk import Desk, DeskOptions
from app.finality import Finality
from app.models import Purpose
from app.rooms import retention
from app.rooms.retention import DUE_CONSENTS_SQL, DUE_PEOPLE_SQL
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    decrypt_database,
    enroll,
    short_purpose,
)

REPO = Path(__file__).resolve().parents[2]
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
        short: Purpose = short_purpose(desk)
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


def _short_purpose_desk(home, clock: FakeClock) -> tuple[Desk, Purpose]:
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=opts)
    short: Purpose = short_purpose(desk)
    return desk, short


def _backup_plain(path, key: bytes, scratch) -> bytes:
    with zipfile.ZipFile(path) as zf:
        (scratch / "b.db").write_bytes(zf.read("vault.db"))
    return decrypt_database(scratch / "b.db", key).lower()


def test_batch_purge_rewrites_each_backup_once_and_none_keeps_an_erased_person(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    home = tmp_path / "v"
    desk, short = _short_purpose_desk(home, clock)
    try:
        for i in range(5):
            enroll(desk, short, name=f"Canary Purged {i}", seed=i + 1, reference=f"REF-CP-{i}")
        clock.advance(days=20)
        keeper = enroll(desk, short, name="Keeper Stays", seed=40)  # due 20 days later
        kept = [desk.backup(home / "backups" / f"kept-{n}.cdbackup") for n in range(2)]
        key = desk._vault.data_key
        assert b"canary purged 3" in _backup_plain(kept[0], key, tmp_path)
        rewrites: list[str] = []
        real = backups._reapply_one

        def counting(path, *args):  # type: ignore[no-untyped-def]
            rewrites.append(path.name)
            return real(path, *args)

        monkeypatch.setattr(backups, "_reapply_one", counting)
        monkeypatch.setattr(retention, "PURGE_BATCH", 2)  # three erasure batches
        clock.advance(days=11)
        result = desk.purge_expired()
        assert len(result.erased_people) == 5 and keeper.person.id not in result.erased_people
        # Once per purge, not per person or per batch: each backup rewritten exactly once.
        assert sorted(rewrites) == ["kept-0.cdbackup", "kept-1.cdbackup"]
        assert len([e for e in desk.audit_events() if e.action == "backup.reapply"]) == 1
        erased = [e for e in desk.audit_events() if e.action == "person.erase"]
        assert {e.subject for e in erased} == set(result.erased_people)
        assert desk.audit_verify().ok
        ledger = desk.finality.ledger.read()
        assert not ledger.problems
        assert {e.person_id for e in ledger.entries if e.kind == "erase"} == set(
            result.erased_people
        )
        for path in kept:
            plain = _backup_plain(path, key, tmp_path)
            assert b"canary purged" not in plain and b"ref-cp-" not in plain, path.name
            assert b"keeper stays" in plain
        assert desk.purge_expired().erased_people == ()
        assert len(rewrites) == 2  # settled: a purge with nothing due rewrites nothing
    finally:
        desk.lock()


def test_a_purge_cut_short_before_the_backups_settles_them_at_the_next_sign_in(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the purge's batches committed but before the backups were rewritten:
    the next sign-in's purge finds nothing due, yet still brings the backups in line."""
    clock = FakeClock()
    home = tmp_path / "v"
    desk, short = _short_purpose_desk(home, clock)
    for i in range(3):
        enroll(desk, short, name=f"Canary Purged {i}", seed=i + 1, reference=f"REF-CP-{i}")
    kept = desk.backup(home / "backups" / "kept.cdbackup")
    key = desk._vault.data_key
    desk.set_setting("clock_jump_days", 60)  # the 31 days skipped here are no clock fault

    def crash(self: Finality, actor: str) -> None:
        raise KeyboardInterrupt  # the power goes: committed batches, backups untouched

    clock.advance(days=31)
    with monkeypatch.context() as m:
        m.setattr(Finality, "settle", crash)
        with pytest.raises(KeyboardInterrupt):
            desk.purge_expired()
    desk.lock()
    assert b"canary purged 1" in _backup_plain(kept, key, tmp_path)  # still behind

    again = Desk.unlock(
        home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=True)
    )
    try:
        assert again.find_people("canary purged").total == 0
        plain = _backup_plain(kept, key, tmp_path)
        assert b"canary purged" not in plain and b"ref-cp-" not in plain
        assert any(e.action == "backup.reapply" for e in again.audit_events())
        assert not again.finality.unsettled()
    finally:
        again.lock()


_CRASH_IN_SETTLE = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app import backups
    from app.desk import Desk, DeskOptions
    from tests.core.vaultkit import FAST_KDF

    def die(*args, **kw):  # the power goes while the backup's copy is being rewritten
        os.kill(os.getpid(), signal.SIGKILL)

    backups.write_backup_file = die
    desk = Desk.unlock(Path({home!r}), "admin", {password!r},
                       options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
    desk.erase({person!r})
    """
)


def test_a_crash_while_backups_are_rewritten_is_caught_up_at_the_next_sign_in(
    desk: Desk, purpose: Purpose, home, tmp_path
) -> None:
    """Killed mid-rewrite: the erasure is committed, the backup still holds the person and a
    staging copy of it lies beside it. The next sign-in removes the copy at once (its owner is
    gone) and its purge, with nothing due, rewrites the backup."""
    p = enroll(desk, purpose, name="Canary Crashed", reference="REF-CRASH-1")
    enroll(desk, purpose, name="Other Person", seed=9)
    kept = desk.backup(home / "backups" / "kept.cdbackup")
    key = desk._vault.data_key
    desk.lock()
    script = _CRASH_IN_SETTLE.format(
        repo=str(REPO), home=str(home), password=PASSWORD, person=p.person.id
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=180)
    assert child.returncode == -signal.SIGKILL, child.stderr[-800:]
    assert [d.name for d in (home / "backups").iterdir() if d.name.startswith(".cdbackup-")]
    assert b"canary crashed" in _backup_plain(kept, key, tmp_path)

    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        assert again.find_people("canary crashed").total == 0
        assert not [d for d in (home / "backups").iterdir() if d.name.startswith(".cdbackup-")]
        plain = _backup_plain(kept, key, tmp_path)
        assert b"canary crashed" not in plain and b"ref-crash-1" not in plain
        assert b"other person" in plain
        assert not again.finality.unsettled()
    finally:
        again.lock()
