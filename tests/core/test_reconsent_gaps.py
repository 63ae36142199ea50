"""Issue 13's re-consent, the remaining gaps: compliance counts consents waiting for re-consent
apart from active ones (as ``desk.stats()`` does); a kept photo survives a renewal only with the
photo consent given again; a minor renews with a guardian."""

from __future__ import annotations

import csv
from pathlib import Path

from app.compliance.facts import purpose_counts
from app.desk import Desk
from app.models import Purpose
from tests.core.vaultkit import enroll, scan_pdf_bytes, sign_necessity


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
