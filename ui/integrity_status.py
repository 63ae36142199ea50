"""The full integrity check after sign-in, on the background helper, in the status bar.

Why here and not at sign-in (issue 12): reading every page of a large vault takes minutes, so
sign-in only runs the cheap checks and this runs the full ones when they are due (at least
daily), never blocking work. Progress shows in the status bar; a failure locks writes in the
core and is told to the operator at once (an admin is asked to restore a backup).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from ui.context import UiContext
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk
    from app.integrity import FullCheckResult
    from ui.i18n import I18n

log = logging.getLogger(__name__)

# The check starts this long after sign-in, so the first screens and the face gallery load on
# an idle machine (2 cores): a front-desk worker sees the registry first.
START_DELAY_MS = 45_000


class IntegrityStatus(QObject):
    """Starts the due full check for a desk and reports it in ``bar``."""

    def __init__(self, bar: QStatusBar, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(parent)
        self._bar = bar
        self._ctx = ctx
        self._parent = parent
        self._desk: Desk | None = None
        self.label = QLabel()
        bar.addPermanentWidget(self.label)
        self.label.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._begin)
        # What the label says, kept as a key so a language switch re-says it.
        self._shown: tuple[str, dict[str, object]] | None = None
        ctx.i18n.changed.connect(lambda _language: self._render())

    def start(self, desk: Desk, *, force: bool = False, delay_ms: int = START_DELAY_MS) -> bool:
        """Run the full check in the background when it is due (or ``force``), ``delay_ms``
        after sign-in; True if it was scheduled."""
        self._desk = desk
        try:
            due = force or desk.full_check_status().due
        except Exception:
            log.exception("reading the last integrity check failed")
            return False
        if desk.writes_locked:
            self._show_failed()
        if not due:
            return False
        self._timer.start(max(0, delay_ms))
        return True

    def _begin(self) -> None:
        desk = self._desk
        if desk is None or desk.locked:
            return
        self._progress(0, 100)
        self.label.show()
        self._ctx.runner.submit(
            self._run, desk, on_done=self._done, on_error=self._failed, on_progress=self._progress
        )

    @staticmethod
    def _run(desk: Desk, progress: object = None) -> FullCheckResult:
        report = progress if callable(progress) else None
        return desk.full_check(
            (lambda f: report(int(f * 100), 100)) if report is not None else None
        )

    def stop(self) -> None:
        """At lock: the check stops early (the next sign-in starts it again)."""
        self._timer.stop()
        if self._desk is not None:
            self._desk.integrity.cancel()
        self._desk = None
        self.label.hide()

    def _progress(self, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 0
        self._say("integrity.running", percent=percent)

    def _done(self, result: FullCheckResult) -> None:
        if result.cancelled:
            self.label.hide()
            return
        if result.ok:
            self.label.hide()
            self._bar.showMessage(self._ctx.i18n.tr("integrity.passed"), 15000)
            return
        self._show_failed()
        self._ctx.prompts.info(
            self._parent, self._ctx.i18n.tr("integrity.failed.body"), warning=True
        )

    def _failed(self, exc: BaseException) -> None:
        log.error("the full integrity check could not run: %s", type(exc).__name__)
        self.label.hide()

    def _show_failed(self) -> None:
        set_role(self.label, "warning")
        self._say("integrity.failed")
        self.label.show()

    def _say(self, key: str, **params: object) -> None:
        self._shown = (key, params)
        self._render()

    def _render(self) -> None:
        if self._shown is not None:
            key, params = self._shown
            self.label.setText(self._ctx.i18n.tr(key, **params))


def full_check_text(desk: Desk, i18n: I18n) -> str:
    """ "Last full integrity check: DATE (passed)" for Settings."""
    status = desk.full_check_status()
    if status.at is None:
        return i18n.tr("integrity.last.never")
    when = status.at.astimezone().strftime("%Y-%m-%d %H:%M")
    key = "integrity.last.ok" if status.ok else "integrity.last.failed"
    return i18n.tr(key, when=when)
