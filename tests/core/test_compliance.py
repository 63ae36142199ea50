"""Governance pack (issue 16) on a real vault: the necessity gate, the filing-threshold counts,
the requests register with statutory deadlines, breach records and letters, and the signed
governance PDFs."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.compliance.deadlines import add_months, add_working_days, due_date
from app.compliance.service import Compliance
from app.compliance.types import BreachInput, NecessityAnswers
from app.desk import Desk, DeskOptions
from app.errors import InvalidInput, PermissionDenied
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll, refuse, sign_necessity

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


class Clock:
    """A clock the test moves by hand (deadlines and enrolment rates depend on it)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def cdesk(home: Path, clock: Clock) -> Iterator[Desk]:
    d, _ = Desk.initialise(
        home,
        "Acme Property Management",
        ADMIN,
        PASSWORD,
        options=DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False),
    )
    yield d
    if not d.locked:
        d.lock()


def _new_purpose(desk: Desk, title: str = "Gym entrance") -> Purpose:
    return desk.add_purpose(
        title=title,
        controller="Acme Property Management",
        contact="privacy@acme.example",
        retention_days=365,
        alternative="Access card from the front desk",
        recipients="Front-desk staff only",
        regulator="Shanghai Cyberspace Administration",
    )


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


# ---------------------------------------------------------------------- necessity gate
def test_purpose_without_signed_necessity_cannot_enroll_or_refuse(desk: Desk) -> None:
    unsigned = _new_purpose(desk)
    with pytest.raises(InvalidInput) as caught:
        enroll(desk, unsigned)
    assert caught.value.code == "necessity_missing"
    with pytest.raises(InvalidInput) as caught:
        refuse(desk, unsigned)
    assert caught.value.code == "necessity_missing"
    assert desk.stats().people == 0 and desk.stats().active_consents == 0

    signed = sign_necessity(desk, unsigned)
    assert signed.version == unsigned.version  # the first answers belong to the version
    result = enroll(desk, signed)
    assert result.consent.purpose_version_id == signed.version_id
    events = [e.action for e in desk.audit_events()]
    assert "purpose.assess" in events


def test_changing_the_answers_makes_a_new_purpose_version(desk: Desk, purpose: Purpose) -> None:
    compliance = Compliance(desk)
    first = compliance.necessity(purpose.id)
    assert first is not None and first.purpose_version == purpose.version
    before = enroll(desk, purpose)
    again = sign_necessity(desk, purpose)  # identical answers: nothing new
    assert again.version == purpose.version

    changed = compliance.assess_purpose(
        purpose.id,
        NecessityAnswers("Lobby access at night", "Cards are shared", "security", "Guards"),
    )
    current = desk.get_purpose(purpose.id)
    assert changed.purpose_version == current.version == purpose.version + 1
    assert current.title == purpose.title and current.retention_days == purpose.retention_days
    assert desk.get_consent(before.consent.id).purpose_version_id == purpose.version_id
    # Public-interest security is regulated before use: no enrolment until assessed.
    with pytest.raises(InvalidInput) as caught:
        enroll(desk, current, name="Night Guard", seed=9)
    assert caught.value.code == "assessment_missing"
    compliance.impact_assessment(purpose.id, "en")
    enroll(desk, current, name="Night Guard", seed=9)


def test_edits_keep_the_signed_answers_in_force_but_ask_for_review(
    desk: Desk, purpose: Purpose
) -> None:
    desk.edit_purpose(purpose.id, retention_days=30)
    overview = Compliance(desk).overview()
    row = next(p for p in overview.per_purpose if p.purpose_id == purpose.id)
    assert row.necessity == "stale" and row.can_enroll
    enroll(desk, desk.get_purpose(purpose.id))


def test_necessity_needs_admin_and_real_answers(desk: Desk, purpose: Purpose) -> None:
    compliance = Compliance(desk)
    with pytest.raises(InvalidInput):
        compliance.assess_purpose(purpose.id, NecessityAnswers(" ", "x", "attendance", "HR"))
    with pytest.raises(InvalidInput) as caught:
        compliance.assess_purpose(purpose.id, NecessityAnswers("a", "b", "spying", "HR"))  # type: ignore[arg-type]
    assert caught.value.code == "invalid_scenario"
    desk.add_user("olga", "operator password 1", "operator")
    home = desk.home
    desk.lock()
    op = Desk.unlock(home, "olga", "operator password 1", options=DeskOptions(kdf=FAST_KDF))
    try:
        with pytest.raises(PermissionDenied):
            Compliance(op).assess_purpose(
                purpose.id, NecessityAnswers("a", "b", "attendance", "HR")
            )
    finally:
        op.lock()


# ---------------------------------------------------------------------- filing threshold
def test_compliance_counts_match_the_vault_after_enrolments_and_erasures(
    cdesk: Desk, clock: Clock
) -> None:
    gym = sign_necessity(cdesk, _new_purpose(cdesk, "Gym entrance"))
    lobby = sign_necessity(cdesk, _new_purpose(cdesk, "Lobby"))
    compliance = Compliance(cdesk)
    empty = compliance.overview()
    assert empty.stored_people == 0 and empty.projected_threshold_date is None
    assert empty.filing_threshold == 100_000 and not empty.filing_required

    people = []
    for i in range(4):
        clock.now = T0 + dt.timedelta(days=i)
        people.append(enroll(cdesk, gym, name=f"Member {i}", seed=10 + i).person)
    # One of them also consents to the lobby: counted once in total, once per purpose.
    enroll(cdesk, lobby, seed=10, existing_person_id=people[0].id)
    refuse(cdesk, lobby)  # a refusal stores no face data
    clock.now = T0 + dt.timedelta(days=9)
    o = compliance.overview()
    per = {p.purpose_id: p.stored_people for p in o.per_purpose}
    assert o.stored_people == 4 and per == {gym.id: 4, lobby.id: 1}
    assert o.enrollment_rate_per_day == pytest.approx(5 / 9, abs=1e-3)
    assert o.projected_threshold_date == clock.now.date() + dt.timedelta(
        days=int(-(-(100_001 - 4) // (5 / 9)))
    )

    cdesk.erase(people[0].id)
    cdesk.withdraw(people[1].id, "moved out")
    o = compliance.overview()
    per = {p.purpose_id: p.stored_people for p in o.per_purpose}
    assert o.stored_people == 2 and per == {gym.id: 2, lobby.id: 0}
    assert o.stored_people == cdesk.stats().templates // 2  # two templates each

    cdesk.set_setting("filing_threshold", 2)
    o = compliance.overview()
    assert (o.filing_threshold, o.filing_required, o.filing_level) == (2, False, "warning")
    enroll(cdesk, gym, name="Member 9", seed=30)
    o = compliance.overview()
    assert o.filing_required and o.filing_level == "required"
    assert o.projected_threshold_date is None


# ---------------------------------------------------------------------- requests register
def test_deadlines_per_jurisdiction() -> None:
    friday = dt.date(2026, 3, 6)
    assert add_working_days(friday, 1) == dt.date(2026, 3, 9)
    assert add_working_days(dt.date(2026, 3, 2), 15) == dt.date(2026, 3, 23)
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)
    assert due_date(friday, "gdpr", pipl_working_days=15, gdpr_months=1) == dt.date(2026, 4, 6)


def test_request_past_its_deadline_is_overdue(cdesk: Desk, clock: Clock) -> None:
    purpose = sign_necessity(cdesk, _new_purpose(cdesk))
    person = enroll(cdesk, purpose).person
    reg = Compliance(cdesk).registers
    pipl = reg.add_request("access", identity_check="ID card seen", person_id=person.id)
    gdpr = reg.add_request(
        "complaint",
        identity_check="email reply",
        requester="Walk-in Visitor",
        jurisdiction="gdpr",
        channel="email",
    )
    assert pipl.due_on == dt.date(2026, 3, 23) and gdpr.due_on == dt.date(2026, 4, 2)
    assert pipl.requester == person.name and not pipl.overdue

    clock.now = dt.datetime(2026, 3, 24, 8, 0, tzinfo=dt.UTC)
    assert [r.id for r in reg.list_requests("overdue")] == [pipl.id]
    assert reg.get_request(pipl.id).overdue and not reg.get_request(gdpr.id).overdue
    assert Compliance(cdesk).overview().overdue_requests == 1

    cdesk.export_person(person.id)
    closed = reg.close_request(pipl.id, "Access report handed over")
    assert closed.status == "closed" and not closed.overdue
    assert closed.fulfilled_by and closed.fulfilled_by.startswith("person.access_export#")
    clock.now = dt.datetime(2026, 4, 3, 8, 0, tzinfo=dt.UTC)
    assert [r.id for r in reg.list_requests("overdue")] == [gdpr.id]
    with pytest.raises(InvalidInput):
        reg.close_request(pipl.id, "again")


def test_erasure_request_closes_with_its_certificate_and_keeps_no_name(
    cdesk: Desk,
) -> None:
    purpose = sign_necessity(cdesk, _new_purpose(cdesk))
    person = enroll(cdesk, purpose, name="Canary Zebulon").person
    reg = Compliance(cdesk).registers
    request = reg.add_request("erasure", identity_check="ID card seen", person_id=person.id)
    with pytest.raises(InvalidInput) as caught:
        reg.close_request(request.id, "Done: erased")
    assert caught.value.code == "erasure_pending"
    result = cdesk.erase(person.id)
    closed = reg.close_request(request.id, "Done: erased")
    assert closed.fulfilled_by and "person.erase#" in closed.fulfilled_by
    assert closed.documents == (
        f"erasure_certificate:{cdesk.verify_document(result.certificate_pdf or b'').sha256}",
    )
    assert closed.requester is None and closed.person_id == person.id
    kept = [
        str(value)
        for table in ("requests", "audit")
        for row in cdesk._conn.execute(f"SELECT * FROM {table}").fetchall()
        for value in row
    ]
    assert not any("Canary" in value for value in kept)


# ---------------------------------------------------------------------- breaches
def test_breach_letters_in_both_languages_verify(cdesk: Desk) -> None:
    sign_necessity(cdesk, _new_purpose(cdesk))
    reg = Compliance(cdesk).registers
    breach = reg.add_breach(
        BreachInput(
            what="A backup disk was stolen from the office",
            discovered_at=T0,
            occurred_at=T0 - dt.timedelta(days=1),
            data_categories="Names and face templates (encrypted)",
            people_affected=42,
            records_affected=84,
            consequences="Low: the backup is encrypted with AES-256",
            measures="Data key rotated; police informed",
        )
    )
    assert [b.id for b in reg.list_breaches()] == [breach.id]
    letters = reg.breach_letters(breach.id)
    kinds = {(d.kind, d.language) for d in letters}
    assert kinds == {
        (f"breach_letter_{who}", lang) for who in ("people", "regulator") for lang in ("en", "zh")
    }
    for doc in letters:
        check = cdesk.verify_document(doc.pdf)
        assert check.valid and check.status == "stored", check.problems
        text = _text(doc.pdf)
        assert breach.id in text
        if doc.kind.endswith("regulator"):
            assert "42" in text and "84" in text
            assert "Shanghai Cyberspace Administration" in text
        if doc.language == "zh":
            assert "泄露" in text
        else:
            assert "breach" in text.lower()
    with pytest.raises(InvalidInput):
        reg.add_breach(BreachInput("x", T0, "names", -1, 0, "none", "none"))


# ---------------------------------------------------------------------- governance PDFs
def test_assessment_records_and_filing_pack_are_signed_and_verify(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    enroll(desk, purpose)
    compliance = Compliance(desk)
    assessment = compliance.impact_assessment(
        purpose.id, "zh", {"conclusion": "可以在上述措施下继续处理。"}
    )
    records, record = compliance.records_pdf("en")
    pack = compliance.filing_pack("en")
    form = compliance.registers.complaint_form(purpose.id, "en")
    assert record["stored_people"] == 1
    assert record["purposes"][0]["scenario"] == "building_access"
    for doc in (assessment, records, pack, form):
        check = desk.verify_document(doc.pdf)
        assert check.valid and check.status == "stored" and check.kind == doc.kind, check.problems
    assert "必要性" in _text(assessment.pdf) and "可以在上述措施下继续处理" in _text(assessment.pdf)
    assert "Building entrance" in _text(records.pdf)
    pack_reader = PdfReader(io.BytesIO(pack.pdf))
    assert any(name.startswith("impact-assessment-") for name in pack_reader.attachments)
    assert "The data protection authority" in _text(form.pdf)
    row = next(p for p in compliance.overview().per_purpose if p.purpose_id == purpose.id)
    assert row.assessment == "current"
    out = tmp_path / "pack.pdf"
    out.write_bytes(pack.pdf)
    if shutil.which("pdfsig") is None:  # pragma: no cover - poppler missing
        pytest.skip("pdfsig not installed")
    proc = subprocess.run(["pdfsig", str(out)], capture_output=True, text=True)
    assert "Signature is Valid" in proc.stdout


def test_assessment_goes_stale_after_a_year_or_an_edit(cdesk: Desk, clock: Clock) -> None:
    purpose = sign_necessity(cdesk, _new_purpose(cdesk))
    compliance = Compliance(cdesk)
    compliance.impact_assessment(purpose.id, "en")

    def state() -> str:
        return next(p.assessment for p in compliance.overview().per_purpose)

    assert state() == "current"
    clock.now = T0 + dt.timedelta(days=366)
    assert state() == "stale"
    clock.now = T0 + dt.timedelta(days=367)
    compliance.impact_assessment(purpose.id, "en")
    assert state() == "current"
    cdesk.edit_purpose(purpose.id, description="Also the sauna")
    assert state() == "stale"


def test_chinese_governance_records_name_purposes_in_chinese(cdesk: Desk) -> None:
    """A Chinese record of processing or complaint form names the purpose, its recipients and
    the regulator in Chinese (they printed the English texts inside a Chinese document)."""
    p = cdesk.add_purpose(
        title="Gym entrance",
        controller="Acme Property Management",
        contact="privacy@acme.example",
        retention_days=365,
        alternative="Access card from the front desk",
        recipients="Front-desk staff only",
        regulator="Shanghai Cyberspace Administration",
        title_zh="健身房入口",
        controller_zh="爱克姆物业管理",
        alternative_zh="在前台领取门禁卡",
        recipients_zh="仅限前台工作人员",
        regulator_zh="上海市网信办",
    )
    sign_necessity(cdesk, p)
    compliance = Compliance(cdesk)
    zh_records, _ = compliance.records_pdf("zh")
    en_records, _ = compliance.records_pdf("en")
    zh_text, en_text = _text(zh_records.pdf), _text(en_records.pdf)
    assert "健身房入口" in zh_text and "仅限前台工作人员" in zh_text
    assert "Gym entrance" not in zh_text and "Front-desk staff only" not in zh_text
    assert "Gym entrance" in en_text and "健身房入口" not in en_text
    form = _text(compliance.registers.complaint_form(p.id, "zh").pdf)
    assert "健身房入口" in form and "上海市网信办" in form and "Shanghai" not in form
