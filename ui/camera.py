"""The camera loop: a QThread that owns the frame source and emits frames and analysis results.

Why a dedicated thread that owns the source: ``cv2.VideoCapture`` (and the ``app.bio`` frame
sources built on it) must be opened, read and released by one thread, and a blocking ``read()``
must never stall the window. Preview runs at the source's full frame rate; face analysis is much
slower, so it runs on the *latest* frame in a one-slot side executor and its results are emitted
as they come, without holding back the preview.

Nothing here touches a widget: the GUI connects to :attr:`CameraThread.frame_ready`,
:attr:`CameraThread.analysed` and :attr:`CameraThread.unavailable`.

A camera that is missing, busy or unplugged mid-stream ends the loop with ``unavailable``; the
capture page shows that state with *Retry* and *Use a photo file*.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_READ_FAILURES = 15


class FrameSource(Protocol):
    """What the camera loop needs from a source (a webcam, a video file, a scripted list)."""

    def read(self) -> np.ndarray | None:
        """The next RGB frame (H x W x 3, uint8), or ``None`` when no frame could be read."""

    def close(self) -> None: ...


class CameraUnavailableError(Exception):
    """Raised by a source factory when nothing can be opened."""


class OpenCvSource:
    """A webcam (by index) or a video file (by path) read with OpenCV.

    Files are paced to their own frame rate so a recorded clip behaves like a live camera; with
    ``loop`` they start over at the end (a demo camera), without it the end reads as unplugged.
    """

    def __init__(self, device: int | str | Path, *, loop: bool = True) -> None:
        import cv2

        self._cv2 = cv2
        self._is_file = not isinstance(device, int)
        self._loop = loop
        target = str(device) if self._is_file else int(device)
        self._cap = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraUnavailableError("camera could not be opened")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0) if self._is_file else 0.0
        self._period = 1.0 / fps if 1.0 <= fps <= 120.0 else 0.0
        self._next_at = time.monotonic()

    def read(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if not ok and self._is_file and self._loop:
            self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        if self._period:
            self._next_at += self._period
            delay = self._next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self._next_at = time.monotonic()
        return np.ascontiguousarray(frame[:, :, ::-1])  # BGR -> RGB

    def close(self) -> None:
        self._cap.release()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A deep-copied QImage, so the numpy buffer can be reused or freed by the camera thread."""
    height, width = rgb.shape[:2]
    data = np.ascontiguousarray(rgb)
    image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


class CameraThread(QThread):
    """Reads frames from a source made by ``open_source`` and emits them until stopped.

    ``analyse`` (optional) is called with an RGB frame on a side thread, one frame at a time;
    whatever it returns is emitted by :attr:`analysed` together with that frame.
    """

    frame_ready = Signal(QImage)
    analysed = Signal(object, object)  # (result, rgb frame it was computed on)
    unavailable = Signal(str)
    started_ok = Signal()

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        analyse: Callable[[np.ndarray], Any] | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._open_source = open_source
        self._analyse = analyse
        self._stop = False
        self.frames = 0

    def stop(self, wait_ms: int = 3000) -> None:
        """Ask the loop to end and wait for it (the source is released by the thread itself)."""
        self._stop = True
        self.requestInterruption()
        if self.isRunning():
            self.wait(wait_ms)

    def run(self) -> None:
        try:
            source = self._open_source()
        except Exception as exc:  # any opening failure is the same state for the operator
            log.info("camera unavailable: %s", type(exc).__name__)
            self.unavailable.emit("open")
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-analysis")
        pending: tuple[Future[Any], np.ndarray] | None = None
        failures = 0
        self.started_ok.emit()
        try:
            while not self._stop and not self.isInterruptionRequested():
                try:
                    frame = source.read()
                except Exception as exc:
                    log.info("camera read failed: %s", type(exc).__name__)
                    frame = None
                if frame is None:
                    failures += 1
                    if failures >= MAX_CONSECUTIVE_READ_FAILURES:
                        self.unavailable.emit("lost")
                        return
                    self.msleep(20)
                    continue
                failures = 0
                self.frames += 1
                self.frame_ready.emit(rgb_to_qimage(frame))
                if pending is not None and pending[0].done():
                    future, analysed_frame = pending
                    pending = None
                    try:
                        result = future.result()
                    except Exception as exc:
                        log.warning("frame analysis failed: %s", type(exc).__name__)
                    else:
                        self.analysed.emit(result, analysed_frame)
                if pending is None and self._analyse is not None and not self._stop:
                    pending = (executor.submit(self._analyse, frame), frame)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            try:
                source.close()
            except Exception:  # releasing a vanished device may fail; nothing left to do
                log.debug("camera close failed", exc_info=True)
