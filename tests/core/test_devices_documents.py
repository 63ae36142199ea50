"""The withdrawal receipt and the erasure certificate name the recognition devices that held the
person's templates, how many were revoked, and whether the revocation was collected (issue 17).
Real vault, real signed PDFs read back with pdftotext."""

from __future__ import annotations

from pathlib import Path

from app.desk import Desk
from app.devices.format import generate_device_keys
from app.devices.registry import Devices
from app.models import Purpose
from tests.core.pdftools import pdf_text
from tests.core.vaultkit import enroll


def _flat(pdf: bytes) -> str:
    return " ".join(pdf_text(pdf).split())


def test_receipt_and_certificate_name_the_devices(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    devices = Devices(desk)
    devices.add("North door", purpose.id, generate_device_keys(tmp_path / "north"))
    devices.add("Lift panel", purpose.id, generate_device_keys(tmp_path / "lift"))
    ann = enroll(desk, purpose, "Ann Withdraws", seed=1).person.id
    ben = enroll(desk, purpose, "Ben Erases", seed=2).person.id
    devices.handoff("North door")
    devices.revocations("North door")  # collected once before: its time is printed
    withdrawn = desk.withdraw(ann, "asked")
    assert withdrawn.receipt is not None
    text = _flat(desk.document_pdf(withdrawn.receipt.id))
    assert "Recognition devices told" in text and "North door" in text
    assert "Lift panel" not in text  # never held Ann's template
    assert "Not yet: with the next list" in text and "within 24 hours" in text
    assert "Never" not in text  # North door collected a list before

    devices.revocations("North door")  # now Ann's revocation has left the desk
    erased = desk.erase(ben)
    assert erased.certificate_pdf is not None
    cert = _flat(erased.certificate_pdf)
    assert "North door" in cert and "Recognition devices told" in cert
    assert desk.verify_document(erased.certificate_pdf).valid


def test_no_device_section_when_no_device_held_the_template(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    Devices(desk).add("Door", purpose.id, generate_device_keys(tmp_path / "door"))
    person = enroll(desk, purpose, "Dee", seed=4).person.id  # never handed to the door
    receipt = desk.withdraw(person, "asked").receipt
    assert receipt is not None
    assert "Recognition devices told" not in _flat(desk.document_pdf(receipt.id))


def test_chinese_receipt_names_the_device(desk: Desk, purpose: Purpose, tmp_path: Path) -> None:
    devices = Devices(desk)
    devices.add("东门", purpose.id, generate_device_keys(tmp_path / "east"))
    person = enroll(desk, purpose, "王小明", seed=5, language="zh").person.id
    devices.handoff("东门")
    receipt = desk.withdraw(person, "本人要求").receipt
    assert receipt is not None
    text = _flat(desk.document_pdf(receipt.id))
    assert "已通知的识别设备" in text and "东门" in text and "尚未" in text
