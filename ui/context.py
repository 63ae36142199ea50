"""The dependencies every screen needs, bundled so constructors stay short.

Not a singleton: :func:`ui.main.main` builds one and hands it down; tests build their own with a
scripted camera and scripted prompts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ui.camera import FrameSource, OpenCvSource
from ui.dialogs import Prompts
from ui.i18n import I18n
from ui.worker import Runner


def default_camera(index: int) -> FrameSource:
    """The workstation camera by index (0 = the first one)."""
    return OpenCvSource(index, loop=False)


@dataclass
class UiContext:
    i18n: I18n
    runner: Runner
    prompts: Prompts
    open_camera: Callable[[int], FrameSource] = default_camera
