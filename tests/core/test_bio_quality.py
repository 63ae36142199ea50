"""Quality gate and auto-capture on the shared photos."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.bio.capture import AutoCapture
from app.bio.engine import PhotoAnalysis
from app.bio.images import load_image
from app.bio.quality import HINTS, QualityReport, assess, assess_face, head_pose
from app.bio.sources import Frame
from tests.core.test_bio_support import bio_engine, manifest, single_face_rows  # noqa: F401


@pytest.fixture(scope="module")
def frames(faces: Path, bio_engine) -> dict[str, tuple[np.ndarray, PhotoAnalysis]]:  # noqa: F811
    out = {}
    for row in manifest(faces):
        img = load_image(faces / row["file"])
        out[row["file"]] = (img, bio_engine.analyse_frame(img))
    return out


def test_single_face_portraits_never_fail_size_exposure_eyes(faces: Path, frames) -> None:
    for row in single_face_rows(faces):
        img, analysis = frames[row["file"]]
        report = assess(img, analysis)
        for name in ("face_count", "face_size", "exposure", "clipping", "eyes_open"):
            check = report.check(name)
            assert check is not None and check.verdict != "fail", (row["file"], check)
        assert report.score >= 0.0


def test_group_photos_fail_one_person_only(faces: Path, frames) -> None:
    img, analysis = frames["group_two_people.jpg"]
    report = assess(img, analysis)
    assert report.verdict == "fail" and report.hints == ("one_person_only",)
    empty = assess(img, PhotoAnalysis(img.shape[1], img.shape[0], ()))
    assert empty.hints == ("no_face",)


def test_frontal_well_lit_portrait_is_acceptable(frames) -> None:
    img, analysis = frames["obama_small.jpg"]
    report = assess(img, analysis)
    assert report.acceptable and report.score > 0.5
    pose = [report.check(n) for n in ("yaw", "pitch", "roll")]
    assert all(c is not None and c.verdict == "pass" for c in pose)


def test_blur_and_darkness_fail_with_hints(frames, bio_engine) -> None:  # noqa: F811
    img, analysis = frames["obama_1.jpg"]
    face = analysis.faces[0]
    blurred = cv2.GaussianBlur(img, (0, 0), 3)
    report = assess_face(blurred, face)
    sharp = report.check("sharpness")
    assert sharp is not None and sharp.verdict == "fail" and sharp.hint == "hold_still"
    dark = (img * 0.2).astype(np.uint8)
    report = assess_face(dark, face)
    exp = report.check("exposure")
    assert exp is not None and exp.verdict == "fail" and "more_light" in report.hints
    bright = np.clip(img.astype(np.int16) + 170, 0, 255).astype(np.uint8)
    report = assess_face(bright, face)
    assert "less_light" in report.hints or "even_light" in report.hints


def test_small_face_asks_to_move_closer(frames, bio_engine) -> None:  # noqa: F811
    img, _ = frames["obama_1.jpg"]
    small = cv2.resize(img, (img.shape[1] // 6, img.shape[0] // 6), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[: small.shape[0], : small.shape[1]] = small
    analysis = bio_engine.analyse_frame(canvas)
    if analysis.face_count == 1:
        report = assess(canvas, analysis)
        size = report.check("face_size")
        assert size is not None and size.verdict != "pass" and size.hint == "move_closer"


def test_head_pose_sign_and_no_pitch_wrap(frames) -> None:
    img, analysis = frames["obama_4.jpg"]  # head clearly turned
    lm = analysis.faces[0].landmarks
    assert lm is not None
    yaw, pitch, _roll = head_pose(lm, img.shape[1], img.shape[0])
    flipped = lm.copy()
    flipped[:, 0] = img.shape[1] - 1 - flipped[:, 0]
    # a mirror image swaps left/right landmark roles
    order = np.array(
        list(range(16, -1, -1))
        + list(range(26, 16, -1))
        + list(range(27, 31))
        + list(range(35, 30, -1))
        + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
        + list(range(54, 47, -1))
        + list(range(59, 54, -1))
        + list(range(64, 59, -1))
        + list(range(67, 64, -1))
    )
    yaw_m, pitch_m, _ = head_pose(flipped[order], img.shape[1], img.shape[0])
    assert abs(yaw) > 15 and math.copysign(1, yaw) != math.copysign(1, yaw_m)
    assert abs(yaw + yaw_m) < 3 and abs(pitch - pitch_m) < 3
    for name in frames:
        _, a = frames[name]
        for face in a.faces:
            assert face.landmarks is not None
            _, p, r = head_pose(face.landmarks, a.width, a.height)
            assert abs(p) < 60 and abs(r) < 45, name  # no +-180 wrap


def test_flat_photo_turned_does_not_look_like_a_head_turn(frames) -> None:
    """Foreshortening a frontal face (a printed photo turned 30 degrees) keeps yaw small."""
    img, analysis = frames["obama_small.jpg"]
    lm = analysis.faces[0].landmarks
    assert lm is not None
    cx = float(lm[:, 0].mean())
    squeezed = lm.copy()
    squeezed[:, 0] = cx + (lm[:, 0] - cx) * math.cos(math.radians(30))
    yaw0, _, _ = head_pose(lm, img.shape[1], img.shape[0])
    yaw1, _, _ = head_pose(squeezed, img.shape[1], img.shape[0])
    assert abs(yaw1 - yaw0) < 10


def test_every_hint_has_text() -> None:
    for key, text in HINTS.items():
        assert key.isidentifier() and text.endswith(".")


def _report(score_checks: str, score: float) -> QualityReport:
    from app.bio.quality import QualityCheck

    verdict = "fail" if score_checks == "fail" else "pass"
    return QualityReport((QualityCheck("x", 1.0, verdict),), None, score)


def test_auto_capture_waits_for_a_steady_run_and_keeps_the_best() -> None:
    img = np.zeros((64, 64, 3), np.uint8)
    capture = AutoCapture(hold_frames=4, best_n=2)
    scores = [0.5, 0.9, 0.0, 0.6, 0.7, 0.95, 0.4, 0.8]  # 0.0 = failing frame breaks the run
    progress = None
    for i, s in enumerate(scores):
        progress = capture.feed(Frame(img, i / 10, i), _report("fail" if s == 0 else "ok", s))
        if progress.done:
            break
    assert progress is not None and progress.done and progress.fraction == 1.0
    assert [c.frame.index for c in capture.frames] == [5, 4]  # best of frames 3..6
    capture.reset()
    assert not capture.done and capture.frames == ()
    with pytest.raises(ValueError):
        AutoCapture(hold_frames=2, best_n=3)
