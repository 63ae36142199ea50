"""Issue 13's re-consent, the remaining gaps: compliance counts consents waiting for re-consent
apart from active ones (as ``desk.stats()`` does); a kept photo survives a renewal only with the
photo consent given again; a minor renews with a guardian."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.compliance.facts import purpose_counts
from app.desk import Desk, ReconsentRequest
from app.documents.labels import label
from app.errors import InvalidInput
from app.models import EnrollmentResult, Guardian, Purpose
from tests.core.pdftools import pdf_text
from tests.core.test_documents import squash
from tests.core.vaultkit import (
    PURPOSE_ZH,
    enroll,
    make_signature,
    scan_pdf_bytes,
    sign_necessity,
)


def test_compliance_counts_reconsent_apart_from_active(desk: Desk, purpose: Purpose) -> None:
    enroll(desk, purpose, "Ada Waiting", seed=1)
    enroll(desk, purpose, "Bo Waiting", seed=2)
    desk.edit_purpose(purpose.id, material=True, retention_days=200)
    enroll(desk, sign_necessity(desk, desk.get_purpose(purpose.id)), "Cy Current", seed=3)
    counts = desk.session.read(lambda c: purpose_counts(c, purpose.id))
    assert counts["consents_active"] == 1 == desk.stats().active_consents
    assert counts["consents_reconsent"] == 2
    assert counts["people_stored"] == 3  # their templates are still held until the grace ends


def test_bulk_import_audits_one_face_search_per_row(
    desk: Desk, purpose: Purpose, tmp_path: Path, faces: Path
) -> None:
    """Issue 13, point 4: every search is audited, once: the re-check of a row under the
    writer lock is the same search, not a second one in the person's "who looked you up"."""
    scan = tmp_path / "form.pdf"
    scan.write_bytes(scan_pdf_bytes())
    today = desk.session.now().date().isoformat()
    path = tmp_path / "people.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "reference", "photo", "consent_scan", "signed_on", "language"])
        w.writerow(["First Row", "R-1", str(faces / "obama_1.jpg"), str(scan), today, "en"])
        w.writerow(["Second Row", "R-2", str(faces / "biden_2.jpg"), str(scan), today, "en"])
        w.writerow(["Same Face", "R-3", str(faces / "obama_2.jpg"), str(scan), today, "en"])
    before = sum(e.action == "face.search" for e in desk.audit_events())
    report = desk.import_people(path, purpose.id)
    assert report.imported == 2 and [s.row for s in report.skipped] == [4]
    searches = [e for e in desk.audit_events() if e.action == "face.search"][before:]
    assert len(searches) == 3, [e.details for e in searches]
    assert all(e.details["task"] == "duplicate_check" for e in searches)
    hits = [e for e in desk.audit_events() if e.action == "face.search.hit"]
    assert len(hits) == 1 and hits[0].subject == report.person_ids[0]


def test_an_enrollment_is_one_face_search(desk: Desk, purpose: Purpose) -> None:
    """The re-check under the writer lock repeats the same search: audited once."""
    enroll(desk, purpose, "Solo Search", seed=7)
    searches = [e for e in desk.audit_events() if e.action == "face.search"]
    assert [e.details["task"] for e in searches] == ["duplicate_check"]


def _photo_purpose(desk: Desk) -> Purpose:
    keeps = desk.add_purpose(
        title="Member photo wall", controller="Acme", contact="privacy@acme.example",
        retention_days=365, alternative="Name badge", keep_photos=True, **PURPOSE_ZH,
    )  # fmt: skip
    return sign_necessity(desk, keeps)


def _renew(desk: Desk, consent_id: str, **kw: object) -> EnrollmentResult:
    consent = desk.get_consent(consent_id)
    disclosure = desk.disclosure(consent.purpose_id, consent.language)
    return desk.reconsent(
        ReconsentRequest(consent_id, disclosure.sha256, make_signature(3), **kw)  # type: ignore[arg-type]
    )


def test_a_kept_photo_survives_re_consent_only_with_the_photo_consent_again(
    desk: Desk, faces: Path
) -> None:
    keeps = _photo_purpose(desk)
    photo = (faces / "biden_1.jpg").read_bytes()
    yes = enroll(desk, keeps, "Photo Yes", seed=4, photo_jpeg=photo, photo_consent=True)
    no = enroll(desk, keeps, "Photo No", seed=5, photo_jpeg=photo, photo_consent=True)
    sign_necessity(desk, desk.edit_purpose(keeps.id, material=True, retention_days=200))
    kept = _renew(desk, yes.consent.id, photo_consent=True)
    assert kept.consent.photo_count == 1 and kept.consent.photo_consent is True
    dropped = _renew(desk, no.consent.id)
    assert dropped.consent.photo_count == 0 and dropped.consent.photo_consent is False
    assert dropped.templates_stored == 2  # the templates carry over, only the photo goes
    assert desk.get_consent(no.consent.id).photo_count == 0
    text = squash(pdf_text(desk.document_pdf(dropped.documents[0].id)))
    assert squash(label("en", "photo_destroyed")) in text
    kept_text = squash(pdf_text(desk.document_pdf(kept.documents[0].id)))
    assert squash(label("en", "photo_destroyed")) not in kept_text
    (entry,) = [e for e in desk.person_audit(no.person.id) if e.action == "consent.reconsent"]
    assert entry.details["photos_deleted"] == 1 and entry.details["photo_kept"] is False


def test_a_minor_renews_with_a_guardian(desk: Desk, purpose: Purpose) -> None:
    child = desk.session.now().date().replace(year=desk.session.now().year - 10)
    minor = enroll(
        desk, purpose, "Young Renewer", seed=6, dob=child,
        guardian=Guardian("Parent Person", make_signature(7)),
    )  # fmt: skip
    sign_necessity(desk, desk.edit_purpose(purpose.id, material=True, retention_days=200))
    with pytest.raises(InvalidInput) as err:
        _renew(desk, minor.consent.id)
    assert err.value.code == "guardian_required"
    renewed = _renew(desk, minor.consent.id, guardian=Guardian("Parent Person", make_signature(8)))
    assert renewed.consent.guardian_name == "Parent Person"
    assert renewed.consent.status == "active"
