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

import contextlib
import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, SignalInstance
from PySide6.QtGui import QImage

from app.bio.sources import Frame, FrameSource

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_READ_FAILURES = 15


def disconnect_all(signal: SignalInstance) -> None:
    """Disconnect every slot; quietly do nothing when there are none (PySide warns then)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with contextlib.suppress(RuntimeError, TypeError):
            signal.disconnect()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A deep-copied QImage, so the numpy buffer can be reused or freed by the camera thread."""
    height, width = rgb.shape[:2]
    data = np.ascontiguousarray(rgb)
    image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


class CameraThread(QThread):
    # Every started camera thread is held here until it has finished: Python must never drop
    # the last reference to a running QThread (Qt then aborts the whole program), whatever path
    # let go of it. ``wait_for_all`` is called at exit.
    _running: ClassVar[set[CameraThread]] = set()

    def start(self, *args: Any) -> None:
        CameraThread._running.add(self)
        super().start(*args)

    @classmethod
    def wait_for_all(cls, ms: int = 30000) -> None:
        """Wait for every camera thread still running (at exit, and after a test session)."""
        for thread in list(cls._running):
            if shiboken6.isValid(thread):  # deleted after it finished, not yet discarded
                thread.wait(ms)

    @classmethod
    def stop_all(cls, ms: int = 30000) -> list[CameraThread]:
        """Stop and wait for every camera thread still running, at exit; returns those that were
        still running although nobody had asked them to stop (a leak: tests fail on it).

        Why stop and not only wait: a camera nobody stopped loops a video (or watches the desk)
        forever; waiting for it timed out, and Qt then aborted the whole program ("QThread:
        Destroyed while thread '' is still running") when the running thread was destroyed."""
        leaked = []
        for thread in list(cls._running):
            if shiboken6.isValid(thread) and thread.isRunning():
                if not thread.stop_requested:
                    leaked.append(thread)
                thread.request_stop()
        cls.wait_for_all(ms)
        return leaked

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def request_stop(self) -> None:
        """Ask the loop to end without waiting for it."""
        self._stop = True
        self.requestInterruption()

    """Reads frames from a source made by ``open_source`` and emits them until stopped.

    ``open_source`` returns an unopened ``app.bio.sources.FrameSource`` (camera, video file,
    still images); the thread opens, reads and closes it. ``analyse`` (optional) is called with a
    frame on a side thread, one frame at a time; whatever it returns is emitted by
    :attr:`analysed` together with that frame. ``pace_fps`` plays a recorded source at its real
    speed (a camera paces itself).
    """

    frame_ready = Signal(QImage)
    analysed = Signal(object, object)  # (result, the app.bio Frame it was computed on)
    unavailable = Signal(str)
    analysis_failed = Signal(object)  # the exception (first failure only, then every 50th)
    started_ok = Signal()

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        analyse: Callable[[Frame], object] | None = None,
        pace_fps: float | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pace = 1.0 / pace_fps if pace_fps else 0.0
        self._open_source = open_source
        self._analyse = analyse
        self._stop = False
        self.finished.connect(lambda: CameraThread._running.discard(self))
        self.frames = 0

    def stop(self, wait_ms: int = 3000) -> None:
        """Ask the loop to end and wait for it (the source is released by the thread itself)."""
        self.request_stop()
        if self.isRunning():
            self.wait(wait_ms)

    def run(self) -> None:
        try:
            source = self._open_source()
            source.open()
            opened = source.status == "open"
        except Exception as exc:  # any opening failure is the same state for the operator
            log.info("camera unavailable: %s", type(exc).__name__)
            opened, source = False, None
        if not opened or source is None:
            self.unavailable.emit("open")
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-analysis")
        pending: tuple[Future[object], Frame] | None = None
        failures = 0
        analysis_failures = 0
        next_at = time.monotonic()
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
                    if source.status != "open" or failures >= MAX_CONSECUTIVE_READ_FAILURES:
                        self.unavailable.emit("lost")
                        return
                    self.msleep(20)
                    continue
                failures = 0
                if self._pace:
                    next_at += self._pace
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        next_at = time.monotonic()
                self.frames += 1
                self.frame_ready.emit(rgb_to_qimage(frame.image))
                if pending is not None and pending[0].done():
                    future, analysed_frame = pending
                    pending = None
                    try:
                        result = future.result()
                    except Exception as exc:
                        if analysis_failures % 50 == 0:
                            log.warning("frame analysis failed: %s", type(exc).__name__)
                            self.analysis_failed.emit(exc)
                        analysis_failures += 1
                    else:
                        self.analysed.emit(result, analysed_frame)
                if pending is None and self._analyse is not None and not self._stop:
                    pending = (executor.submit(self._analyse, frame), frame)
        finally:
            # Do not wait for an analysis still running (a slow engine on a loaded PC): its
            # result is dropped anyway, and waiting kept a stopped camera thread alive past the
            # window that owned it.
            executor.shutdown(wait=False, cancel_futures=True)
            try:
                source.close()
            except Exception:  # releasing a vanished device may fail; nothing left to do
                log.debug("camera close failed", exc_info=True)


def dispose(camera: CameraThread | None) -> None:
    """Disconnect, stop and schedule deletion of a camera thread (None is fine).

    Signals are disconnected first so a frame already queued cannot reach a widget that is
    about to be cleared.
    """
    if camera is None:
        return
    for signal in (
        camera.frame_ready,
        camera.analysed,
        camera.unavailable,
        camera.started_ok,
        camera.analysis_failed,
    ):
        disconnect_all(signal)
    camera.stop()
    if camera.isRunning():
        # Still inside a slow read or face analysis (a loaded machine): deleting a running
        # QThread aborts the whole program, so the application keeps it until it ends by itself.
        app = QCoreApplication.instance()
        if app is not None:
            camera.setParent(app)
        camera.finished.connect(camera.deleteLater)
        log.info("camera thread still busy after stop; deleted when it ends")
        return
    camera.deleteLater()
