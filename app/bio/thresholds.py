"""Every tunable number of the biometric engine, with where it comes from.

Keep numbers here (not sprinkled in code) so a reviewer can audit them in one place and a
re-calibration touches one file. "Calibrated" means measured on the shared test photos
(../shared/testdata/faces, 21 real photos) and the tests in tests/core/test_bio_*.py pin the
outcome; re-run those tests after changing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# -- image loading ---------------------------------------------------------------------------
IMAGE_MAX_FILE_BYTES: Final = 64 * 1024 * 1024
"""Largest file accepted. A 50 MP JPEG is ~25 MB; more than this is not a desk photo."""
IMAGE_MAX_PIXELS: Final = 60_000_000
"""Header pixel limit, checked before decoding (decompression bombs). Above a 50 MP phone camera;
below Pillow's own 89 MP warning. A 60 MP RGB decode is ~180 MB, acceptable on a desk PC."""
IMAGE_MAX_SIDE: Final = 2048
"""Long side after loading. Faces at the desk fill a good part of the frame; 2048 px keeps an
inter-eye distance far above the ~46 px the 150 px dlib face chip resamples to anyway, and
caps landmark/encode memory. The 2333x1434 and 2204x970 shared photos are downscaled."""
IMAGE_MIN_SIDE: Final = 16
"""Smaller images cannot contain a detectable face (HOG needs 80x80, or 40x40 upsampled)."""

# -- detection -------------------------------------------------------------------------------
DETECT_MAX_SIDE_PHOTO: Final = 640
"""Still photos are searched on a copy with this long side (HOG finds faces >= 80 px there,
i.e. >= 12% of the long side; the adaptive upsample below reaches ~6%). Calibrated: 640 and 800
give the same face counts as face_recognition on all 21 shared photos; 640 is ~25% faster."""
DETECT_MAX_SIDE_FRAME: Final = 480
"""Camera frames (640x480) are searched at 480x360: faces >= ~107 px in the full frame, which
a person standing at the desk always is (~14 ms per frame). With nobody found, the adaptive
upsample retries at 2x (~55 ms), so someone further away is still seen and told to come
closer."""
DETECT_SMALL_FACE_PX: Final = 80
"""If the smallest face found (at detection scale) is below this, or nothing was found, detect
again with one 2x upsample: others slightly smaller may have been missed. Calibrated: at 60 the
third (small) face in group_obama_and_biden.jpg is missed; 80 finds it. HOG's window is 80 px,
so this means "a face at the limit of what pass 1 can see was found"."""

# -- matching --------------------------------------------------------------------------------
MATCH_THRESHOLD: Final = 0.6
"""dlib's documented operating point for dlib_face_recognition_resnet_model_v1: two templates
closer than 0.6 are the same person (99.38% on LFW). The shared photos agree: same-identity
pairs 0.04-0.52, different identities above 0.6."""
LOOKALIKE_MARGIN: Final = 0.05
"""Someone else within MATCH_THRESHOLD + margin is flagged as a lookalike at enrollment so the
operator double-checks identity documents. 0.05 is about the spread of one person's templates
across photos; tune per site."""


# -- quality gate ----------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityThresholds:
    """Pass/warn/fail limits of :mod:`app.bio.quality`. Override per site by constructing a new
    instance; :data:`QUALITY` is the default."""

    eye_distance_fail_px: float = 24.0
    """Below this the 150 px dlib face chip is upsampled ~2x: the template is built from
    invented detail. Calibrated: the smallest shared portraits (obama_small.jpg 320x240,
    obama_480p.jpg) measure 48 and 46 px and must not fail."""
    eye_distance_warn_px: float = 40.0
    """dlib's chip puts the eyes ~46 px apart; a bit below that is still fine (warn only).
    ISO/IEC 19794-5's 90 px is for printed passports and would refuse webcam captures."""
    framing_warn: float = 0.05
    framing_fail: float = 0.5
    """Landmarks outside the image, in inter-eye distances. A bit of chin cut off still
    encodes fine (obama_partial.jpg); half an eye-distance off means the face is cut."""
    sharpness_fail: float = 15.0
    sharpness_warn: float = 40.0
    """Laplacian variance on the 160 px aligned chip. Calibrated: shared portraits range
    33 (alex_lacamoire_2.png, a soft 424 px PNG: warn) to 1150; obama_1 blurred with a
    Gaussian sigma of 3 px in tests/core/test_bio_quality.py falls below the fail line."""
    luminance_fail_low: float = 40.0
    luminance_warn_low: float = 70.0
    luminance_warn_high: float = 200.0
    luminance_fail_high: float = 235.0
    """Mean grey level of the inner face. Shared portraits: 94-158; the back-lit third person
    in group_obama_and_biden.jpg is 49 (warn). OFIQ similarly scores a mid-grey face best."""
    clipped_warn: float = 0.05
    clipped_fail: float = 0.25
    """Fraction of inner-face pixels crushed to black (<=10) or blown to white (>=245);
    shared portraits are all <= 0.011."""
    yaw_warn_deg: float = 20.0
    yaw_fail_deg: float = 35.0
    """Head turn. The encoder tolerates ~30 degrees (same-identity shared pairs include 34);
    enrollment templates should be near-frontal so later matches at any angle are closest."""
    pitch_warn_deg: float = 20.0
    pitch_fail_deg: float = 35.0
    """The generic 3D head gives a +5..+25 degree bias on normal portraits (focal length and
    camera height unknown), hence a looser gate than yaw."""
    roll_warn_deg: float = 12.0
    roll_fail_deg: float = 30.0
    """In-plane tilt is harmless to the encoder (alignment removes it); only ask to straighten."""
    eyes_fail: float = 0.018
    eyes_warn: float = 0.03
    """Mean eyelid gap / face height (eye-midpoint to chin). Shared portraits with open eyes:
    0.036-0.090; closed eyes collapse the gap to ~1/3 of open (<0.02)."""
    mouth_warn: float = 0.08
    mouth_fail: float = 0.25
    """Inner-lip gap / face height. Smiles showing teeth measure 0.08-0.15 on the shared photos
    and match perfectly well, so they only warn; a wide-open (talking, yawning) mouth fails."""


QUALITY: Final = QualityThresholds()
# -- auto-capture ----------------------------------------------------------------------------
CAPTURE_HOLD_FRAMES: Final = 8
"""Consecutive acceptable frames before capturing: ~0.5-0.8 s at the 10-15 fps the engine
reaches on a 2-core PC, long enough to skip a passing blink or motion blur."""
CAPTURE_BEST_N: Final = 3
"""Templates stored per enrollment. Three views average out one bad frame; more adds little
for dlib's model and multiplies storage (and what must be erased on withdrawal)."""


# -- liveness --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LivenessConfig:
    """Parameters of the active challenge in :mod:`app.bio.liveness`."""

    min_prompts: int = 2
    max_prompts: int = 3
    """2 or 3 prompts drawn at random from {blink, turn_left, turn_right}: a replayed video
    would have to contain the right actions in the right order."""
    prompt_timeout_s: float = 6.0
    """Time allowed per prompt. Cooperative people do each in 1-2 s; 6 s leaves room for
    reading the prompt (and for slower, older or disabled people) while a still photo fails
    in seconds, not minutes."""
    baseline_frames: int = 5
    """Frontal frames averaged (median) for the personal yaw/eye-openness baseline."""
    baseline_timeout_s: float = 10.0
    baseline_max_yaw_deg: float = 15.0
    """A frame counts as 'facing the camera' for the baseline and the final identity check."""
    blink_drop: float = 0.4
    """A blink = eye openness falling to <= 60% of the person's own open-eye baseline...
    (a relative drop works for narrow and wide eyes alike; landmark noise is ~10-15%)."""
    blink_reopen: float = 0.8
    """...and coming back to >= 80% of it (eyes reopened: not just looking down)."""
    turn_deg: float = 18.0
    """Yaw change from the baseline needed for a head turn. A flat picture turned in front
    of the camera only foreshortens; the nose does not move against the cheeks, so the solved
    yaw stays within ~5-10 degrees. Real heads reach 18 degrees with a comfortable turn."""
    lost_grace_s: float = 0.5
    """A face missing for longer than this breaks the track (someone swapped in front)."""
    max_jump: float = 2.0
    """Face centre moving more than this many inter-eye distances between frames breaks the
    track (a cut between two different sources)."""
    identity_threshold: float = 0.5
    """Start and end templates must be closer than this. Stricter than the 0.6 match threshold
    because both come from the same session, camera and lighting (typically 0.1-0.35)."""
    confirm_timeout_s: float = 5.0
    require_identity: bool = True
    mirrored: bool = False
    """Set when frames are horizontally flipped before analysis (a mirrored preview feeding
    the engine); swaps which yaw direction counts as the person's left."""


LIVENESS: Final = LivenessConfig()
