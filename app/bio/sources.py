"""Where frames come from: a webcam, a video file, or still images.

One small :class:`FrameSource` protocol so the capture screen, the liveness challenge, the
benchmark and the tests do not care whether a real camera is attached. A desk without a camera
is a normal situation, not an exception: ``open()`` leaves the source in status
``"unavailable"`` with a user-facing ``message``, and ``read()`` returns None. Callers that prefer
an exception call :func:`require_open`, which raises :class:`CameraUnavailable`.

All frames are RGB uint8 (OpenCV delivers BGR; converting here means nothing downstream has to
remember to).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np

from app.bio.errors import CameraUnavailable, ImageError
from app.bio.images import RGBImage, ensure_rgb, load_image

SourceStatus = Literal["closed", "open", "ended", "unavailable", "error"]


@dataclass(frozen=True, eq=False)
class Frame:
    """One RGB frame. ``timestamp`` is seconds since the source was opened: wall-clock for a
    camera, media time for a video, ``index / fps`` for still images, so that time-based logic
    (liveness timeouts) behaves the same live and in tests."""

    image: RGBImage
    timestamp: float
    index: int


@runtime_checkable
class FrameSource(Protocol):
    """open / read / close. ``read`` returns None when no frame is available (ended,
    unavailable, closed); ``status`` and ``message`` then say why."""

    @property
    def status(self) -> SourceStatus: ...

    @property
    def message(self) -> str: ...

    def open(self) -> None: ...

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


def require_open(source: FrameSource) -> FrameSource:
    """Open ``source`` and raise :class:`CameraUnavailable` if it did not open."""
    source.open()
    if source.status != "open":
        raise CameraUnavailable(source.message or "The camera could not be opened.")
    return source


class _CaptureSource:
    """Shared cv2.VideoCapture handling for cameras and video files."""

    def __init__(self, capture_factory: Callable[[], Any]) -> None:
        self._factory = capture_factory
        self._cap: Any = None
        self._status: SourceStatus = "closed"
        self._message = ""
        self._index = 0
        self._t0 = 0.0

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def message(self) -> str:
        return self._message

    def _set(self, status: SourceStatus, message: str = "") -> None:
        self._status, self._message = status, message

    def _unavailable_message(self) -> str:
        return "The source could not be opened."

    def open(self) -> None:
        if self._status == "open":
            return
        try:
            cap = self._factory()
            opened = bool(cap is not None and cap.isOpened())
        except cv2.error:
            cap, opened = None, False
        if not opened:
            if cap is not None:
                cap.release()
            self._set("unavailable", self._unavailable_message())
            return
        self._cap = cap
        self._index = 0
        self._t0 = time.monotonic()
        self._configure(cap)
        self._set("open")

    def _configure(self, cap: Any) -> None:
        """Hook for per-kind settings (resolution...)."""

    def _timestamp(self, cap: Any) -> float:
        return time.monotonic() - self._t0

    def _on_no_frame(self) -> None:
        self._set("error", "The camera stopped delivering pictures.")

    def read(self) -> Frame | None:
        if self._status != "open" or self._cap is None:
            return None
        try:
            ok, bgr = self._cap.read()
        except cv2.error:
            ok, bgr = False, None
        if not ok or bgr is None or bgr.size == 0:
            self._on_no_frame()
            return None
        try:
            rgb = ensure_rgb(
                cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 else np.asarray(bgr)
            )
        except ImageError:
            self._set("error", "The camera delivered an unusable picture.")
            return None
        frame = Frame(rgb, self._timestamp(self._cap), self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        if self._status == "open":
            self._set("closed")

    def __enter__(self) -> _CaptureSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CameraSource(_CaptureSource):
    """A webcam by index (0 = the default camera). Requests 640x480, which is plenty for a
    face at desk distance and keeps detection real-time on a 2-core PC.

    ``capture_factory`` is injectable for tests; by default ``cv2.VideoCapture(index)``.
    """

    def __init__(
        self,
        index: int = 0,
        *,
        width: int = 640,
        height: int = 480,
        capture_factory: Callable[[int], Any] | None = None,
    ) -> None:
        factory = capture_factory or cv2.VideoCapture
        super().__init__(lambda: factory(index))
        self.index = index
        self.width = width
        self.height = height

    def _unavailable_message(self) -> str:
        return f"No camera found (camera {self.index}). Connect a camera or import a photo."

    def _configure(self, cap: Any) -> None:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)


class VideoFileSource(_CaptureSource):
    """A video file played as if it were a camera (tests, demos). ``loop`` restarts at the
    end; timestamps are media time so results do not depend on machine speed."""

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        super().__init__(
            lambda: cv2.VideoCapture(os.fspath(self.path)) if self.path.is_file() else None
        )
        self._fps = 30.0
        self._offset = 0.0
        self._last = 0.0

    def _unavailable_message(self) -> str:
        return "The video file could not be opened."

    def _configure(self, cap: Any) -> None:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self._offset = 0.0

    def _timestamp(self, cap: Any) -> float:
        self._last = self._offset + self._index / self._fps
        return self._last

    def _on_no_frame(self) -> None:
        if self.loop and self._cap is not None and self._index > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, _ = self._cap.read()
            if ok:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._offset = self._last + 1.0 / self._fps
                self._index = 0
                return
        self._set("ended", "The video has ended.")

    def read(self) -> Frame | None:
        frame = super().read()
        if frame is None and self.loop and self._status == "open":
            return super().read()
        return frame


class ImageSequenceSource:
    """Still images (paths or arrays) served as frames at a fixed ``fps``.

    ``repeat`` serves each image that many times in a row, so a single photo can stand in for a
    camera pointed at a printed picture (``repeat=None`` means forever). Unreadable files end
    the source with status "error" and the loader's message.
    """

    def __init__(
        self,
        images: Iterable[str | os.PathLike[str] | RGBImage],
        *,
        fps: float = 10.0,
        repeat: int | None = 1,
    ) -> None:
        self._items: Sequence[str | os.PathLike[str] | RGBImage] = list(images)
        self.fps = fps
        self.repeat = repeat
        self._status: SourceStatus = "closed"
        self._message = ""
        self._item = 0
        self._served = 0
        self._index = 0
        self._current: RGBImage | None = None

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def message(self) -> str:
        return self._message

    def open(self) -> None:
        self._item = self._served = self._index = 0
        self._current = None
        if not self._items:
            self._status, self._message = "unavailable", "There are no images to show."
        else:
            self._status, self._message = "open", ""

    def read(self) -> Frame | None:
        if self._status != "open":
            return None
        if self._current is not None and self.repeat is not None and self._served >= self.repeat:
            self._item += 1
            self._current = None
        if self._current is None:
            if self._item >= len(self._items):
                self._status, self._message = "ended", "All images have been shown."
                return None
            item = self._items[self._item]
            try:
                self._current = (
                    ensure_rgb(item) if isinstance(item, np.ndarray) else load_image(item)
                )
            except ImageError as exc:
                self._status, self._message = "error", exc.message
                return None
            self._served = 0
        frame = Frame(self._current, self._index / self.fps, self._index)
        self._served += 1
        self._index += 1
        return frame

    def close(self) -> None:
        self._current = None
        if self._status == "open":
            self._status = "closed"

    def __enter__(self) -> ImageSequenceSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def still_as_camera(
    image: str | os.PathLike[str] | RGBImage, *, fps: float = 10.0, seconds: float | None = None
) -> ImageSequenceSource:
    """A single photo delivered like a camera would show a printed picture held up to it:
    the same frame again and again (for ``seconds``, or forever)."""
    repeat = None if seconds is None else max(1, round(seconds * fps))
    return ImageSequenceSource([image], fps=fps, repeat=repeat)


def open_source(spec: str | int) -> FrameSource:
    """CLI helper: an int (or digit string) is a camera index, a folder is a sorted image
    sequence, anything else a video file."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec))
    path = Path(spec)
    if path.is_dir():
        exts = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in exts)
        return ImageSequenceSource(files)
    return VideoFileSource(path)
