"""Capture quality gate: is this frame good enough to become a template?

Each check measures one thing on the FULL-resolution frame (detection may have used a
downscaled copy), compares it with the thresholds in :mod:`app.bio.thresholds`, and returns a
verdict (pass / warn / fail) plus a stable hint key the UI translates ("move_closer" ->
"请靠近一点") and an English fallback text. The measures follow the spirit of ISO/IEC 29794-5 and
its reference implementation OFIQ (face size from inter-eye distance, sharpness on an aligned
face crop, exposure on the face only, head pose, eyes open / mouth closed measured relative to
the face's height), but they are our own simplified versions, not OFIQ scores.

Why relative eye openness: the classic "eye aspect ratio < 0.3 means closed" rule was tuned on
one dataset; on normal portraits EAR is often 0.2-0.3 with eyes open (narrow eyes, smiles), so it
would refuse many people. Lid distance over face height is far less dependent on eye shape,
and liveness compares against the person's own baseline anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from app.bio.engine import FaceObservation, Landmarks, PhotoAnalysis
from app.bio.images import RGBImage
from app.bio.thresholds import QUALITY, QualityThresholds

Verdict = Literal["pass", "warn", "fail"]
_RANK: Final[dict[str, int]] = {"pass": 0, "warn": 1, "fail": 2}

HINTS: Final[dict[str, str]] = {
    "no_face": "No face found: look at the camera.",
    "one_person_only": "Only one person in front of the camera, please.",
    "move_closer": "Move closer to the camera.",
    "move_back": "Move back a little.",
    "center_face": "Move so your whole face is in the picture.",
    "hold_still": "Hold still (the picture is blurred).",
    "more_light": "More light on the face, please.",
    "less_light": "Too bright: avoid direct light on the face.",
    "even_light": "Avoid strong shadows or glare on the face.",
    "face_the_camera": "Face the camera.",
    "level_chin": "Keep your chin level.",
    "straighten_head": "Hold your head straight.",
    "open_eyes": "Open your eyes.",
    "close_mouth": "Close your mouth.",
}
"""Hint key -> English text. Keys are stable API: the UI maps them to its own translations."""


@dataclass(frozen=True)
class QualityCheck:
    """One measured property. ``hint`` is None when the check passed."""

    name: str
    value: float | None
    verdict: Verdict
    hint: str | None = None

    @property
    def text(self) -> str:
        return HINTS.get(self.hint, "") if self.hint else ""


@dataclass(frozen=True, eq=False)
class QualityReport:
    """All checks for one frame; ``verdict`` is the worst of them."""

    checks: tuple[QualityCheck, ...]
    face: FaceObservation | None = None
    score: float = 0.0
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        worst = max((_RANK[c.verdict] for c in self.checks), default=0)
        return ("pass", "warn", "fail")[worst]  # type: ignore[return-value]

    @property
    def acceptable(self) -> bool:
        """No check failed (warnings are allowed to enroll, the operator sees them)."""
        return self.verdict != "fail"

    @property
    def hints(self) -> tuple[str, ...]:
        """Hint keys of failing checks first, then warnings, without duplicates."""
        ordered = sorted((c for c in self.checks if c.hint), key=lambda c: -_RANK[c.verdict])
        seen: dict[str, None] = {}
        for c in ordered:
            seen.setdefault(c.hint or "", None)
        return tuple(seen)

    def check(self, name: str) -> QualityCheck | None:
        return next((c for c in self.checks if c.name == name), None)


# -- geometry from the 68 landmarks (iBUG 300-W indices) ------------------------------------------

_RIGHT_EYE = slice(36, 42)  # subject's right eye = image left in an unmirrored frame
_LEFT_EYE = slice(42, 48)

# A generic adult head in millimetres, OpenCV camera axes (x right, y DOWN, z AWAY from the
# camera), nose tip at the origin. With these axes a frontal face gives a rotation near the
# identity, so pitch does not wrap around +-180 degrees as it does with the common y-up model.
_MODEL_3D: Final = np.array(
    [
        (0.0, 0.0, 0.0),  # 30 nose tip
        (0.0, 63.6, 12.5),  # 8 chin
        (-43.3, -32.7, 26.0),  # 36 right eye outer corner (image left)
        (43.3, -32.7, 26.0),  # 45 left eye outer corner
        (-28.9, 28.9, 24.1),  # 48 mouth corner (image left)
        (28.9, 28.9, 24.1),  # 54 mouth corner
    ],
    dtype=np.float64,
)
_MODEL_IDX: Final = (30, 8, 36, 45, 48, 54)


def _eye_centers(lm: Landmarks) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    return lm[_RIGHT_EYE].mean(axis=0), lm[_LEFT_EYE].mean(axis=0)


def inter_eye_distance(lm: Landmarks) -> float:
    """Pixels between the eye centres (ISO/IEC 19794-5's measure of face size)."""
    a, b = _eye_centers(lm)
    return float(np.linalg.norm(a - b))


def face_height(lm: Landmarks) -> float:
    """Pixels from the midpoint of the eyes to the chin: the normaliser for eye/mouth opening.
    Unlike the eye width it does not shrink when the head turns (yaw)."""
    a, b = _eye_centers(lm)
    return float(np.linalg.norm((a + b) / 2.0 - lm[8])) or 1.0


def eye_openness(lm: Landmarks) -> float:
    """Mean eyelid gap of both eyes divided by :func:`face_height` (~0.05 open, ~0.01 closed)."""
    gaps = [
        np.linalg.norm(lm[37] - lm[41]),
        np.linalg.norm(lm[38] - lm[40]),
        np.linalg.norm(lm[43] - lm[47]),
        np.linalg.norm(lm[44] - lm[46]),
    ]
    return float(np.mean(gaps)) / face_height(lm)


def mouth_openness(lm: Landmarks) -> float:
    """Mean inner-lip gap divided by :func:`face_height` (0 when the lips touch)."""
    gaps = [
        np.linalg.norm(lm[61] - lm[67]),
        np.linalg.norm(lm[62] - lm[66]),
        np.linalg.norm(lm[63] - lm[65]),
    ]
    return float(np.mean(gaps)) / face_height(lm)


def _wrap(angle: float) -> float:
    """Fold an angle into (-90, 90]: a face can't be upside down relative to its own model, so
    a solver answer near +-180 is the same pose seen through the other branch."""
    angle = (angle + 180.0) % 360.0 - 180.0
    if angle > 90.0:
        angle -= 180.0
    elif angle <= -90.0:
        angle += 180.0
    return angle


def head_pose(lm: Landmarks, width: int, height: int) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` in degrees from cv2.solvePnP with a generic 3D head.

    Conventions (unmirrored camera image): yaw > 0 when the nose points to image right, which
    is the person turning to THEIR left; pitch > 0 chin up; roll > 0 head tilted clockwise in
    the image. A pinhole camera with focal length = image width is assumed (a ~53 degree webcam);
    errors of a few degrees are expected, which is fine for gates of 15-25 degrees.
    """
    image_pts = lm[list(_MODEL_IDX)].astype(np.float64)
    focal = float(width)
    camera = np.array(
        [[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]], dtype=np.float64
    )
    ok, rvec, _tvec = cv2.solvePnP(
        _MODEL_3D, image_pts, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return (0.0, 0.0, 0.0)
    rot, _ = cv2.Rodrigues(rvec)
    # R = Rz(roll) Ry(yaw) Rx(pitch), decomposed directly (no gimbal issue within +-90).
    sy = math.hypot(rot[0, 0], rot[1, 0])
    pitch_rad = math.atan2(rot[2, 1], rot[2, 2])
    yaw_rad = math.atan2(-rot[2, 0], sy)
    roll_rad = math.atan2(rot[1, 0], rot[0, 0])
    # A rotation about +y (pointing down) moves the nose (z<0 side) toward -x: flip the sign
    # so yaw > 0 means nose toward +x. Rotation about +x lifts the nose (-y): chin up > 0.
    yaw = -_wrap(math.degrees(yaw_rad))
    pitch = _wrap(math.degrees(pitch_rad))
    roll = _wrap(math.degrees(roll_rad))
    return (yaw, pitch, roll)


def aligned_chip(rgb: RGBImage, lm: Landmarks, size: int = 160) -> RGBImage:
    """Face crop rotated so the eyes are level, scaled so they are ``0.4 * size`` apart.

    Measuring sharpness/exposure on a fixed-geometry chip makes the numbers comparable between
    a close-up and a small face, and excludes background and hair.
    """
    a, b = _eye_centers(lm)
    dx, dy = float(b[0] - a[0]), float(b[1] - a[1])
    dist = math.hypot(dx, dy) or 1.0
    scale = (0.4 * size) / dist
    angle = math.degrees(math.atan2(dy, dx))
    mid = ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)
    mat = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), angle, scale)
    mat[0, 2] += size * 0.5 - mid[0]
    mat[1, 2] += size * 0.4 - mid[1]
    chip = cv2.warpAffine(
        rgb, mat, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(chip, dtype=np.uint8)


def sharpness(chip: RGBImage) -> float:
    """Variance of the Laplacian of the grey chip: low when blurred (motion or focus)."""
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def exposure(chip: RGBImage) -> tuple[float, float, float]:
    """``(mean luminance 0-255, fraction <= 10, fraction >= 245)`` over the inner face (the
    chip's central region: eyes to mouth, no hair or background)."""
    size = chip.shape[0]
    inner = chip[int(size * 0.3) : int(size * 0.85), int(size * 0.2) : int(size * 0.8)]
    grey = cv2.cvtColor(np.ascontiguousarray(inner), cv2.COLOR_RGB2GRAY)
    n = float(grey.size) or 1.0
    return (float(grey.mean()), float((grey <= 10).sum()) / n, float((grey >= 245).sum()) / n)


# -- the gate ------------------------------------------------------------------------------------


def _grade_low(value: float, fail_below: float, warn_below: float) -> Verdict:
    return "fail" if value < fail_below else "warn" if value < warn_below else "pass"


def _grade_high(value: float, warn_above: float, fail_above: float) -> Verdict:
    return "fail" if value > fail_above else "warn" if value > warn_above else "pass"


def _check(name: str, value: float, verdict: Verdict, hint: str) -> QualityCheck:
    return QualityCheck(name, round(value, 4), verdict, None if verdict == "pass" else hint)


def assess_face(
    rgb: RGBImage, face: FaceObservation, t: QualityThresholds = QUALITY
) -> QualityReport:
    """Run every per-face check on one face (which must carry 68 landmarks)."""
    if face.landmarks is None:
        raise ValueError("quality needs 68-point landmarks (use BioEngine.analyse_frame)")
    lm = face.landmarks
    h, w = rgb.shape[:2]
    checks: list[QualityCheck] = [QualityCheck("face_count", 1.0, "pass")]
    ied = inter_eye_distance(lm)
    checks.append(
        _check(
            "face_size",
            ied,
            _grade_low(ied, t.eye_distance_fail_px, t.eye_distance_warn_px),
            "move_closer",
        )
    )
    # Framing: how far landmarks stick out of the image, in inter-eye distances.
    out = max(
        0.0,
        float(-np.min(lm[:, 0])),
        float(np.max(lm[:, 0]) - (w - 1)),
        float(-np.min(lm[:, 1])),
        float(np.max(lm[:, 1]) - (h - 1)),
    ) / max(ied, 1.0)
    checks.append(
        _check("framing", out, _grade_high(out, t.framing_warn, t.framing_fail), "center_face")
    )
    chip = aligned_chip(rgb, lm)
    sharp = sharpness(chip)
    checks.append(
        _check(
            "sharpness", sharp, _grade_low(sharp, t.sharpness_fail, t.sharpness_warn), "hold_still"
        )
    )
    mean, dark, bright = exposure(chip)
    if mean < t.luminance_warn_low:
        verdict: Verdict = "fail" if mean < t.luminance_fail_low else "warn"
        checks.append(_check("exposure", mean, verdict, "more_light"))
    else:
        checks.append(
            _check(
                "exposure",
                mean,
                _grade_high(mean, t.luminance_warn_high, t.luminance_fail_high),
                "less_light",
            )
        )
    clipped = max(dark, bright)
    checks.append(
        _check(
            "clipping", clipped, _grade_high(clipped, t.clipped_warn, t.clipped_fail), "even_light"
        )
    )
    yaw, pitch, roll = head_pose(lm, w, h)
    checks.append(
        _check("yaw", yaw, _grade_high(abs(yaw), t.yaw_warn_deg, t.yaw_fail_deg), "face_the_camera")
    )
    checks.append(
        _check(
            "pitch",
            pitch,
            _grade_high(abs(pitch), t.pitch_warn_deg, t.pitch_fail_deg),
            "level_chin",
        )
    )
    checks.append(
        _check(
            "roll",
            roll,
            _grade_high(abs(roll), t.roll_warn_deg, t.roll_fail_deg),
            "straighten_head",
        )
    )
    eyes = eye_openness(lm)
    checks.append(
        _check("eyes_open", eyes, _grade_low(eyes, t.eyes_fail, t.eyes_warn), "open_eyes")
    )
    mouth = mouth_openness(lm)
    checks.append(
        _check("mouth_closed", mouth, _grade_high(mouth, t.mouth_warn, t.mouth_fail), "close_mouth")
    )
    measures = {
        "inter_eye_px": ied,
        "sharpness": sharp,
        "luminance": mean,
        "dark": dark,
        "bright": bright,
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
        "eye_openness": eyes,
        "mouth_openness": mouth,
    }
    report = QualityReport(tuple(checks), face, 0.0, measures)
    return QualityReport(report.checks, face, _score(report, t), measures)


def assess(rgb: RGBImage, analysis: PhotoAnalysis, t: QualityThresholds = QUALITY) -> QualityReport:
    """The full gate for one frame: exactly one face, then :func:`assess_face` on it."""
    if analysis.face_count == 0:
        return QualityReport((QualityCheck("face_count", 0.0, "fail", "no_face"),))
    if analysis.face_count > 1:
        return QualityReport(
            (QualityCheck("face_count", float(analysis.face_count), "fail", "one_person_only"),)
        )
    return assess_face(rgb, analysis.faces[0], t)


def _score(report: QualityReport, t: QualityThresholds) -> float:
    """Rank acceptable frames for auto-capture: 0 if anything fails, else in (0, 1]; favours
    sharp, frontal, well-lit frames. Only the order matters."""
    if not report.acceptable:
        return 0.0
    m = report.measures
    points = 1.0 - 0.1 * sum(1 for c in report.checks if c.verdict == "warn")
    sharp = min(1.0, m["sharpness"] / (2.0 * t.sharpness_warn))
    frontal = max(0.0, 1.0 - (abs(m["yaw"]) + abs(m["pitch"])) / 60.0)
    light = max(0.0, 1.0 - abs(m["luminance"] - 128.0) / 128.0)
    return round(max(0.01, 0.4 * points + 0.3 * sharp + 0.2 * frontal + 0.1 * light), 4)
