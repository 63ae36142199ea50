"""Errors raised by the biometric engine.

Every error carries a short, user-facing ``message`` (English, safe to show at the front desk and
to write to logs) and a stable ``code`` the UI can translate. Messages never contain image content,
embeddings, names or other personal data; the only caller-supplied text that may appear is a file
name exactly as the caller passed it, so the caller stays in control of what gets logged.
"""

from __future__ import annotations

from app.errors import ConsentDeskError


class BioError(ConsentDeskError):
    """Base class: catch this to handle every expected failure of the biometric engine.

    It is a :class:`ConsentDeskError`, so the CLI and the UI treat it like every other expected
    failure (one clear line, never a traceback). Anything that escapes as a different exception
    type is a bug, not a bad input.
    """

    code: str = "bio_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ImageError(BioError):
    """The input could not be turned into a usable RGB image (missing, corrupt, too big...)."""

    code = "image_error"


class ModelError(BioError):
    """The dlib model files are missing or unreadable; the engine cannot start."""

    code = "model_error"


class CameraUnavailable(BioError):
    """No camera (or video) could be opened. This is a normal state on a desk without a webcam."""

    code = "camera_unavailable"


class FaceCountError(BioError):
    """Enrollment needs exactly one face; zero or several were found."""

    code = "face_count"

    def __init__(self, message: str, *, count: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.count = count


class EngineClosed(BioError):
    """The engine was closed (its worker thread is gone) and cannot run models any more."""

    code = "engine_closed"
