"""Restoring an older backup never makes the desk reuse a device's sequence numbers (issue 17
point 9): a door that imported bundle/list N must accept what the desk writes next, and the
replayed withdrawal must still reach it. Real backup, real restore, real gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.desk import Desk, DeskOptions
from app.devices.format import generate_device_keys
from app.devices.marks import marks_path
from app.devices.registry import Devices
from app.gate.device import Gate
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, embedding, enroll


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_restore_keeps_device_numbers_and_the_door_accepts_what_follows(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    door = tmp_path / "door"
    devices = Devices(desk)
    devices.add("Door", purpose.id, generate_device_keys(door))
    gate = Gate(door, clock=_now)
    ann = enroll(desk, purpose, "Ann Before", seed=1).person.id
    enroll(desk, purpose, "Ben Before", seed=2)
    gate.import_file(devices.handoff("Door").data)  # bundle 1
    backup = desk.backup(tmp_path / "old.cdbackup")

    enroll(desk, purpose, "Cat After", seed=3)  # after the backup: not in it
    gate.import_file(devices.handoff("Door").data)  # bundle 2 (delta)
    desk.withdraw(ann, "asked")
    first = devices.revocations("Door")  # list 1
    gate.import_file(first.data)
    gate.import_file(devices.revocations("Door").data)  # list 2
    seen = gate.status()
    assert (seen.bundle_seq, seen.revocation_seq, seen.held) == (2, 2, 4)
    desk.lock()

    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        again = Devices(restored)
        device = again.get("Door")
        assert (device.bundle_seq, device.revocation_seq) == (2, 2)  # not the backup's (1, 0)
        actions = [e.action for e in restored.audit_events()]
        assert "device.marks_restored" in actions and "ledger.replay" in actions

        listed = again.revocations("Door")
        assert listed.seq == 3 and listed.through > first.through  # no entry number reused
        gate.import_file(listed.data)  # the door accepts it (it would refuse 1 or 2)
        bundle = again.handoff("Door")
        assert (bundle.seq, bundle.full) == (3, True)  # full: the door held Cat, unknown here
        result = gate.import_file(bundle.data)
        assert result.held == 2  # Ben's two templates only
        assert gate.decide(embedding(1)).decision == "deny"  # Ann withdrew before the restore
        assert gate.decide(embedding(2)).decision == "allow"
        assert gate.decide(embedding(3)).decision == "deny"  # Cat is not in the restored vault
        assert again.handoff("Door").full is False  # back to deltas
    finally:
        restored.lock()


def test_a_damaged_marks_file_is_not_trusted(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    devices = Devices(desk)
    devices.add("Door", purpose.id, generate_device_keys(tmp_path / "door"))
    enroll(desk, purpose, "Ann", seed=1)
    devices.handoff("Door")
    key = desk.session.meta("audit_key")
    assert key is not None
    path = marks_path(home, bytes(key))
    path.write_text(path.read_text().replace('"bundle_seq": 1', '"bundle_seq": 999'))
    desk.lock()
    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        assert Devices(again).get("Door").bundle_seq == 1
    finally:
        again.lock()
