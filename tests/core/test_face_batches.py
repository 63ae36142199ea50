"""Issue 18: many photos go through the encoder in batches (bulk import, ``identify``) with the
same results as one photo at a time, and large photos are searched for faces on a smaller copy
with the same decisions as the naive full-size search."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

import app.rooms.faces as faces_room
from app.bio.images import load_image
from app.bio.thresholds import DETECT_MAX_SIDE_PHOTO, MATCH_THRESHOLD
from app.desk import Desk
from app.models import Purpose
from tests.core.test_bio_support import bio_engine, distance, manifest  # noqa: F401  (fixture)
from tests.core.vaultkit import scan_pdf_bytes


def _spy_batches(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many images each call of the real engine's batched analysis got."""
    engine = desk.face_engine
    real = engine.analyse_photos
    sizes: list[int] = []

    def spy(images, **kw):  # type: ignore[no-untyped-def]
        sizes.append(len(images))
        return real(images, **kw)

    monkeypatch.setattr(engine, "analyse_photos", spy)
    return sizes


def _import(desk: Desk, purpose: Purpose, tmp_path: Path, rows: list[list[str]]):  # type: ignore[no-untyped-def]
    scan = tmp_path / "form.pdf"
    scan.write_bytes(scan_pdf_bytes())
    today = desk.session.now().date().isoformat()
    path = tmp_path / "people.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "reference", "photo", "consent_scan", "signed_on"])
        for name, ref, photos in rows:
            w.writerow([name, ref, photos, str(scan), today])
    return desk.import_people(path, purpose.id)


def test_bulk_import_analyses_the_photos_of_several_rows_together(
    desk: Desk, purpose: Purpose, tmp_path: Path, faces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _spy_batches(desk, monkeypatch)
    report = _import(
        desk,
        purpose,
        tmp_path,
        [
            ["Barack Obama", "E-1", f"{faces / 'obama_1.jpg'};{faces / 'obama_2.jpg'}"],
            ["Missing Photo", "E-2", str(tmp_path / "nowhere.jpg")],
            ["Joe Biden", "E-3", str(faces / "biden_2.jpg")],
            ["Obama Again", "E-4", str(faces / "obama_4.jpg")],
        ],
    )
    # One batched run over the four rows' readable photos; the unreadable one is reported as
    # before, and a duplicate of an earlier row of the same file is still caught.
    assert sizes == [4]
    assert report.imported == 2
    reasons = {s.row: s.reason for s in report.skipped}
    assert set(reasons) == {3, 5}
    assert "photo 1" in reasons[3].lower() and "already enrolled" in reasons[5]
    # The stored templates are the ones a photo analysed alone gives.
    obama = report.person_ids[0]
    stored = desk.faces.active_templates(obama)
    alone = [
        desk.analyse_photo(faces / n).single_encoding() for n in ("obama_1.jpg", "obama_2.jpg")
    ]
    assert len(stored) == 2
    for a, b in zip(
        sorted(stored, key=lambda t: t[0]), sorted(alone, key=lambda t: t[0]), strict=True
    ):
        assert float(np.max(np.abs(np.asarray(a) - b))) <= 1e-6


def test_identify_in_batches_equals_one_photo_at_a_time(
    desk: Desk, purpose: Purpose, tmp_path: Path, faces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _import(
        desk,
        purpose,
        tmp_path,
        [["Barack Obama", "E-1", str(faces / "obama_1.jpg")], ["Joe Biden", "E-2", str(faces / "biden_2.jpg")]],
    )  # fmt: skip
    assert report.imported == 2
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not a photo")
    photos = [faces / row["file"] for row in manifest(faces)]
    photos[3:3] = [tmp_path / "nowhere.jpg", not_an_image]  # errors inside the first batch
    monkeypatch.setattr(faces_room, "PHOTO_BATCH", 4)  # several batches and a partial last one
    sizes = _spy_batches(desk, monkeypatch)
    batched = list(desk.identify_photos(photos, purpose.id))
    assert len(sizes) == 6 and max(sizes) == 4 and sum(sizes) == len(photos) - 2
    single = [desk.identify_photo(p, purpose.id) for p in photos]
    assert [r.decision for r in batched] == [r.decision for r in single]
    assert [r.decision for r in batched][3:5] == ["error", "error"]
    assert {r.decision for r in batched} >= {"match", "no_match", "several_faces", "error"}
    for b, s in zip(batched, single, strict=True):
        assert [c.person_id for c in b.candidates] == [c.person_id for c in s.candidates]
        for cb, cs in zip(b.candidates, s.candidates, strict=True):
            assert abs(cb.distance - cs.distance) <= 1e-4  # rounded to 4 places


def test_large_photos_are_searched_small_with_the_naive_decisions(bio_engine, faces: Path) -> None:  # noqa: F811
    """Detection runs on a copy at most DETECT_MAX_SIDE_PHOTO px long (about 4x less work on
    a 1200 px photo than the full size, 10x with face_recognition's 2x upsample). On every
    shared photo larger than that, it finds the same number of faces as face_recognition's
    full-size ``face_locations(img, 1)``, each face gives the same person's template (far below
    the match threshold from the full-size one), and every pair of faces gets the same match
    decision."""
    ours, theirs, checked = [], [], 0
    for row in manifest(faces):
        image = load_image(faces / row["file"], max_side=100_000)  # full size, as naive loads
        if max(image.shape[:2]) <= DETECT_MAX_SIDE_PHOTO:
            continue
        small = bio_engine.analyse_photo(image)
        full_boxes = bio_engine.detect(image, max_side=100_000, upsample=1)
        full = bio_engine.encode(image, full_boxes)
        assert small.face_count == len(full) == int(row["faces"]), row["file"]
        unused = list(full)
        for template in small.encodings:
            best = min(unused, key=lambda f: distance(template, f))
            assert distance(template, best) < MATCH_THRESHOLD / 4, row["file"]
            unused = [f for f in unused if f is not best]
            ours.append(template)
            theirs.append(best)
        checked += 1
    assert checked >= 15
    for i, j in itertools.combinations(range(len(ours)), 2):
        assert (distance(ours[i], ours[j]) < MATCH_THRESHOLD) == (
            distance(theirs[i], theirs[j]) < MATCH_THRESHOLD
        )
