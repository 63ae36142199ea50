"""Issue 13, point 1: a material purpose change asks again; version-1 consents stop matching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions, ReconsentRequest
from app.errors import InvalidInput
from app.models import Purpose
from tests.core.pdftools import pdf_text
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    embedding,
    enroll,
    make_signature,
    sign_necessity,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def options(clock: FakeClock) -> DeskOptions:
    return DeskOptions(kdf=FAST_KDF, clock=clock)


def _match(desk: Desk, seed: int) -> list[str]:
    return [m.person_id for m in desk.identify_embedding(embedding(seed))]


def test_a_material_edit_stops_matches_of_version_1_consents_at_once(
    desk: Desk, purpose: Purpose
) -> None:
    kept = enroll(desk, purpose, "Ada Version-One", seed=1)
    assert _match(desk, 1) == [kept.person.id]
    v2 = desk.edit_purpose(purpose.id, material=True, retention_days=200)
    assert v2.version == 2
    assert _match(desk, 1) == []  # at once, same desk, gallery already loaded
    consent = desk.person_consents(kept.person.id)[0]
    assert consent.status == "reconsent"
    assert consent.template_count == 2  # kept, not destroyed
    assert consent.reconsent_due_at == desk.session.now() + __import__("datetime").timedelta(
        days=30
    )
    page = desk.find_people(status="reconsent")
    assert [s.person.id for s in page.items] == [kept.person.id]
    assert desk.find_people(status="active").total == 0
    assert desk.stats().active_consents == 0
    actions = [e.action for e in desk.audit_events()]
    assert "consent.reconsent_needed" in actions


def test_a_change_of_a_material_field_cannot_be_called_not_material(
    desk: Desk, purpose: Purpose
) -> None:
    enroll(desk, purpose, seed=1)
    with pytest.raises(InvalidInput) as err:
        desk.edit_purpose(purpose.id, material=False, recipients="Front desk and the landlord")
    assert err.value.code == "material_change"
    assert desk.get_purpose(purpose.id).version == 1
    # A contact change is not material: version 1 consents keep matching.
    desk.edit_purpose(purpose.id, material=False, contact="dpo@acme.example")
    assert len(_match(desk, 1)) == 1
    # The fields decide when no answer is given.
    desk.edit_purpose(purpose.id, keep_photos=True)
    assert _match(desk, 1) == []


def test_re_consent_renews_without_capture_and_a_new_form(desk: Desk, purpose: Purpose) -> None:
    first = enroll(desk, purpose, seed=1)
    old_id = first.consent.id
    desk.edit_purpose(purpose.id, material=True, description="Entrance and the car park")
    sign_necessity(desk, desk.get_purpose(purpose.id))
    diffs = desk.reconsent_differences(old_id)
    assert [d.field for d in diffs] == ["description"] and diffs[0].material
    disclosure = desk.disclosure(purpose.id, "en")
    result = desk.reconsent(ReconsentRequest(old_id, disclosure.sha256, make_signature(3)))
    assert result.consent.purpose_version == 2 and result.consent.status == "active"
    assert result.templates_stored == 2
    assert _match(desk, 1) == [first.person.id]
    old = desk.get_consent(old_id)
    assert old.status == "withdrawn" and old.template_count == 0
    text = pdf_text(desk.document_pdf(result.documents[0].id))
    assert "version 2" in text and old_id in text
    with pytest.raises(InvalidInput) as err:
        desk.reconsent(ReconsentRequest(old_id, disclosure.sha256, make_signature(3)))
    assert err.value.code == "no_reconsent_needed"


def test_the_purge_destroys_what_was_not_renewed_after_the_grace_period(
    desk: Desk, purpose: Purpose, clock: FakeClock
) -> None:
    desk.set_setting("reconsent_grace_days", 10)
    person = enroll(desk, purpose, seed=1).person
    desk.edit_purpose(purpose.id, material=True, retention_days=100)
    clock.advance(days=9)
    assert desk.purge_expired().reconsent_lapsed == ()
    assert desk.person_consents(person.id)[0].template_count == 2
    clock.advance(days=2)
    result = desk.purge_expired()
    consent = desk.person_consents(person.id)[0]
    assert result.reconsent_lapsed == (consent.id,)
    assert consent.status == "withdrawn" and consent.template_count == 0
    lapse = [e for e in desk.person_audit(person.id) if e.action == "consent.reconsent_lapse"]
    assert lapse and lapse[0].details["templates_deleted"] == 2


def _cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--home", str(home), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={
            **__import__("os").environ,
            "CONSENTDESK_USER": ADMIN,
            "CONSENTDESK_PASSWORD": PASSWORD,
        },
        timeout=120,
    )


def test_cli_purpose_edit_material_flags_and_people_status(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    pid = enroll(desk, purpose, seed=1).person.id
    desk.lock()
    refused = _cli(home, "purpose", "edit", str(purpose.id), "--retention-days", "90",
                   "--not-material")  # fmt: skip
    assert refused.returncode == 2 and "material change" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = _cli(home, "--json", "purpose", "edit", str(purpose.id), "--retention-days", "90",
                "--material")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == 2
    listed = _cli(home, "--json", "people", "--status", "reconsent")
    assert listed.returncode == 0, listed.stderr
    assert [i["person"]["id"] for i in json.loads(listed.stdout)["items"]] == [pid]
    # Nothing material changed and no answer given: asked, and without a terminal refused.
    asked = _cli(home, "purpose", "edit", str(purpose.id), "--contact", "dpo@x.example")
    assert asked.returncode == 2 and "--not-material" in asked.stderr
    assert "Traceback" not in asked.stderr
