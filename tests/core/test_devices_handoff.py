"""Issue 17 done-when: real templates from real photos travel to a door and a withdrawal follows.

A (Kit Harington) and B (Barack Obama) are enrolled from two photos each; the gate is asked
about *other* photos of them. The vault is a real SQLCipher vault; the gate has its own folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.desk import Desk, EnrollmentRequest, PersonDetails
from app.devices.format import HandoffRefused, generate_device_keys
from app.devices.registry import Devices
from app.gate.device import Gate
from app.models import Purpose
from tests.core.test_bio_support import analysis_of, shared_engine
from tests.core.vaultkit import make_signature

A_ENROLL, A_PROBE = ("kit_harington_1.jpg", "kit_harington_2.jpg"), "kit_harington_3.jpg"
B_ENROLL, B_PROBE = ("obama_1.jpg", "obama_2.jpg"), "obama_4.jpg"
STRANGER = "rose_leslie_1.jpg"


def enroll_photos(desk: Desk, purpose: Purpose, name: str, photos: list[Path], seed: int) -> str:
    disclosure = desk.disclosure(purpose.id, "en")
    result = desk.enroll(
        EnrollmentRequest(
            person=PersonDetails(name, None, None, "en", age_basis="id_document_seen"),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            signature=make_signature(seed),
            embeddings=[analysis_of(p).single_encoding() for p in photos],
            acknowledged_warnings=True,
        )
    )
    return result.person.id


class Clock:
    """The gate's own clock, moved by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def scene(desk: Desk, purpose: Purpose, faces: Path, tmp_path: Path) -> dict[str, object]:
    door, other = tmp_path / "door", tmp_path / "other"
    devices = Devices(desk)
    d_pub = generate_device_keys(door)
    e_pub = generate_device_keys(other)
    devices.add("Main door", purpose.id, d_pub)
    devices.add("Side door", purpose.id, e_pub)
    a = enroll_photos(desk, purpose, "Kit Harington", [faces / f for f in A_ENROLL], 1)
    b = enroll_photos(desk, purpose, "Barack Obama", [faces / f for f in B_ENROLL], 2)
    clock = Clock()
    gate = Gate(door, clock=clock, engine=shared_engine())
    return {
        "devices": devices,
        "a": a,
        "b": b,
        "gate": gate,
        "clock": clock,
        "door": door,
        "other": other,
    }


def test_withdrawal_reaches_the_door(desk: Desk, faces: Path, scene: dict[str, object]) -> None:
    devices, gate = scene["devices"], scene["gate"]
    assert isinstance(devices, Devices) and isinstance(gate, Gate)
    a, b = str(scene["a"]), str(scene["b"])
    ref_a, ref_b = devices.person_ref("Main door", a), devices.person_ref("Main door", b)
    assert ref_a != ref_b and a not in (ref_a, ref_b)

    first = devices.handoff("Main door")
    assert (first.seq, first.full, first.templates, first.people) == (1, True, 4, 2)
    for secret in (b"Kit Harington", b"Barack Obama", a.encode(), b.encode()):
        assert secret not in first.data  # no names, no vault IDs, even in the readable header
    imported = gate.import_file(first.data)
    assert (imported.kind, imported.added, imported.held) == ("bundle", 4, 4)

    allow_a = gate.identify_photo(faces / A_PROBE)
    allow_b = gate.identify_photo(faces / B_PROBE)
    assert (allow_a.decision, allow_a.person_id) == ("allow", ref_a)
    assert (allow_b.decision, allow_b.person_id) == ("allow", ref_b)
    assert gate.identify_photo(faces / STRANGER).decision == "deny"

    desk.withdraw(a, "moved out")
    revs = devices.revocations("Main door")
    assert (revs.seq, revs.entries) == (1, 2)
    assert gate.import_file(revs.data).removed == 2
    denied = gate.identify_photo(faces / A_PROBE)
    assert (denied.decision, denied.person_id) == ("deny", None)
    assert gate.identify_photo(faces / B_PROBE).person_id == ref_b

    with pytest.raises(HandoffRefused) as replay_revs:
        gate.import_file(revs.data)
    assert replay_revs.value.code == "old_sequence"
    with pytest.raises(HandoffRefused) as replay_bundle:
        gate.import_file(first.data)
    assert replay_bundle.value.code == "old_sequence"

    # A newer list makes the older one a replay too, and a full list also catches up a door
    # that missed one.
    newer = devices.revocations("Main door")
    assert newer.entries == 2 and gate.import_file(newer.data).removed == 0
    with pytest.raises(HandoffRefused):
        gate.import_file(revs.data)

    # A delta after the withdrawal holds nothing of A and builds on bundle 1.
    delta = devices.handoff("Main door")
    assert (delta.full, delta.templates, delta.revocations_through) == (False, 0, 2)
    assert gate.import_file(delta.data).held == 2

    # A bundle while a newer revocation list is pending is refused until the list arrives.
    desk.withdraw(b, "left the company")
    pending = devices.handoff("Main door", full=True)
    with pytest.raises(HandoffRefused) as early:
        gate.import_file(pending.data)
    assert early.value.code == "revocations_pending"
    assert gate.identify_photo(faces / B_PROBE).decision == "allow"  # nothing was applied
    gate.import_file(devices.revocations("Main door").data)
    assert gate.identify_photo(faces / B_PROBE).decision == "deny"
    assert gate.import_file(pending.data).held == 0


def test_only_the_addressed_device_opens_a_bundle(scene: dict[str, object]) -> None:
    devices = scene["devices"]
    assert isinstance(devices, Devices)
    bundle = devices.handoff("Main door")
    other = Gate(Path(str(scene["other"])), clock=Clock(), engine=shared_engine())
    with pytest.raises(HandoffRefused) as refused:
        other.import_file(bundle.data)
    assert refused.value.code == "other_device"
    assert other.status().held == 0


def test_a_flipped_byte_is_refused(scene: dict[str, object]) -> None:
    devices, gate = scene["devices"], scene["gate"]
    assert isinstance(devices, Devices) and isinstance(gate, Gate)
    data = devices.handoff("Main door").data
    for position in (3, 20, 150, len(data) // 2, len(data) - 70, len(data) - 1):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        with pytest.raises(HandoffRefused):
            gate.import_file(bytes(damaged))
    assert gate.status().held == 0
    assert gate.import_file(data).held == 4  # the intact file still imports


def test_the_gate_drops_expired_consents_by_its_own_date(
    faces: Path, scene: dict[str, object]
) -> None:
    devices, gate, clock = scene["devices"], scene["gate"], scene["clock"]
    assert isinstance(devices, Devices) and isinstance(gate, Gate) and isinstance(clock, Clock)
    gate.import_file(devices.handoff("Main door").data)
    assert gate.identify_photo(faces / B_PROBE).decision == "allow"
    clock.now += dt.timedelta(days=366)  # the purpose keeps consents 365 days; no desk involved
    assert gate.identify_photo(faces / B_PROBE).decision == "deny"
    assert gate.identify_photo(faces / A_PROBE).decision == "deny"
    # The next import persists the drop.
    result = gate.import_file(devices.revocations("Main door").data)
    assert (result.expired, result.held) == (4, 0)
