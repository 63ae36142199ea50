"""Issue 13: minors need a guardian on every path; paper consents are recorded as what they are.

A real vault on a fake clock: the purpose exists from 1 January 2026, the desk works on 1 June.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.context import to_jsonable
from app.desk import Desk, DeskOptions, EnrollmentRequest, PersonDetails
from app.errors import InvalidInput, PermissionDenied
from app.models import Guardian, Language, Purpose, Signature
from tests.core.pdftools import pdf_text
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    embedding,
    enroll,
    make_signature,
    scan_pdf_bytes,
    sign_necessity,
)

PAPER = Signature((), 0, 0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    d, _ = Desk.initialise(
        tmp_path / "vault", "Acme HR", ADMIN, PASSWORD, options=DeskOptions(FAST_KDF, clock)
    )
    yield d
    if not d.locked:
        d.lock()


@pytest.fixture
def purpose(desk: Desk, clock: FakeClock) -> Purpose:
    added = desk.add_purpose(
        title="Office entry",
        controller="Acme HR",
        contact="hr@acme.example",
        retention_days=365,
        alternative="Badge from reception",
        title_zh="办公室入口",  # issue-13: Chinese rows need the purpose's Chinese texts
        controller_zh="Acme 人力资源部",
        alternative_zh="在前台领取工牌",
    )
    signed = sign_necessity(desk, added)
    clock.now = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    return signed


def paper(
    desk: Desk,
    purpose: Purpose,
    signed_on: dt.date,
    *,
    name: str = "Paper Person",
    seed: int = 30,
    language: Language = "en",
    born: dt.date | None = None,
    guardian: str | None = None,
) -> EnrollmentRequest:
    return EnrollmentRequest(
        person=PersonDetails(
            name, "E-1", born, language, age_basis=None if born else "organisation_records"
        ),
        purpose_id=purpose.id,
        disclosure_sha256=desk.disclosure(purpose.id, language).sha256,
        signature=PAPER,
        embeddings=[embedding(seed)],
        guardian=Guardian(guardian, PAPER) if guardian else None,
        paper_signed_on=signed_on,
        paper_scan=scan_pdf_bytes(),
        paper_scan_name="form.pdf",
    )


# ---------------------------------------------------------------------------- paper consents


def test_paper_consent_runs_from_its_signing_date_and_claims_no_camera(
    desk: Desk, purpose: Purpose
) -> None:
    r = desk.enroll(paper(desk, purpose, dt.date(2026, 3, 14)))
    consent = r.consent
    assert consent.paper_signed_on == dt.date(2026, 3, 14)
    assert consent.expires_at is not None and consent.expires_at.date() == dt.date(2027, 3, 14)
    record = desk.consent_disclosure_text(consent.id)
    assert "paper form" in record and "liveness" not in record.lower()
    assert consent.text_sha256 != desk.disclosure(purpose.id, "en").sha256  # not "shown"
    form = next(d for d in r.documents if d.kind == "consent_form")
    text = " ".join(pdf_text(desk.document_pdf(form.id)).split())
    assert "paper form" in text and "for reference only" in text
    assert "liveness" not in text.lower() and "camera capture" not in text.lower()
    assert "word for word" not in text
    assert "Made from a supplied photo" in text
    # the access export says the same
    data = to_jsonable(desk.export_person(r.person.id))
    assert isinstance(data, dict)
    (c,) = data["consents"]
    assert c["paper_signed_on"] == "2026-03-14" and c["expires_at"].startswith("2027-03-14")
    assert c["purpose_version"] == 1


def test_paper_consent_names_the_version_in_force_on_the_signing_date(
    desk: Desk, purpose: Purpose, clock: FakeClock
) -> None:
    clock.now = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
    desk.edit_purpose(purpose.id, description="Now also the car park barrier.")
    sign_necessity(desk, desk.get_purpose(purpose.id))
    clock.now = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    before = desk.enroll(paper(desk, purpose, dt.date(2026, 3, 14), seed=31))
    after = desk.enroll(paper(desk, purpose, dt.date(2026, 5, 2), name="Later", seed=32))
    assert before.consent.purpose_version == 1 and after.consent.purpose_version == 2


@pytest.mark.parametrize(
    ("signed_on", "code"),
    [
        (dt.date(2025, 12, 31), "paper_before_purpose"),
        (dt.date(2026, 6, 2), "paper_future"),
    ],
)
def test_impossible_signing_dates_are_refused(
    desk: Desk, purpose: Purpose, signed_on: dt.date, code: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        desk.enroll(paper(desk, purpose, signed_on))
    assert info.value.code == code
    assert desk.stats().people == 0


def test_a_paper_consent_already_expired_is_refused_with_its_date(
    desk: Desk, purpose: Purpose, clock: FakeClock
) -> None:
    clock.now = dt.datetime(2027, 3, 20, 10, 0, tzinfo=dt.UTC)
    with pytest.raises(InvalidInput) as info:
        desk.enroll(paper(desk, purpose, dt.date(2026, 3, 14)))
    assert info.value.code == "paper_expired" and info.value.params == {"date": "2027-03-14"}


def test_paper_record_in_chinese(desk: Desk, purpose: Purpose) -> None:
    r = desk.enroll(paper(desk, purpose, dt.date(2026, 3, 14), language="zh"))
    assert r.consent.language == "zh"
    record = desk.consent_disclosure_text(r.consent.id)
    assert "纸质同意书" in record and "活体" not in record
    form = next(d for d in r.documents if d.kind == "consent_form")
    text = pdf_text(desk.document_pdf(form.id))
    assert "纸质同意书" in text and "仅供参考" in text


# ---------------------------------------------------------------------------- minors


def test_every_desk_enrollment_needs_a_date_of_birth_or_an_attestation(
    desk: Desk, purpose: Purpose
) -> None:
    def request(basis: str | None, name: str, seed: int) -> EnrollmentRequest:
        return EnrollmentRequest(
            person=PersonDetails(name, None, None, "en", age_basis=basis),  # type: ignore[arg-type]
            purpose_id=purpose.id,
            disclosure_sha256=desk.disclosure(purpose.id, "en").sha256,
            signature=make_signature(seed),
            embeddings=[embedding(seed)],
        )

    with pytest.raises(InvalidInput) as info:
        desk.enroll(request(None, "No Age", 40))
    assert info.value.code == "date_of_birth_required"
    with pytest.raises(InvalidInput) as info:  # only an admin's bulk import may say this
        desk.enroll(request("organisation_records", "Records", 41))
    assert info.value.code == "age_basis_import_only"
    r = desk.enroll(request("id_document_seen", "Seen Adult", 42))
    assert r.consent.age_basis == "id_document_seen" and r.consent.age_attested_by == ADMIN
    form = next(d for d in r.documents if d.kind == "consent_form")
    text = " ".join(pdf_text(desk.document_pdf(form.id)).split())
    assert f"Adult, identity document seen (attested by {ADMIN})" in text
    born = enroll(desk, purpose, name="Dated", seed=43, dob=dt.date(1990, 5, 1))
    assert born.consent.age_basis == "date_of_birth" and born.consent.age_attested_by is None


def test_a_minor_cannot_be_enrolled_without_a_guardian_by_any_path(
    desk: Desk, purpose: Purpose, tmp_path: Path, faces: Path
) -> None:
    child = dt.date(2016, 2, 1)
    # the wizard's verb
    with pytest.raises(InvalidInput) as info:
        enroll(desk, purpose, name="Child", seed=50, dob=child)
    assert info.value.code == "guardian_required"
    # settings: the guardian age cannot go below the jurisdiction's floor (0 least of all)
    for age in (0, 13):
        with pytest.raises(InvalidInput):
            desk.set_setting("guardian_age", age)
    assert desk.needs_guardian(child)
    # a paper consent at the desk
    with pytest.raises(InvalidInput) as info:
        desk.enroll(paper(desk, purpose, dt.date(2026, 3, 14), born=child))
    assert info.value.code == "guardian_required"
    # bulk import: a minor's row without guardian_name is refused, with it it is imported
    scan = tmp_path / "form.pdf"
    scan.write_bytes(scan_pdf_bytes())
    rows = [
        ("Kid Alone", "E-1", str(faces / "obama_1.jpg"), str(scan), "2026-03-14", "2016-02-01", "", "en"),
        ("Kid Guarded", "E-2", str(faces / "biden_2.jpg"), str(scan), "2026-03-14", "2016-02-01", "Pat Parent", "zh"),
        ("Adult Born", "E-3", str(faces / "kit_harington_1.jpg"), str(scan), "2026-03-14", "1980-01-01", "", ""),
        ("Adult Records", "E-4", str(faces / "rose_leslie_1.jpg"), str(scan), "2026-03-14", "", "", "en"),
        ("Too Early", "E-5", str(faces / "obama_2.jpg"), str(scan), "2025-12-01", "", "", "en"),
        ("Bad Language", "E-6", str(faces / "obama_2.jpg"), str(scan), "2026-03-14", "", "", "fr"),
    ]  # fmt: skip
    path = tmp_path / "people.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["name", "reference", "photo", "consent_scan", "signed_on", "date_of_birth",
             "guardian_name", "language"]
        )  # fmt: skip
        w.writerows(rows)
    report = desk.import_people(path, purpose.id)
    reasons = {s.row: s.reason for s in report.skipped}
    assert set(reasons) == {2, 6, 7}, reasons
    assert "guardian_name" in reasons[2]
    assert "before this purpose existed" in reasons[6]
    assert "en or zh" in reasons[7]
    assert report.imported == 3 and report.attested_adults == 1
    by_name = {desk.get_person(pid).name: pid for pid in report.person_ids}
    (kid,) = desk.person_consents(by_name["Kid Guarded"])
    assert kid.guardian_name == "Pat Parent" and kid.language == "zh"
    assert kid.expires_at is not None and kid.expires_at.date() == dt.date(2027, 3, 14)
    (records,) = desk.person_consents(by_name["Adult Records"])
    assert records.age_basis == "organisation_records" and records.age_attested_by == ADMIN
    form = next(
        d for d in desk.person_documents(by_name["Adult Records"]) if d.kind == "consent_form"
    )
    text = " ".join(pdf_text(desk.document_pdf(form.id)).split())
    assert "Adult according to the organisation's records" in text


def test_only_an_admin_may_attest_from_the_organisations_records(
    desk: Desk, purpose: Purpose, clock: FakeClock
) -> None:
    desk.add_user("frontdesk", PASSWORD, "operator")
    home = desk.home
    desk.lock()
    operator = Desk.unlock(home, "frontdesk", PASSWORD, options=DeskOptions(FAST_KDF, clock))
    try:
        with pytest.raises(PermissionDenied):
            operator.enroll(paper(operator, purpose, dt.date(2026, 3, 14)))
    finally:
        operator.lock()


# ---------------------------------------------------------------------------- refusals


def test_a_refusal_keeps_no_name_unless_the_person_asks(desk: Desk, purpose: Purpose) -> None:
    from tests.core.vaultkit import refuse

    nameless = refuse(desk, purpose, name="Quiet Refuser", in_name=False)
    assert nameless.person is None and nameless.consent is None and not nameless.documents
    text = " ".join(pdf_text(nameless.pdf).split())
    assert "Quiet Refuser" in text and "keeps no name" in text  # the person's own copy
    assert desk.find_people("Quiet").total == 0 and desk.stats().people == 0
    assert desk.stats().refusals == 1
    # what the vault keeps: purpose version, time, alternative, operator and the record's hash
    from app.db import fetch_one

    row = desk.session.read(
        lambda c: fetch_one(c, "SELECT * FROM refusals WHERE id = ?", (nameless.refusal_id,))
    )
    assert row is not None and row["record_sha256"] == nameless.pdf_sha256
    assert row["alternative"] == purpose.alternative and row["operator"] == ADMIN
    assert "Quiet" not in " ".join(str(v) for v in tuple(row))
    check = desk.verify_document(nameless.pdf)  # the person's copy is recognised by its hash
    assert check.valid and check.status == "refusal_record" and check.kind == "refusal_record"
    event = next(e for e in desk.audit_events() if e.action == "refusal.record")
    assert event.subject is None and "Quiet" not in str(event.details)
    named = refuse(desk, purpose, name="Loud Refuser", in_name=True)
    assert named.person is not None and named.consent is not None
    assert desk.find_people("Loud").total == 1
    assert desk.stats().refusals == 2


def test_operators_cannot_list_refusers_by_name(
    desk: Desk, purpose: Purpose, clock: FakeClock, tmp_path: Path
) -> None:
    from tests.core.test_cli import run
    from tests.core.vaultkit import refuse

    refuse(desk, purpose, name="Named Refuser", in_name=True)
    refuse(desk, purpose, name="Nameless Refuser", in_name=False)
    enroll(desk, purpose, name="Active Person", seed=60)
    admin_view = desk.find_people(status="refused")
    assert [s.person.name for s in admin_view.items] == ["Named Refuser"]
    desk.add_user("frontdesk", PASSWORD, "operator")
    home = desk.home
    desk.lock()
    operator = Desk.unlock(home, "frontdesk", PASSWORD, options=DeskOptions(FAST_KDF, clock))
    try:
        page = operator.find_people(status="refused")
        assert page.items == () and page.total == 0 and page.refusals_withheld == 2
        assert operator.find_people("Refuser").total == 0  # nor by searching a name
        assert [s.person.name for s in operator.find_people().items] == ["Active Person"]
    finally:
        operator.lock()
    # the CLI, as an operator
    operator_env = {"CONSENTDESK_USER": "frontdesk", "CONSENTDESK_PASSWORD": PASSWORD}
    proc = run(home, "people", "--status", "refused", env=operator_env)
    assert proc.returncode == 0, proc.stderr
    assert "Refuser" not in proc.stdout and "2 refusal(s) recorded" in proc.stdout


# ---------------------------------------------------------------------------- rectification


def test_rectification_corrects_documents_after_and_keeps_no_names_in_the_audit(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    from tests.core.test_cli import run

    r = enroll(desk, purpose, name="Jon Smiht", seed=70, reference="E-70", language="zh")
    pid = r.person.id
    with pytest.raises(InvalidInput) as info:
        desk.rectify_person(pid, name="Jon Smiht")
    assert info.value.code == "rectify_nothing"
    fixed = desk.rectify_person(pid, name="Jon Smith", reference="E-071")
    assert fixed.fields == ("name", "reference") and fixed.person.name == "Jon Smith"
    assert desk.find_people("Smith").total == 1 and desk.find_people("Smiht").total == 0
    assert fixed.receipt is not None and fixed.receipt.kind == "rectification_receipt"
    receipt = " ".join(pdf_text(desk.document_pdf(fixed.receipt.id)).split())
    assert "Jon Smiht" in receipt and "Jon Smith" in receipt and "更正" in receipt  # zh
    english = desk.rectify_person(pid, reference="E-71", language="en")
    assert english.receipt is not None
    text = " ".join(pdf_text(desk.document_pdf(english.receipt.id)).split())
    assert "E-071" in text and "E-71" in text and "corrected" in text
    # the audit says which fields changed, never the values
    events = [e for e in desk.person_audit(pid) if e.action == "person.rectify"]
    assert [e.details["fields"] for e in events] == [["name", "reference"], ["reference"]]
    assert not any("Smi" in str(e.details) or "E-07" in str(e.details) for e in events)
    # a document issued after shows the new name
    export = desk.access_report_pdf(pid)
    assert "Jon Smith" in pdf_text(export) and "Smiht" not in pdf_text(export)
    # the CLI verb
    home = desk.home
    desk.lock()
    out = tmp_path / "receipt.pdf"
    env = {"CONSENTDESK_PASSWORD": PASSWORD}
    proc = run(home, "person", "edit", pid, "--name", "John Smith", "--receipt", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "John Smith" in pdf_text(out.read_bytes())
    bad = run(home, "person", "edit", pid, env=env)
    assert bad.returncode != 0 and "--name" in bad.stderr and "Traceback" not in bad.stderr
