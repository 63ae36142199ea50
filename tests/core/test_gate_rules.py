"""The door's other refusals and its store (real vault and crypto; synthetic templates, because
matching is not what these check — test_devices_handoff.py does that with real photos)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.desk import Desk
from app.devices.format import HandoffRefused, generate_device_keys
from app.devices.registry import Devices
from app.errors import VaultCorrupt
from app.gate.device import Gate
from app.models import Purpose
from tests.core.vaultkit import embedding, enroll, sign_necessity


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def door(desk: Desk, purpose: Purpose, tmp_path: Path) -> tuple[Devices, Path]:
    folder = tmp_path / "door"
    devices = Devices(desk)
    devices.add("Door", purpose.id, generate_device_keys(folder))
    enroll(desk, purpose, "Dora Door", seed=1)
    return devices, folder


def test_a_missed_delta_needs_a_full_bundle(
    desk: Desk, purpose: Purpose, door: tuple[Devices, Path]
) -> None:
    devices, folder = door
    gate = Gate(folder, clock=_now)
    gate.import_file(devices.handoff("Door").data)
    enroll(desk, purpose, "Lost Delta", seed=2)
    devices.handoff("Door")  # never reaches the door
    enroll(desk, purpose, "Third Person", seed=3)
    with pytest.raises(HandoffRefused) as refused:
        gate.import_file(devices.handoff("Door").data)
    assert refused.value.code == "missing_delta"
    assert gate.import_file(devices.handoff("Door", full=True).data).held == 6
    assert gate.decide(embedding(2)).decision == "allow"  # the lost delta's person is back


def test_a_pinned_organisation_key_rejects_any_other(door: tuple[Devices, Path]) -> None:
    devices, folder = door
    stranger = Ed25519PrivateKey.generate().public_key()
    (folder / "org.pub").write_bytes(
        stranger.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    gate = Gate(folder, clock=_now)
    with pytest.raises(HandoffRefused) as refused:
        gate.import_file(devices.handoff("Door").data)
    assert refused.value.code == "wrong_signer"
    (folder / "org.pub").write_bytes(devices.organisation_key_pem())
    assert gate.import_file(devices.handoff("Door", full=True).data).held == 2


def test_first_use_pins_the_signer(door: tuple[Devices, Path], tmp_path: Path) -> None:
    """Without org.pub the first file's key is pinned: a second desk (another organisation)
    that learned the door's public key cannot feed it."""
    devices, folder = door
    gate = Gate(folder, clock=_now)
    gate.import_file(devices.handoff("Door").data)
    other_desk, _ = Desk.initialise(
        tmp_path / "other", "Rogue", "admin", "rogue password 1", options=devices._desk.options
    )
    try:
        purpose = other_desk.add_purpose(
            title="X",
            controller="Rogue",
            contact="r@x.example",
            retention_days=30,
            alternative="Ring the front desk",
        )
        purpose = sign_necessity(other_desk, purpose)
        rogue = Devices(other_desk)
        public = (folder / "device.pub").read_bytes()
        from app.devices.format import parse_public_key

        rogue.add("Door", purpose.id, parse_public_key(public))
        enroll(other_desk, purpose, "Intruder", seed=9)
        with pytest.raises(HandoffRefused) as refused:
            gate.import_file(rogue.handoff("Door").data)
        assert refused.value.code == "wrong_signer"
    finally:
        other_desk.lock()


def test_the_store_is_encrypted_and_bound_to_the_device_key(
    door: tuple[Devices, Path], tmp_path: Path
) -> None:
    devices, folder = door
    gate = Gate(folder, clock=_now)
    gate.import_file(devices.handoff("Door").data)
    store = (folder / "gate.store").read_bytes()
    ref = gate.decide(embedding(1)).person_id
    assert ref and ref.encode() not in store and b"expires_at" not in store
    assert embedding(1).astype("<f4").tobytes()[:64] not in store
    other = tmp_path / "other"
    generate_device_keys(other)
    (other / "gate.store").write_bytes(store)
    with pytest.raises(VaultCorrupt):
        Gate(other, clock=_now).status()
