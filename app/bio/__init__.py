"""Biometric engine: image loading, frame sources, detection/landmarks/templates, quality gate,
auto-capture, active liveness, the 1:N gallery and the benchmark.

No Qt here. Entry points for the service object and the CLI:

- :func:`app.bio.images.load_image` - path/bytes -> upright RGB array, or ImageError.
- :class:`app.bio.engine.BioEngine` - ``BioEngine.create()`` once per process; ``analyse_photo``
  (import / identify from a photo), ``analyse_frame`` (live camera), ``encode``.
- :func:`app.bio.quality.assess` - quality gate with hint keys for the UI.
- :class:`app.bio.capture.AutoCapture` - best N frames once the gate held K frames.
- :class:`app.bio.liveness.LivenessChallenge` / :func:`app.bio.liveness.run_liveness`.
- :class:`app.bio.gallery.Gallery` - in-memory 1:N search, duplicate/lookalike warnings.
- :func:`app.bio.bench.run_benchmark` - ``consentdesk bench``.
- :mod:`app.bio.pipeline` - ready-made recipes: ``enrollment_from_photo``, ``identify_image``,
  ``templates_from_capture``, ``enrollment_warnings``.

Errors are all subclasses of :class:`app.bio.errors.BioError` with a user-facing ``message``.
"""

from app.bio.errors import (
    BioError,
    CameraUnavailable,
    EngineClosed,
    FaceCountError,
    ImageError,
    ModelError,
)

__all__ = [
    "BioError",
    "CameraUnavailable",
    "EngineClosed",
    "FaceCountError",
    "ImageError",
    "ModelError",
]
