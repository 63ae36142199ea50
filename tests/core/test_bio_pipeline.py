"""The recipes the service object and CLI call: enroll from a photo, identify, warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.bio.capture import AutoCapture
from app.bio.errors import FaceCountError, ImageError
from app.bio.gallery import Gallery
from app.bio.images import load_image
from app.bio.pipeline import (
    enrollment_from_photo,
    enrollment_warnings,
    identify_image,
    templates_from_capture,
)
from app.bio.quality import assess
from app.bio.sources import still_as_camera
from tests.core.test_bio_support import analysis_of, bio_engine  # noqa: F401


def test_enroll_then_identify(faces: Path, bio_engine) -> None:  # noqa: F811
    gallery = Gallery()
    for pid, name in (
        ("obama", "obama_1.jpg"),
        ("biden", "biden_2.jpg"),
        ("rose", "rose_leslie_1.jpg"),
    ):
        candidate = enrollment_from_photo(bio_engine, faces / name)
        assert candidate.quality.acceptable
        assert not enrollment_warnings(gallery, [candidate.template])
        gallery.add(pid, [candidate.template])
    again = enrollment_from_photo(bio_engine, faces / "obama_4.jpg")
    warnings = enrollment_warnings(gallery, [again.template])
    assert warnings and warnings[0].kind == "duplicate" and warnings[0].person_id == "obama"
    assert not enrollment_warnings(gallery, [again.template], person_id="obama")
    found = identify_image(bio_engine, gallery, analysis_of(faces / "group_two_people.jpg"))
    names = {hit.person_id for f in found for hit in f.hits}
    assert names == {"obama", "biden"}
    nobody = identify_image(bio_engine, gallery, faces / "kit_harington_1.jpg")
    assert len(nobody) == 1 and nobody[0].hits == ()


def test_enroll_refuses_group_and_bad_files(faces: Path, bio_engine, tmp_path) -> None:  # noqa: F811
    with pytest.raises(FaceCountError):
        enrollment_from_photo(bio_engine, faces / "group_kit_with_rose.jpg")
    with pytest.raises(FaceCountError) as info:
        enrollment_from_photo(bio_engine, np.full((200, 200, 3), 128, np.uint8))
    assert info.value.code == "no_face"
    (tmp_path / "x.jpg").write_bytes(b"oops")
    with pytest.raises(ImageError) as bad:
        enrollment_from_photo(bio_engine, tmp_path / "x.jpg", label="upload 1")
    assert bad.value.message.startswith("upload 1:")


def test_capture_to_templates(faces: Path, bio_engine) -> None:  # noqa: F811
    capture = AutoCapture(hold_frames=3, best_n=2)
    source = still_as_camera(faces / "obama_480p.jpg", seconds=1)
    source.open()
    while not capture.done and (frame := source.read()) is not None:
        capture.feed(frame, assess(frame.image, bio_engine.analyse_frame(frame.image)))
    assert capture.done
    templates = templates_from_capture(bio_engine, capture)
    assert len(templates) == 2
    reference = analysis_of(faces / "obama_480p.jpg").single_encoding()
    assert all(np.linalg.norm(t - reference) < 0.1 for t in templates)
    assert load_image(faces / "obama_480p.jpg").shape[2] == 3
