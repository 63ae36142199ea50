"""Attack on the trigger-kept counters (issue 12): the side paths that change rows in bulk or
behind the session's back must leave every counter equal to the real count."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.models import Purpose
from app.rooms import retention
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


def test_counters_hold_through_restore_replay_and_a_set_based_purge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    home = tmp_path / "v"
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=opts)
    try:
        short: Purpose = short_purpose(desk)
        people = [enroll(desk, short, name=f"Counted {i}", seed=i + 1) for i in range(7)]
        refuse(desk, short)
        backup = desk.backup(tmp_path / "older.cdbackup")
        # After the backup: an erasure and a withdrawal the ledger must re-apply on restore.
        desk.erase(people[0].person.id)
        desk.withdraw(people[1].person.id, "changed my mind")
        counters_without_drift(desk)
        desk.lock()
        desk = Desk.restore(home, backup, ADMIN, PASSWORD, options=opts)
        assert desk.find_people("Counted 0").total == 0  # replayed
        c = counters_without_drift(desk)
        assert c["people"] == 6 + 1 and c["consents.withdrawn"] == 1
        clock.advance(days=20)
        late = enroll(desk, desk.get_purpose(short.id), name="Late Comer", seed=30)
        monkeypatch.setattr(retention, "PURGE_BATCH", 2)  # several set-based batches
        clock.advance(days=11)
        purged = desk.purge_expired()
        assert late.person.id not in purged.erased_people and len(purged.erased_people) >= 5
        c = counters_without_drift(desk)
        assert c["people"] == desk.stats().people
    finally:
        if not desk.locked:
            desk.lock()
