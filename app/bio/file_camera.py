"""A video or photo file standing in for the camera (the ``camera_file`` setting).

Why: a desk without a webcam, a demo or a training session still needs the capture page and
the withdrawal desk. A video loops at its own frame rate (so liveness timing is as on camera);
a photo is served forever, like a printed picture held up to a camera. The path was checked by
the settings schema when it was stored; a file gone since then shows as "camera unavailable".
"""

from __future__ import annotations

import os

import cv2

from app.bio.sources import FrameSource, ImageSequenceSource, VideoFileSource
from app.settings_schema import is_video_file

PHOTO_FPS = 10.0


def video_fps(path: str) -> float:
    """The file's own frame rate (30 when it does not say or says nonsense)."""
    cap = cv2.VideoCapture(os.fspath(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return fps if 1.0 <= fps <= 240.0 else 30.0


def file_source(path: str) -> tuple[FrameSource, float]:
    """A not-yet-opened source for ``path`` and the rate to play it at."""
    if is_video_file(path):
        return VideoFileSource(path, loop=True), video_fps(path)
    return ImageSequenceSource([path], fps=PHOTO_FPS, repeat=None), PHOTO_FPS
