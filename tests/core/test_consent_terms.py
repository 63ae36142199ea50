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
