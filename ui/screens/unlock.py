"""Sign-in, first-start initialisation and the one-time recovery code.

Why key derivation runs in the background: unlocking costs an Argon2id derivation (about half a
second, more on old hardware); on the GUI thread it would freeze the window and look like a
hang. While it runs the form is disabled, so a double click cannot queue two attempts.

The screen shows nothing personal: only the organisation name after the first unlock is never
cached here, so a locked workstation reveals nothing but the login form.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import ConsentDeskError, LockedOut, WrongPassword
from ui.dialogs import Prompts, detached, error_text
from ui.i18n import I18n
from ui.password_meter import PasswordMeter
from ui.theme import set_role
from ui.worker import Runner

if TYPE_CHECKING:
    from app.desk import Desk, DeskOptions
    from app.upgrade import UpgradeStep

log = logging.getLogger(__name__)

MIN_PASSWORD = 8  # the core's own minimum; the core checks again


def _centered(inner: QWidget) -> QWidget:
    outer = QWidget()
    lay = QVBoxLayout(outer)
    lay.addStretch(1)
    lay.addWidget(inner, 0, Qt.AlignmentFlag.AlignHCenter)
    lay.addStretch(2)
    return outer


T = TypeVar("T")


class UnlockScreen(QWidget):
    """Emits :attr:`unlocked` with the open Desk."""

    unlocked = Signal(object)

    def __init__(
        self,
        home: Path,
        desk_cls: type[Desk],
        i18n: I18n,
        runner: Runner,
        prompts: Prompts,
        options: Callable[[], DeskOptions] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``options`` builds the ``DeskOptions`` (with the shared face engine) in the worker."""
        super().__init__(parent)
        self.options = options
        self.home = home
        self.desk_cls = desk_cls
        self.i18n = i18n
        self.runner = runner
        self.prompts = prompts
        self._busy = False
        self._wait_until = 0.0  # time.monotonic() before which no attempt is allowed
        # What the sign-in message says, re-read on every language switch and countdown tick.
        self._message: Callable[[], str] | None = None
        # The newest step of an upgrade at sign-in, written by the worker thread (one reference
        # assignment) and shown by the GUI thread when the worker's progress signal arrives.
        self._upgrade: UpgradeStep | None = None
        self._upgrade_notice: object = None  # why no space was given back (app.compact_file)
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._tick)

        self.stack = QStackedWidget()
        self.stack.addWidget(_centered(self._build_login()))
        self.stack.addWidget(_centered(self._build_init()))
        lay = QVBoxLayout(self)
        lay.addWidget(self.stack)
        i18n.changed.connect(self._language_changed)
        self.refresh()

    # -- building ------------------------------------------------------------------------------
    def _build_login(self) -> QWidget:
        box = QWidget()
        box.setMinimumWidth(460)
        lay = QVBoxLayout(box)
        title = QLabel()
        set_role(title, "title")
        self.i18n.bind(title.setText, "unlock.title")
        sub = QLabel()
        sub.setWordWrap(True)
        set_role(sub, "hint")
        self.i18n.bind(sub.setText, "unlock.subtitle")
        form = QFormLayout()
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        user_label, pass_label = QLabel(), QLabel()
        self.i18n.bind(user_label.setText, "unlock.username")
        self.i18n.bind(pass_label.setText, "unlock.password")
        self.i18n.bind(self.username.setAccessibleName, "unlock.username")
        self.i18n.bind(self.password.setAccessibleName, "unlock.password")
        user_label.setBuddy(self.username)
        pass_label.setBuddy(self.password)
        form.addRow(user_label, self.username)
        form.addRow(pass_label, self.password)
        self.login_button = QPushButton()
        set_role(self.login_button, "primary")
        self.login_button.setDefault(True)
        self.i18n.bind(self.login_button.setText, "unlock.submit")
        self.login_button.clicked.connect(self.submit_login)
        self.password.returnPressed.connect(self.submit_login)
        self.username.returnPressed.connect(self.password.setFocus)
        self.recovery_button = QPushButton()
        self.recovery_button.setFlat(True)
        self.i18n.bind(self.recovery_button.setText, "unlock.recovery")
        self.recovery_button.clicked.connect(self.submit_recovery)
        self.login_message = QLabel()
        self.login_message.setWordWrap(True)
        set_role(self.login_message, "error")
        self.login_message.setAccessibleName("status")
        for heading in (title, sub):
            lay.addWidget(heading)
        lay.addLayout(form)
        lay.addWidget(self.login_button)
        lay.addWidget(self.login_message)
        lay.addWidget(self.recovery_button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _build_init(self) -> QWidget:
        box = QWidget()
        box.setMinimumWidth(560)
        lay = QVBoxLayout(box)
        title = QLabel()
        set_role(title, "title")
        self.i18n.bind(title.setText, "init.title")
        sub = QLabel()
        sub.setWordWrap(True)
        set_role(sub, "hint")
        self.i18n.bind(sub.setText, "init.subtitle")
        form = QFormLayout()
        self.org = QLineEdit()
        self.admin = QLineEdit()
        self.admin.setText("admin")
        self.init_pw = QLineEdit()
        self.init_pw2 = QLineEdit()
        for w in (self.init_pw, self.init_pw2):
            w.setEchoMode(QLineEdit.EchoMode.Password)
        for key, widget in (
            ("init.org", self.org),
            ("init.admin", self.admin),
            ("init.password", self.init_pw),
            ("init.password2", self.init_pw2),
        ):
            label = QLabel()
            self.i18n.bind(label.setText, key)
            self.i18n.bind(widget.setAccessibleName, key)
            label.setBuddy(widget)
            form.addRow(label, widget)
            if widget is self.init_pw:  # issue-11: strength as one types, the core's measure
                self.init_meter = PasswordMeter(
                    self.i18n, self.init_pw, lambda: [self.admin.text(), self.org.text()]
                )
                form.addRow("", self.init_meter)
        self.init_button = QPushButton()
        set_role(self.init_button, "primary")
        self.i18n.bind(self.init_button.setText, "init.submit")
        self.init_button.clicked.connect(self.submit_init)
        self.init_pw2.returnPressed.connect(self.submit_init)
        self.init_message = QLabel()
        self.init_message.setWordWrap(True)
        set_role(self.init_message, "error")
        for heading in (title, sub):
            lay.addWidget(heading)
        lay.addLayout(form)
        lay.addWidget(self.init_button)
        lay.addWidget(self.init_message)
        return box

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show init on first start, sign-in otherwise; clear every field. A back-off still
        running (after a restart, say) is counted down before anyone types."""
        for w in (self.username, self.password, self.init_pw, self.init_pw2):
            w.clear()
        self._wait_until = 0.0
        self._countdown.stop()
        self._say(None)
        self.init_message.clear()
        first_start = not self.desk_cls.exists(self.home)
        self.stack.setCurrentIndex(1 if first_start else 0)
        (self.org if first_start else self.username).setFocus()
        if not first_start:
            self._set_busy(False)
            if self._check_backoff():
                self._say(self._locked_message)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.stack.currentIndex() == 0 and not self._busy and self._check_backoff():
            self._say(self._message or self._locked_message)

    def _locked_message(self) -> str:
        return self.i18n.tr("err.locked_out")

    def _check_backoff(self, at_least: float = 0.0) -> bool:
        """Ask the vault how long sign-in is still refused; count down if it is. True while
        waiting."""
        try:
            wait = float(self.desk_cls.retry_after(self.home))
        except Exception as exc:  # an unreadable back-off state must not block the form
            log.warning("retry_after failed: %s", type(exc).__name__)
            wait = 0.0
        wait = max(wait, at_least)
        if wait > 0:
            self._wait_until = max(self._wait_until, time.monotonic() + wait)
            self._countdown.start()
            self._tick()
        return self._wait_until > time.monotonic()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in (
            self.username,
            self.password,
            self.login_button,
            self.recovery_button,
            self.org,
            self.admin,
            self.init_pw,
            self.init_pw2,
            self.init_button,
        ):
            w.setEnabled(not busy)
        if not busy and self._wait_until:
            self._tick()

    def _language_changed(self, _lang: str) -> None:
        self._render()

    def _say(self, message: Callable[[], str] | None) -> None:
        self._message = message
        self._render()

    def _render(self) -> None:
        """The message, plus the countdown line while a back-off runs."""
        text = self._message() if self._message is not None else ""
        remaining = self._wait_until - time.monotonic()
        if self._wait_until and remaining > 0:
            wait = self.i18n.tr("unlock.wait", seconds=math.ceil(remaining))
            text = f"{text}\n{wait}" if text else wait
        self.login_message.setText(text)

    def _tick(self) -> None:
        remaining = self._wait_until - time.monotonic()
        waiting = remaining > 0
        if not waiting:
            self._wait_until = 0.0
            self._countdown.stop()
            if self._message == self._locked_message:
                self._message = None  # the wait is over: nothing left to say
        self.login_button.setEnabled(not waiting and not self._busy)
        self.recovery_button.setEnabled(not waiting and not self._busy)
        self._render()

    def _failed(self, exc: BaseException, recovery: bool = False) -> None:
        self._set_busy(False)
        self.password.clear()
        self.password.setFocus()
        if recovery and isinstance(exc, WrongPassword):
            self._say(lambda: self.i18n.tr("unlock.recovery.wrong"))
        elif isinstance(exc, LockedOut):
            self._say(self._locked_message)
        elif isinstance(exc, ConsentDeskError):
            shown = detached(exc)  # no traceback kept: its frames held the password
            self._say(lambda: error_text(shown, self.i18n))
        else:
            text = error_text(exc, self.i18n)
            self._say(lambda: text)
        wait = exc.retry_after if isinstance(exc, WrongPassword | LockedOut) else 0.0
        self._check_backoff(float(wait or 0.0))

    # -- actions -------------------------------------------------------------------------------
    def submit_login(self) -> None:
        if not self.login_button.isEnabled():
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self._say(lambda: self.i18n.tr("unlock.missing"))
            return
        self._set_busy(True)
        self._upgrade = None
        self._upgrade_notice = None
        self._say(lambda: self.i18n.tr("unlock.working"))
        self.runner.submit(
            self._call,
            self.desk_cls.unlock,
            self.home,
            username,
            password,
            on_done=self._opened,
            on_error=self._failed,
            on_progress=self._upgrade_shown,
        )

    def submit_recovery(self) -> None:
        if not self.recovery_button.isEnabled():
            return
        code = self.prompts.text(
            self,
            self.i18n.tr("unlock.recovery"),
            self.i18n.tr("unlock.recovery.prompt"),
            secret=True,
        )
        if not code:
            return
        self._set_busy(True)

        def opened(desk: Desk) -> None:
            self._opened(desk)
            # The code stood in for a lost password: set a new one before anything else.
            self.prompts.info(self, self.i18n.tr("unlock.recovered", user=desk.user.username))

        self.runner.submit(
            self._call,
            self.desk_cls.unlock_with_recovery,
            self.home,
            code.strip(),
            on_done=opened,
            on_error=lambda exc: self._failed(exc, recovery=True),
            on_progress=self._upgrade_shown,
        )

    def submit_init(self) -> None:
        org, admin = self.org.text().strip(), self.admin.text().strip()
        pw, pw2 = self.init_pw.text(), self.init_pw2.text()
        if not org or not admin or not pw:
            self.init_message.setText(self.i18n.tr("init.fill"))
            return
        if pw != pw2:
            self.init_message.setText(self.i18n.tr("init.mismatch"))
            return
        if len(pw) < MIN_PASSWORD:
            self.init_message.setText(self.i18n.tr("init.short"))
            return
        weak = self.init_meter.problem()
        if weak is not None:
            self.init_message.setText(weak)
            return
        self._set_busy(True)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.init_message.setText(error_text(exc, self.i18n))

        def created(result: tuple[Desk, str]) -> None:
            desk, code = result
            self._set_busy(False)
            self.init_pw.clear()
            self.init_pw2.clear()
            self.prompts.recovery_code(self, code, org)
            self._opened(desk)

        self.runner.submit(
            self._call,
            self.desk_cls.initialise,
            self.home,
            org,
            admin,
            pw,
            on_done=created,
            on_error=failed,
        )

    def _call(
        self,
        verb: Callable[..., T],
        *args: object,
        progress: Callable[[int, int], None] | None = None,
    ) -> T:
        """Runs in the worker: build the options (may load the face models), then the verb.

        An upgrade at sign-in (minutes on a large vault) reports each step through
        ``progress``: the screen says which step and how far, instead of looking hung."""
        if self.options is None:
            return verb(*args)
        options = self.options()
        if progress is not None:
            last: list[tuple[int, int]] = []

            def upgrading(step: UpgradeStep) -> None:
                if step.notice:
                    self._upgrade_notice = step.notice
                shown = (step.number, int(step.fraction * 100))
                if last and last[-1] == shown:
                    return  # the same line again: no signal
                last[:] = [shown]
                self._upgrade = step
                progress(step.number, step.steps)

            options = dataclasses.replace(options, upgrade_progress=upgrading)
        return verb(*args, options=options)

    def _upgrade_shown(self, _number: int, _steps: int) -> None:
        step = self._upgrade
        if step is None or not self._busy:
            return

        def text() -> str:
            return self.i18n.tr(
                "unlock.upgrading",
                step=step.number,
                steps=step.steps,
                what=self.i18n.tr(f"unlock.upgrading.{step.kind}"),
                percent=int(step.fraction * 100),
            )

        self._say(text)

    def _opened(self, desk: Desk) -> None:
        self._set_busy(False)
        self.password.clear()
        self._say(None)
        notice, self._upgrade_notice = self._upgrade_notice, None
        self.unlocked.emit(desk)
        code = getattr(notice, "code", None)
        if code is not None:  # the upgrade could not give the space back: told once, in words
            params = dict(getattr(notice, "params", {}))
            self.prompts.info(self, self.i18n.tr(f"unlock.{code}", **params), warning=True)
