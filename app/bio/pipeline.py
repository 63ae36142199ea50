"""High-level recipes for the service object (``app.desk``) and the CLI.

The lower modules are deliberately small and separately testable; these functions put them
together in the order the desk needs, so the service layer does not have to know that quality
needs 68 landmarks, that templates use 5-point alignment, or that enrollment refuses group
photos. Everything raises only :class:`~app.bio.errors.BioError` subclasses for bad input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.bio.capture import AutoCapture
from app.bio.engine import BioEngine, Embedding, FaceBox, PhotoAnalysis
from app.bio.gallery import Gallery, GalleryHit, GalleryWarning
from app.bio.images import ImageInput, RGBImage, load_image
from app.bio.quality import QualityReport, assess_face
from app.bio.thresholds import LOOKALIKE_MARGIN, MATCH_THRESHOLD


@dataclass(frozen=True, eq=False)
class EnrollmentCandidate:
    """A template ready to store, with the quality evidence the operator should see."""

    template: Embedding
    quality: QualityReport
    box: FaceBox


@dataclass(frozen=True, eq=False)
class FaceIdentification:
    """One face found in a probe image and who it matches (empty ``hits``: nobody)."""

    box: FaceBox
    hits: tuple[GalleryHit, ...]


def enrollment_from_photo(
    engine: BioEngine,
    source: ImageInput | RGBImage,
    *,
    label: str | None = None,
    num_jitters: int = 1,
) -> EnrollmentCandidate:
    """``consentdesk import`` / "enroll from a photo": load, require exactly one face
    (:class:`FaceCountError` otherwise), encode, and grade quality. Quality failures do not
    raise: the caller decides (show hints, let an admin override)."""
    rgb = source if isinstance(source, np.ndarray) else load_image(source, label=label)
    analysis = engine.analyse_photo(rgb, num_jitters=num_jitters, with_landmarks=True)
    face = analysis.single_face()
    assert face.encoding is not None
    return EnrollmentCandidate(face.encoding, assess_face(rgb, face), face.box)


def templates_from_capture(
    engine: BioEngine, capture: AutoCapture, *, num_jitters: int = 1
) -> tuple[Embedding, ...]:
    """Templates of the frames an :class:`AutoCapture` kept (best first). ``num_jitters`` 2-5
    is worth it here: enrollment happens once, identification many times."""
    out = []
    for captured in capture.frames:
        if captured.report.face is not None:
            out.append(
                engine.encode_face(
                    captured.frame.image, captured.report.face, num_jitters=num_jitters
                )
            )
    return tuple(out)


def identify_image(
    engine: BioEngine,
    gallery: Gallery,
    source: ImageInput | RGBImage | PhotoAnalysis,
    *,
    threshold: float = MATCH_THRESHOLD,
    k: int = 3,
    label: str | None = None,
) -> list[FaceIdentification]:
    """``consentdesk identify PHOTO``: every face in the image with its matches (<=
    ``threshold``), biggest face first."""
    if isinstance(source, PhotoAnalysis):
        analysis = source
    else:
        rgb = source if isinstance(source, np.ndarray) else load_image(source, label=label)
        analysis = engine.analyse_photo(rgb)
    return [
        FaceIdentification(
            face.box, tuple(gallery.identify(face.encoding, threshold=threshold, k=k))
        )
        for face in analysis.faces
        if face.encoding is not None
    ]


def enrollment_warnings(
    gallery: Gallery,
    templates: Sequence[Embedding],
    *,
    person_id: str | None = None,
    threshold: float = MATCH_THRESHOLD,
    margin: float = LOOKALIKE_MARGIN,
) -> list[GalleryWarning]:
    """Duplicate / lookalike check before storing ``templates`` (maps onto
    ``app.models.EnrollmentWarning`` once the caller adds the person's name)."""
    return gallery.enrollment_warnings(
        templates, person_id=person_id, threshold=threshold, margin=margin
    )
