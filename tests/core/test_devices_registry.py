"""Device registry rules and the revocation trigger on every deletion path (real vault; the
templates here are synthetic because these tests are about bookkeeping, not matching — the
matching is in test_devices_handoff.py with real photos)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.devices.format import generate_device_keys, open_sealed, unpack_payload
from app.devices.registry import Devices
from app.errors import InvalidInput, NotFound, PermissionDenied
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll, sign_necessity


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, bytes]:
    folder = tmp_path / "door"
    return folder, generate_device_keys(folder)


def _bundle_entries(devices: Devices, folder: Path, full: bool = False) -> list[dict[str, str]]:
    from app.devices.format import load_device_private

    data = devices.handoff("Door", full=full).data
    meta, _ = unpack_payload(
        open_sealed(data, load_device_private(folder / "device.key"), None).payload
    )
    entries: list[dict[str, str]] = meta["entries"]
    return entries


def _revoked(devices: Devices, folder: Path) -> list[dict[str, object]]:
    from app.devices.format import load_device_private

    data = devices.revocations("Door").data
    meta, _ = unpack_payload(
        open_sealed(data, load_device_private(folder / "device.key"), None).payload
    )
    entries: list[dict[str, object]] = meta["entries"]
    return entries


def test_every_deletion_path_issues_revocations(
    desk: Desk, purpose: Purpose, keys: tuple[Path, bytes]
) -> None:
    folder, pub = keys
    devices = Devices(desk)
    devices.add("Door", purpose.id, pub)
    withdrawn = enroll(desk, purpose, "Wanda Withdrawn", seed=1).person.id
    erased = enroll(desk, purpose, "Erin Erased", seed=2).person.id
    kept = enroll(desk, purpose, "Kim Kept", seed=3).person.id
    assert len(_bundle_entries(devices, folder)) == 6

    desk.withdraw(withdrawn, "asked")
    desk.erase(erased, "asked")
    revoked = _revoked(devices, folder)
    assert len(revoked) == 4
    assert {e["person_id"] for e in revoked} == {
        devices.person_ref("Door", withdrawn),
        devices.person_ref("Door", erased),
    }
    assert devices.person_ref("Door", kept) not in {e["person_id"] for e in revoked}
    # The complete list grows; numbers increase.
    ns = [int(str(e["n"])) for e in revoked]
    assert ns == sorted(ns)
    device = devices.get("Door")
    assert (device.templates_held, device.revocations_issued, device.revocations_unsent) == (
        2,
        4,
        0,
    )
    # The erased person's device history went with them; the withdrawn person's is kept.
    assert devices.person_events(erased) == []
    assert [e.event for e in devices.person_events(withdrawn)] == ["handed", "revoked"]


def test_retention_purge_revokes(home: Path, tmp_path: Path) -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    options = DeskOptions(kdf=FAST_KDF, clock=lambda: now[0])
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=options)
    try:
        purpose = desk.add_purpose(
            title="Entrance",
            controller="Acme",
            contact="a@acme.example",
            retention_days=30,
            alternative="Card",
        )
        purpose = sign_necessity(desk, purpose)
        folder = tmp_path / "door"
        devices = Devices(desk)
        devices.add("Door", purpose.id, generate_device_keys(folder))
        enroll(desk, purpose, "Pat Purged", seed=4)
        assert len(_bundle_entries(devices, folder)) == 2
        now[0] += dt.timedelta(days=31)
        # Past the expiry but not yet purged: nothing of it may leave in a new bundle.
        assert _bundle_entries(devices, folder, full=True) == []
        desk.purge_expired()
        assert len(_revoked(devices, folder)) == 2
        assert devices.get("Door").templates_held == 0
    finally:
        desk.lock()


def test_deltas_carry_only_what_is_new(
    desk: Desk, purpose: Purpose, keys: tuple[Path, bytes]
) -> None:
    folder, pub = keys
    devices = Devices(desk)
    devices.add("Door", purpose.id, pub)
    enroll(desk, purpose, "First Person", seed=1)
    first = devices.handoff("Door")
    enroll(desk, purpose, "Second Person", seed=2)
    delta = _bundle_entries(devices, folder)
    assert (first.full, first.templates, len(delta)) == (True, 2, 2)
    assert len(_bundle_entries(devices, folder, full=True)) == 4
    # Another purpose's consents never reach this door.
    other = desk.add_purpose(
        title="Canteen",
        controller="Acme",
        contact="a@acme.example",
        retention_days=30,
        alternative="Cash",
    )
    other = sign_necessity(desk, other)
    enroll(desk, other, "Third Person", seed=3)
    assert _bundle_entries(devices, folder) == []
    events = [e for e in desk.audit_events() if e.action.startswith("device.")]
    assert [e.action for e in events] == ["device.add"] + ["device.handoff"] * 4
    last = events[-1].details
    assert (last["templates"], last["full"], last["seq"]) == (0, False, 4)


def test_registry_rules(desk: Desk, purpose: Purpose, keys: tuple[Path, bytes]) -> None:
    _, pub = keys
    devices = Devices(desk)
    with pytest.raises(NotFound):
        devices.add("Door", 999, pub)
    with pytest.raises(InvalidInput):
        devices.add("Door", purpose.id, b"short")
    devices.add("Door", purpose.id, pub)
    with pytest.raises(InvalidInput):
        devices.add("door", purpose.id, bytes(32))  # names are case-insensitive
    with pytest.raises(InvalidInput):
        devices.add("Other door", purpose.id, pub)  # one key, one device
    with pytest.raises(NotFound):
        devices.handoff("Nowhere")
    enroll(desk, purpose, "Held Person", seed=1)
    devices.handoff("Door")
    removed = devices.remove("Door")
    assert removed.removed_at and removed.templates_held == 0
    assert [d.name for d in devices.list()] == []
    assert [d.name for d in devices.list(include_removed=True)] == ["Door"]
    devices.add("Door", purpose.id, pub)  # the name and key are free again


def test_device_verbs_are_admin_only(
    desk: Desk, purpose: Purpose, home: Path, options: DeskOptions, keys: tuple[Path, bytes]
) -> None:
    _, pub = keys
    Devices(desk).add("Door", purpose.id, pub)
    desk.add_user("olga", "operator password 1", "operator")
    desk.lock()
    operator = Desk.unlock(home, "olga", "operator password 1", options=options)
    try:
        devices = Devices(operator)
        before = len(operator.audit_events())
        for verb in (
            lambda: devices.add("Gate 2", purpose.id, bytes(32)),
            lambda: devices.handoff("Door"),
            lambda: devices.remove("Door"),
            devices.list,
            lambda: devices.person_ref("Door", "X"),
        ):
            with pytest.raises(PermissionDenied):
                verb()
        assert len(operator.audit_events()) == before  # refused before anything changed
        assert devices.revocations("Door").seq == 1  # revoking never waits for an admin
    finally:
        operator.lock()


def test_a_withdrawal_not_written_out_for_a_day_is_overdue(
    desk: Desk, purpose: Purpose, keys: tuple[Path, bytes]
) -> None:
    _, pub = keys
    devices = Devices(desk)
    devices.add("Door", purpose.id, pub)
    person = enroll(desk, purpose, "Olive Overdue", seed=1).person.id
    devices.handoff("Door")
    assert [f.overdue for f in devices.freshness()] == [False]
    desk.withdraw(person, "asked")
    later = Devices(desk, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=25))
    fresh = later.freshness()[0]
    assert (fresh.unsent, fresh.overdue) == (2, True)
    assert devices.freshness()[0].overdue is False  # within the 24 hours
    later.revocations("Door")
    assert later.freshness()[0] == dataclasses.replace(
        fresh,
        unsent=0,
        oldest_unsent_at=None,
        overdue=False,
        last_revocations_at=later.freshness()[0].last_revocations_at,
    )
