"""Device freshness in the compliance overview (issue 17): a withdrawal that has not been written
to a device's revocation list within ``device_overdue_hours`` makes the device overdue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.cli.context import to_jsonable
from app.compliance.service import Compliance
from app.desk import Desk, DeskOptions
from app.devices.format import generate_device_keys
from app.devices.registry import Devices
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll, sign_necessity


def test_overdue_device_in_compliance_overview_and_json(tmp_path: Path) -> None:
    # The revocation trigger stamps the wall clock, so the desk's clock runs from real time.
    offset = [dt.timedelta(0)]
    options = DeskOptions(kdf=FAST_KDF, clock=lambda: dt.datetime.now(dt.UTC) + offset[0])
    desk, _ = Desk.initialise(tmp_path / "v", "Acme", ADMIN, PASSWORD, options=options)
    try:
        purpose = sign_necessity(
            desk,
            desk.add_purpose(
                title="Entrance",
                controller="Acme",
                contact="privacy@acme.example",
                retention_days=365,
                alternative="Card",
            ),
        )
        devices = Devices(desk)
        devices.add("Door", purpose.id, generate_device_keys(tmp_path / "door"))
        devices.add("Lift", purpose.id, generate_device_keys(tmp_path / "lift"))
        a = enroll(desk, purpose, "Ann", seed=1).person.id
        enroll(desk, purpose, "Ben", seed=2)
        devices.handoff("Door")
        desk.withdraw(a, "asked")
        compliance = Compliance(desk)

        offset[0] = dt.timedelta(hours=1)
        o = compliance.overview()
        door = next(d for d in o.devices if d.name == "Door")
        assert (door.unsent, door.overdue, o.devices_overdue) == (2, False, 0)
        assert door.last_bundle_at is not None and door.last_revocations_at is None

        offset[0] = dt.timedelta(hours=25)
        o = compliance.overview()
        assert o.devices_overdue == 1
        assert [d.name for d in o.devices if d.overdue] == ["Door"]  # Lift was never given any
        shape = to_jsonable(o)
        assert isinstance(shape, dict) and shape["devices_overdue"] == 1
        assert {d["name"]: d["overdue"] for d in shape["devices"]} == {"Door": True, "Lift": False}

        desk.set_setting("device_overdue_hours", 48)  # the admin allows two days
        assert compliance.overview().devices_overdue == 0
        desk.set_setting("device_overdue_hours", 24)
        devices.revocations("Door")  # written out: nothing waits any more
        o = compliance.overview()
        assert o.devices_overdue == 0 and o.devices[0].unsent == 0
    finally:
        desk.lock()
