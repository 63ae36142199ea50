"""The dependencies every screen needs, bundled so constructors stay short.

Not a singleton: :func:`ui.main.main` builds one and hands it down; tests build their own with a
scripted camera and scripted prompts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.bio.sources import CameraSource, FrameSource
from ui.dialogs import Prompts
from ui.i18n import I18n
from ui.worker import Runner


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
    engine_factory: Callable[[], Any] | None = None
    _engine: Any = None

    def engine(self) -> Any:
        """The shared ``app.bio.engine.BioEngine`` (blocking on first call: use the runner)."""
        with _ENGINE_LOCK:
            return self._load_engine()

    def _load_engine(self) -> Any:
        if self._engine is None:
            if self.engine_factory is not None:
                self._engine = self.engine_factory()
            else:
                from app.bio.engine import BioEngine

                self._engine = BioEngine.create()
        return self._engine
