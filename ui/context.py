"""The dependencies every screen needs, bundled so constructors stay short.

Not a singleton: :func:`ui.main.main` builds one and hands it down; tests build their own with a
scripted camera and scripted prompts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.bio.sources import CameraSource, FrameSource
from ui.dialogs import Prompts
from ui.i18n import I18n
from ui.worker import Runner

if TYPE_CHECKING:
    from app.bio.engine import BioEngine
    from app.desk import Desk, DeskOptions


def default_camera(index: int) -> FrameSource:
    """The workstation camera by index (0 = the first one), not yet opened."""
    return CameraSource(index)


_ENGINE_LOCK = threading.Lock()


@dataclass
class UiContext:
    i18n: I18n
    runner: Runner
    prompts: Prompts
    open_camera: Callable[[int], FrameSource] = default_camera
    # Recorded sources (a video standing in for the camera) are played at this speed.
    camera_pace_fps: float | None = None
    # The face engine (dlib models, ~1 s to load): built on first use, shared by every screen.
    engine_factory: Callable[[], BioEngine] | None = None
    _engine: BioEngine | None = None

    # Base options for the Desk (tests: a cheaper KDF). The shared engine is added to them.
    base_options: DeskOptions | None = None

    def camera_for(
        self, camera_file: str, index: int
    ) -> tuple[Callable[[], FrameSource], float | None]:
        """What the camera screens open: the ``camera_file`` setting's video or photo when it is
        set, else :attr:`open_camera` (device ``index``; tests put a scripted source there).
        Returns the source factory (called in the camera thread) and the rate to pace it at."""
        if camera_file:
            from app.bio.file_camera import PHOTO_FPS, file_source, video_fps
            from app.settings_schema import is_video_file

            fps = video_fps(camera_file) if is_video_file(camera_file) else PHOTO_FPS
            return (lambda: file_source(camera_file)[0]), fps
        return (lambda: self.open_camera(index)), self.camera_pace_fps

    def desk_camera(self, desk: Desk) -> tuple[Callable[[], FrameSource], float | None]:
        """:meth:`camera_for` with the desk's stored camera settings (an unreadable one falls
        back to the first camera device, so a capture page always opens something)."""
        try:
            camera_file = desk.get_setting("camera_file")
            index = int(float(desk.get_setting("camera_index")))
        except Exception:
            camera_file, index = "", 0
        return self.camera_for(camera_file, index)

    def desk_options(self) -> DeskOptions:
        """``DeskOptions`` for unlocking: the shared face engine is handed over as a factory,
        not loaded here. Why (issue 12): loading the models took one to two seconds of every
        sign-in on the 2-core desk PC; they now load in the background after the registry
        shows (:meth:`MainWindow.on_unlocked`), and the first face task waits for them.
        Without models sign-in still works; the capture page says why it cannot."""
        import dataclasses

        from app.desk import DeskOptions

        base = self.base_options or DeskOptions()
        return dataclasses.replace(base, face_engine_factory=self.engine)

    def close(self) -> None:
        """Stop the shared face engine's worker thread (at exit)."""
        with _ENGINE_LOCK:
            if self._engine is not None and self.engine_factory is None:
                self._engine.close()
            self._engine = None

    def engine(self) -> BioEngine:
        """The shared ``app.bio.engine.BioEngine`` (blocking on first call: use the runner)."""
        with _ENGINE_LOCK:
            return self._load_engine()

    def _load_engine(self) -> BioEngine:
        if self._engine is None:
            if self.engine_factory is not None:
                self._engine = self.engine_factory()
            else:
                from app.bio.engine import BioEngine

                self._engine = BioEngine.create()
                # The camera's first frame needs the landmark model: load it now, in the
                # background with the engine, not while the person waits at the camera.
                self._engine.preload_landmarks()
        return self._engine
