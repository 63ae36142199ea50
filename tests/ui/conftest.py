"""Fixtures for driving the real UI against a real temporary vault, offscreen.

The camera is the shared video clip played at its own speed; modal dialogs are replaced by a
scripted :class:`ScriptedPrompts`, so no flow can block on a dialog nobody clicks.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.vaultkit import sign_necessity  # issue-16

ADMIN = "admin"
PASSWORD = "correct horse battery"
ORG = "Harbour View Residences"


class ScriptedPrompts:
    """Stands in for :class:`ui.dialogs.Prompts`: answers from attributes, records questions."""

    def __init__(self, i18n: Any, tmp: Path) -> None:
        self.i18n = i18n
        self.tmp = tmp
        self.confirm_answer = True
        self.typed_answer = True
        self.open_answer: str | None = None
        self.text_answer: str | None = None
        self.text_answers: list[str | None] = []  # answered first, in order
        self.texts_asked: list[str] = []
        self.errors: list[str] = []
        self.infos: list[str] = []
        self.confirms: list[str] = []
        self.recovery_codes: list[str] = []
        self.recovery_replaces: list[bool] = []
        self.saved: list[str] = []

    def error(self, parent: Any, exc: BaseException) -> None:
        from ui.dialogs import error_text

        self.errors.append(error_text(exc, self.i18n))

    def info(self, parent: Any, text: str, *, warning: bool = False) -> None:
        self.infos.append(text)

    def confirm(self, parent: Any, text: str) -> bool:
        self.confirms.append(text)
        return self.confirm_answer

    def typed_confirm(self, parent: Any, title: str, body: str, word: str) -> bool:
        self.confirms.append(body)
        return self.typed_answer

    def text(self, parent: Any, title: str, label: str, *, secret: bool = False) -> str | None:
        self.texts_asked.append(label)
        if self.text_answers:
            return self.text_answers.pop(0)
        return self.text_answer

    def save_path(self, parent: Any, suggested: str, file_filter: str) -> str | None:
        path = str(self.tmp / Path(suggested).name)
        self.saved.append(path)
        return path

    def open_path(self, parent: Any, file_filter: str) -> str | None:
        return self.open_answer

    def recovery_code(self, parent: Any, code: str, org: str, *, replaces: bool = False) -> None:
        self.recovery_codes.append(code)
        self.recovery_replaces.append(replaces)


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """One face engine for the whole session (loading the models takes about a second)."""
    from app.bio.engine import BioEngine

    eng = BioEngine.create()
    yield eng
    eng.close()


@pytest.fixture(scope="session", autouse=True)
def no_thread_outlives_the_session(qapp: Any) -> Iterator[None]:
    """A camera thread stopped while busy is handed to the application (ui.camera.dispose) and
    ends on its own; the test process must not end under it, exactly as ui.main waits at exit,
    or Qt aborts with "QThread: Destroyed while thread is still running"."""
    yield
    from PySide6.QtCore import QThread

    from ui.camera import CameraThread

    CameraThread.stop_all(30000)
    for thread in qapp.findChildren(QThread):
        thread.wait(30000)


@pytest.fixture(autouse=True)
def no_camera_left_running(qapp: Any) -> Iterator[None]:
    """After each test (and its window's teardown, which locks it): no camera thread may still
    be running unless it was asked to stop. One that nobody stopped was destroyed running at
    exit and Qt aborted the process (the 5-minute soak, exit 134); it is stopped here and the
    test fails, naming the leak instead of a crash far away."""
    yield
    from ui.camera import CameraThread

    leaked = CameraThread.stop_all(30000)
    assert not leaked, f"{len(leaked)} camera thread(s) left running that nobody stopped"


@pytest.fixture(scope="session")
def themed(qapp: Any) -> Any:
    from ui.theme import apply_theme

    apply_theme(qapp)
    return qapp


def cheap_options() -> Any:
    from app.desk import DeskOptions
    from app.keyslots import KdfParams

    return DeskOptions(kdf=KdfParams(time_cost=1, memory_cost=8192, parallelism=1))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A real vault with one admin and one purpose, locked again."""
    from app.desk import Desk

    path = tmp_path / "home"
    desk, _code = Desk.initialise(path, ORG, ADMIN, PASSWORD, options=cheap_options())
    purpose = desk.add_purpose(
        title="Building entry",
        controller=ORG,
        contact="privacy@harbour.example",
        retention_days=365,
        alternative="A key card from the front desk",
        description="Opening the lobby doors for residents.",
        title_zh="大楼入口",  # issue-13: shown in Chinese only with its Chinese texts
        controller_zh="海港物业",
        alternative_zh="在前台领取门禁卡",
        description_zh="为住户开启大堂门。",
    )
    sign_necessity(desk, purpose)  # issue-16: enrolment needs a signed necessity test
    desk.lock()
    return path


@pytest.fixture
def camera_video(video: Path) -> Any:
    from app.bio.sources import VideoFileSource

    return lambda _index: VideoFileSource(video, loop=True)


@pytest.fixture
def ctx(themed: Any, tmp_path: Path, engine: Any, camera_video: Any) -> Iterator[Any]:
    from ui.context import UiContext
    from ui.i18n import I18n
    from ui.worker import Runner

    i18n = I18n("en")
    runner = Runner()
    prompts = ScriptedPrompts(i18n, tmp_path)
    context = UiContext(
        i18n=i18n,
        runner=runner,
        prompts=prompts,  # type: ignore[arg-type]
        open_camera=camera_video,
        camera_pace_fps=30.0,
        engine_factory=lambda: engine,
        base_options=cheap_options(),
    )
    yield context
    runner.wait(20000)


@pytest.fixture
def window(qtbot: Any, home: Path, ctx: Any) -> Iterator[Any]:
    from app.desk import Desk
    from ui.app_window import MainWindow

    win = MainWindow(home, Desk, ctx)
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.workspace is not None:
        win.lock()
    win.autolock.disarm()


def unlock(qtbot: Any, win: Any, username: str = ADMIN, password: str = PASSWORD) -> Any:
    screen = win.unlock_screen
    screen.username.setText(username)
    screen.password.setText(password)
    screen.login_button.click()
    qtbot.waitUntil(lambda: win.workspace is not None, timeout=15000)
    return win.workspace


def sign(pad: Any) -> None:
    """A zigzag long and tall enough to pass the core's signature rules."""
    width, height = pad.width(), pad.height()
    points = []
    for i in range(40):
        x = width * (0.15 + 0.7 * i / 39)
        y = height * (0.3 if i % 2 else 0.7)
        points.append((x, y))
    pad.add_stroke(points)
