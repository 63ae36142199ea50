"""Auto-lock, sign-in failures, missing or unplugged cameras, language switching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QTextEdit, QWidget

from tests.ui.conftest import unlock
from tests.ui.helpers import (
    SKIP_REASON,
    capture_manually,
    fill_details,
    open_wizard,
    read_and_decide,
    save_review,
    sign_and_continue,
)


def _visible_texts(root: QWidget) -> str:
    parts = []
    for w in [root, *root.findChildren(QWidget)]:
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            parts.append(w.text())
        elif isinstance(w, QTextEdit):
            parts.append(w.toPlainText())
    return "\n".join(parts)


def test_wrong_password_shows_message_and_backoff(qtbot: Any, window: Any) -> None:
    screen = window.unlock_screen
    for _ in range(4):
        qtbot.waitUntil(lambda: screen.login_button.isEnabled(), timeout=10000)
        screen.username.setText("admin")
        screen.password.setText("not the password")
        screen.login_button.click()
        qtbot.waitUntil(
            lambda: (
                "Wrong" in screen.login_message.text() or "Too many" in screen.login_message.text()
            ),
            timeout=10000,
        )
    assert window.workspace is None
    # After the free attempts the form counts down before the next one is allowed.
    assert "wait" in screen.login_message.text().lower()
    assert not screen.login_button.isEnabled()


def test_ctrl_l_and_inactivity_lock_drop_personal_data(qtbot: Any, window: Any) -> None:
    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    fill_details(qtbot, wizard, "Zhang Wei", reference="Unit 5D")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    capture_manually(qtbot, wizard)
    save_review(qtbot, wizard)
    ws.tabs.setCurrentWidget(ws.registry)
    qtbot.waitUntil(lambda: ws.registry.model.rowCount() == 1, timeout=5000)
    ws.registry.table.selectRow(0)
    assert "Zhang Wei" in _visible_texts(window)

    window.activateWindow()
    qtbot.waitActive(window)
    # Through the window system (like a real key press), where Qt resolves shortcuts.
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.workspace is None, timeout=10000)
    qtbot.wait(50)  # let deleteLater run
    assert "Zhang Wei" not in _visible_texts(window)
    assert "Unit 5D" not in _visible_texts(window)
    assert window.stack.currentWidget() is window.unlock_screen
    assert window.desk is None
    # Nothing personal is still referenced from Python once the workspace is gone.
    import gc

    qtbot.wait(400)
    gc.collect()
    from app.models import Person

    leftovers = [o for o in gc.get_objects() if isinstance(o, Person) and o.name == "Zhang Wei"]
    assert not leftovers, [gc.get_referrers(o) for o in leftovers][:1]

    # Inactivity: a very short timeout locks by itself; input restarts the timer.
    ws = unlock(qtbot, window)
    window.autolock.set_minutes(0.005)  # 300 ms
    window.autolock.arm()
    qtbot.waitUntil(lambda: window.workspace is None, timeout=5000)
    assert window.stack.currentWidget() is window.unlock_screen


def test_camera_missing_offers_retry_and_photo(
    qtbot: Any, window: Any, faces: Path, tmp_path: Path
) -> None:
    from app.bio.sources import VideoFileSource

    window.ctx.open_camera = lambda _i: VideoFileSource(tmp_path / "no-such-camera.mp4")
    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    fill_details(qtbot, wizard, "No Camera Person")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    page = wizard.capture_page
    qtbot.waitUntil(lambda: page.stack.currentIndex() == 1, timeout=10000)
    assert page.retry_button.isVisible() and page.missing_photo_button.isVisible()
    page.retry_button.click()  # still missing: the same clear state, no crash
    qtbot.waitUntil(lambda: page.stack.currentIndex() == 1, timeout=10000)
    window.ctx.prompts.open_answer = str(faces / "kit_harington_1.jpg")
    window.ctx.prompts.text_answers.append(SKIP_REASON)
    page.missing_photo_button.click()
    qtbot.waitUntil(lambda: wizard.current == "review", timeout=20000)
    result = save_review(qtbot, wizard)
    assert result.consent.liveness.method == "photo-file"
    assert not result.consent.liveness.passed


def test_camera_unplugged_mid_capture(qtbot: Any, window: Any, video: Path) -> None:
    from app.bio.sources import VideoFileSource

    class Unplugged(VideoFileSource):
        """The clip stops delivering frames after half a second, like a pulled cable."""

        def read(self) -> Any:
            frame = super().read()
            if frame is not None and frame.index > 15:
                self._set("error", "The camera stopped delivering pictures.")
                return None
            return frame

    window.ctx.open_camera = lambda _i: Unplugged(video)
    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    fill_details(qtbot, wizard, "Cable Pulled")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    page = wizard.capture_page
    qtbot.waitUntil(lambda: page.stack.currentIndex() == 1, timeout=10000)
    assert page.camera is None


def test_language_switch_translates_whole_ui(qtbot: Any, window: Any) -> None:
    ws = unlock(qtbot, window)
    assert ws.tabs.tabText(0) == "Enroll"
    window.language_button.click()
    assert ws.tabs.tabText(0) == "登记"
    assert window.lock_button.text().startswith("锁定")
    assert "已登录" in window.user_label.text()
    open_wizard(qtbot, ws)
    assert "第 1 步" in ws.wizard.step_label.text()
    window.language_button.click()
    assert ws.tabs.tabText(0) == "Enroll"
    assert ws.wizard.step_label.text().startswith("Step 1")


def test_auto_capture_completes_when_liveness_passes(qtbot: Any, window: Any) -> None:
    """A video cannot blink on request, so the liveness challenge is scripted here to report a
    pass; everything else (camera thread, engine analysis, quality gate, auto-capture hold,
    background encoding, review) is the real flow."""
    from app.bio.capture import AutoCapture
    from app.models import ChallengeStep, LivenessResult

    class PassedChallenge:
        finished = True
        wants_embedding = False

        def feed(self, _obs: Any) -> Any:
            return self.state()

        def state(self) -> Any:
            from app.bio.liveness import LivenessState

            return LivenessState("passed", None, 2, 2, None, None, "passed")

        def result(self) -> LivenessResult:
            return LivenessResult(
                True, (ChallengeStep("blink", True, 800),), 0.2, note="scripted for the test"
            )

        def abort(self, _reason: str) -> LivenessResult:
            return self.result()

    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    fill_details(qtbot, wizard, "Auto Capture")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    page = wizard.capture_page
    page.challenge = PassedChallenge()
    # The clip's faces are small and often turned: accept any single-face frame for the hold.
    page.autocapture = AutoCapture(hold_frames=2, best_n=2)
    page.autocapture._good = lambda report: report.check("face_count").verdict == "pass"
    qtbot.waitUntil(lambda: wizard.current == "review", timeout=30000)
    assert len(wizard.draft.embeddings) == 2
    assert wizard.draft.liveness.passed
    result = save_review(qtbot, wizard)
    assert result.consent.liveness.passed and result.templates_stored == 2


def test_face_engine_missing_is_a_clear_message(
    qtbot: Any, window: Any, monkeypatch: Any, faces: Path
) -> None:
    from app.bio.errors import ModelError
    from app.rooms.faces import Faces

    def broken(_self: Any) -> Any:
        raise ModelError("Face model files were not found.", code="model_missing")

    # The engine lives in the faces room; desk.face_engine and desk.analyse_photo reach it there.
    monkeypatch.setattr(Faces, "engine", property(broken))
    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    fill_details(qtbot, wizard, "Engine Missing")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    page = wizard.capture_page
    qtbot.waitUntil(lambda: "model files" in page.status.text(), timeout=10000)
    assert not page.manual_button.isEnabled()
    window.ctx.prompts.open_answer = str(faces / "obama_1.jpg")
    window.ctx.prompts.text_answers.append(SKIP_REASON)
    page.photo_button.click()
    qtbot.waitUntil(lambda: not page._encoding, timeout=10000)
    assert wizard.current == "capture"
    assert "model files" in page.status.text()


def _fail_sign_ins(home: Path, times: int) -> None:
    """Failed attempts recorded as the vault records them (as if before a restart)."""
    from app.backoff import LoginBackoff
    from app.paths import VaultPaths

    backoff = LoginBackoff(VaultPaths(home).login_state)
    for _ in range(times):
        backoff.record_failure("password")


def test_sign_in_counts_down_a_backoff_left_before_a_restart(
    qtbot: Any, home: Path, ctx: Any
) -> None:
    from app.desk import Desk
    from tests.ui.conftest import PASSWORD
    from ui.app_window import MainWindow

    _fail_sign_ins(home, 4)  # three are free; the fourth costs 2 s
    assert Desk.retry_after(home) > 0
    win = MainWindow(home, Desk, ctx)
    qtbot.addWidget(win)
    win.show()
    screen = win.unlock_screen
    # Before anyone types: the wait is shown and the button is off.
    assert not screen.login_button.isEnabled()
    assert not screen.recovery_button.isEnabled()
    assert "Too many" in screen.login_message.text()
    assert "wait" in screen.login_message.text()
    win.language_button.click()
    assert "请等待" in screen.login_message.text()
    win.language_button.click()
    screen.username.setText("admin")
    screen.password.setText(PASSWORD)
    qtbot.keyClick(screen.password, "\r")  # Enter does nothing while waiting
    assert win.workspace is None
    qtbot.waitUntil(lambda: screen.login_button.isEnabled(), timeout=5000)
    assert screen.login_message.text() == ""  # the wait is over: nothing left to say
    screen.login_button.click()
    qtbot.waitUntil(lambda: win.workspace is not None, timeout=15000)
    win.lock()
    assert screen.login_button.isEnabled() and not screen.login_message.text()
    win.autolock.disarm()


def test_sign_in_failure_asks_the_vault_how_long_to_wait(
    qtbot: Any, window: Any, monkeypatch: Any
) -> None:
    from app.desk import Desk

    asked: list[Path] = []

    def retry_after(home: Path) -> float:
        asked.append(home)
        return 3.0

    screen = window.unlock_screen
    monkeypatch.setattr(Desk, "retry_after", staticmethod(retry_after))
    screen.username.setText("admin")
    screen.password.setText("not the password")
    screen.login_button.click()  # the first failure is free: the error carries no wait
    qtbot.waitUntil(lambda: "Wrong" in screen.login_message.text(), timeout=10000)
    assert asked  # ... but the vault's own count is what the screen believes
    assert "wait 3 s" in screen.login_message.text()
    assert not screen.login_button.isEnabled()


def _running_qthreads() -> list[Any]:
    """Every QThread object Python still knows of whose thread is running (gc, not only the
    camera registry: whatever kind of thread a screen leaves behind counts)."""
    import gc

    import shiboken6
    from PySide6.QtCore import QThread

    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, QThread) and shiboken6.isValid(obj) and obj.isRunning()
    ]


def test_retry_after_failed_liveness_and_auto_lock_leaves_no_thread_running(
    qtbot: Any, window: Any
) -> None:
    """The 5-minute soak passed and then aborted at exit ("QThread: Destroyed while thread ''
    is still running", exit 134): at minute five auto-lock fired on the capture page, whose
    liveness challenge had failed, and Retry was pressed on that locked-away page. It started
    a camera that nobody would ever stop; it looped the video until Qt destroyed it at exit."""
    import dataclasses

    from app.bio.liveness import LivenessChallenge
    from app.bio.thresholds import LIVENESS

    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    fill_details(qtbot, wizard, "Retry After Lock")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    page = wizard.capture_page
    failed_text = page.i18n.text("live.failed", "en")
    impatient = dataclasses.replace(LIVENESS, baseline_timeout_s=0.3, prompt_timeout_s=0.3)

    # A video cannot follow the prompts: the (real) challenge fails, as it did in the soak.
    page.challenge = LivenessChallenge(impatient)
    qtbot.waitUntil(lambda: page.prompt.text() == failed_text, timeout=30000)
    # Retry while signed in: a new camera and a fresh challenge.
    first = page.camera
    page.retry_live_button.click()
    assert page.camera is not None and page.camera is not first
    assert not page.challenge.finished
    qtbot.waitUntil(lambda: page.camera is not None and page.camera.frames > 0, timeout=20000)
    page.challenge = LivenessChallenge(impatient)
    qtbot.waitUntil(lambda: page.prompt.text() == failed_text, timeout=30000)

    window.autolock.expired.emit()  # five minutes without input
    assert window.workspace is None and page.camera is None
    page.retry_live_button.click()  # the page is gone from the screen; its Retry starts nothing
    assert page.camera is None
    qtbot.waitUntil(lambda: not _running_qthreads(), timeout=10000)
