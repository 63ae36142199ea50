"""The disclosure tells the truth about devices (issue 17): a purpose with devices names them,
where they stand, what they hold and how fast a withdrawal reaches them, in both languages, in
the text the person reads and in the signed consent form; adding a device is a material change
(a new purpose version, older consents need re-consent, issue 13)."""

from __future__ import annotations

from pathlib import Path

from app.desk import Desk
from app.devices.format import generate_device_keys
from app.devices.registry import Devices
from app.disclosure import render_text, text_sha256
from app.models import Purpose
from tests.core.pdftools import pdf_text
from tests.core.vaultkit import enroll

ONLY_HERE_EN = "stored encrypted on this workstation only"
ONLY_HERE_ZH = "仅在本工作站上加密保存"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_adding_a_device_is_material_and_the_disclosure_names_it(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    assert ONLY_HERE_EN in desk.disclosure(purpose.id, "en").text
    assert ONLY_HERE_ZH in desk.disclosure(purpose.id, "zh").text
    before = enroll(desk, purpose, "Ann Before", seed=1)

    devices = Devices(desk)
    door = devices.add(
        "North door", purpose.id, generate_device_keys(tmp_path / "n"), "Building A entrance"
    )
    assert (door.purpose_version, door.reconsent_needed) == (purpose.version + 1, 1)
    assert door.location == "Building A entrance"
    (ann,) = desk.person_consents(before.person.id)
    assert ann.reconsent_due_at is not None  # re-consent needed: the door never gets Ann
    edit = [e for e in desk.audit_events() if e.action == "purpose.edit"][-1]
    assert edit.details["material"] is True and edit.details["device_added"] == door.id

    en = _flat(desk.disclosure(purpose.id, "en").text)
    zh = _flat(desk.disclosure(purpose.id, "zh").text)
    assert ONLY_HERE_EN not in en and ONLY_HERE_ZH not in zh
    assert "North door (Building A entrance)" in en and "within 24 hours" in en
    assert "never your name or a photo" in en
    assert "North door（Building A entrance）" in zh and "24小时" in zh
    # The version Ann signed still renders the words she read.
    old = desk.get_purpose(purpose.id, purpose.version)
    assert ONLY_HERE_EN in render_text(old, desk.organisation, "en")
    assert text_sha256(render_text(old, desk.organisation, "en")) == before.consent.text_sha256

    # A second device; a wording edit keeps both; a removal is a new, non-material version.
    devices.add("Lift", purpose.id, generate_device_keys(tmp_path / "l"))
    desk.edit_purpose(purpose.id, contact="dpo@acme.example", material=False)
    en = _flat(desk.disclosure(purpose.id, "en").text)
    assert "North door (Building A entrance); Lift" in en or "Lift; North door" in en
    gone = devices.remove("Lift")
    assert gone.reconsent_needed == 0
    en = _flat(desk.disclosure(purpose.id, "en").text)
    assert "Lift" not in en and "North door (Building A entrance)" in en

    # The signed consent form carries the same words.
    after = enroll(desk, purpose, "Ben After", seed=2)
    form = next(d for d in after.documents if d.kind == "consent_form")
    text = _flat(pdf_text(desk.document_pdf(form.id)))
    assert "North door (Building A entrance)" in text and "within 24 hours" in text


def test_chinese_consent_form_names_the_device(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    Devices(desk).add("东门", purpose.id, generate_device_keys(tmp_path / "e"), "一号楼")
    result = enroll(desk, purpose, "王小明", seed=3, language="zh")
    form = next(d for d in result.documents if d.kind == "consent_form")
    text = _flat(pdf_text(desk.document_pdf(form.id)))
    assert "东门（一号楼）" in text and "24小时" in text and ONLY_HERE_ZH not in text
