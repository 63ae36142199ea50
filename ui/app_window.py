"""The main window: the unlock screen or, once signed in, the workspace with its tabs.

Why the workspace is rebuilt on every unlock: locking must leave nothing personal in memory that
the UI holds. Rather than clearing each model and label by hand (and forgetting one), the whole
workspace widget tree is deleted on lock, the desk is locked (which closes the vault and wipes the
key) and a fresh workspace is built after the next sign-in.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.instance import WindowLock
from ui.autolock import AutoLock
from ui.clock_banner import ClockHoldBanner
from ui.context import UiContext
from ui.integrity_status import IntegrityStatus
from ui.readonly_banner import ReadOnlyBanner
from ui.screens.unlock import UnlockScreen
from ui.theme import set_role

ELSEWHERE_POLL_MS = 2000  # how often a workspace looks for changes made by another session
# When the face models start loading if the registry was not opened first (after sign-in).
FACE_WARMUP_MS = 1500

if TYPE_CHECKING:
    from app.desk import Desk
    from ui.screens.compliance import ComplianceScreen
    from ui.screens.settings import SettingsScreen

log = logging.getLogger(__name__)


class Workspace(QWidget):
    """The signed-in tabs. Owns every widget that may show personal data."""

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ui.compliance_banner import ComplianceBanner
        from ui.screens.compliance import ComplianceScreen
        from ui.screens.registry import RegistryScreen
        from ui.screens.settings import SettingsScreen
        from ui.screens.withdrawal import WithdrawalScreen
        from ui.screens.wizard import EnrollmentWizard

        self.desk = desk
        self.ctx = ctx
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.wizard = EnrollmentWizard(desk, ctx)
        self.registry = RegistryScreen(desk, ctx)
        self.withdrawal = WithdrawalScreen(desk, ctx)
        self.tabs.addTab(self.wizard, "")
        self.tabs.addTab(self.registry, "")
        self.tabs.addTab(self.withdrawal, "")
        keys = ["tab.enroll", "tab.registry", "tab.withdraw"]
        self.settings: SettingsScreen | None = None
        self.compliance: ComplianceScreen | None = None
        if desk.user.role == "admin":
            self.settings = SettingsScreen(desk, ctx)
            self.tabs.addTab(self.settings, "")
            keys.append("tab.settings")
            # issue-16/17: the regulator's questions and the doors' freshness, admins only
            self.compliance = ComplianceScreen(desk, ctx)
            self.tabs.addTab(self.compliance, "")
            keys.append("tab.compliance")
        tabs = self.tabs
        for index, key in enumerate(keys):
            ctx.i18n.bind(functools.partial(_set_tab_text, tabs, index), key)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.registry.person.withdraw_requested.connect(self._to_withdrawal)
        # Shown only while a clock jump holds automatic purging (issue 10).
        self.clock_banner = ClockHoldBanner(desk, ctx)
        # Shown while the vault is read-only because its disk is full (issue 11).
        self.read_only_banner = ReadOnlyBanner(desk, ctx)
        # Overdue requests and devices, the filing threshold: seen at sign-in (issues 16, 17).
        self.compliance_banner = ComplianceBanner(desk, ctx, self.show_compliance)
        self.compliance_banner.refresh()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.read_only_banner)
        lay.addWidget(self.clock_banner)
        lay.addWidget(self.compliance_banner)
        lay.addWidget(self.tabs)
        # Another window or the CLI on the same vault may withdraw or erase the person shown
        # here: look every few seconds (a cheap, non-blocking PRAGMA) and refresh what shows
        # them, instead of offering actions on stale data or failing with "not found".
        self._seen_version = desk.seen_version()
        self.elsewhere = QTimer(self)
        self.elsewhere.setInterval(ELSEWHERE_POLL_MS)
        self.elsewhere.timeout.connect(self.check_elsewhere)
        self.elsewhere.start()

    def check_elsewhere(self) -> bool:
        """Refresh the screens showing a person when another session changed the vault."""
        try:
            version = self.desk.seen_version()
        except Exception:  # locked meanwhile: the workspace is going away
            return False
        if version is None or version == self._seen_version:
            return False
        self._seen_version = version
        self.registry.changed_elsewhere()
        self.withdrawal.changed_elsewhere()
        return True

    def show_compliance(self) -> None:
        if self.compliance is not None:
            self.tabs.setCurrentWidget(self.compliance)

    def _to_withdrawal(self, person_id: str) -> None:
        self.tabs.setCurrentWidget(self.withdrawal)
        self.withdrawal.open_person(person_id)

    def _tab_changed(self, index: int) -> None:
        """Tell the screen it is shown (refresh its lists, start what runs only in view)."""
        # Leaving the withdrawal desk stops its face search: no camera runs on a hidden tab.
        if self.tabs.widget(index) is not self.withdrawal:
            self.withdrawal.deactivated()
        widget = self.tabs.widget(index)
        if widget is self.registry:
            self.registry.activated()
        elif widget is self.withdrawal:
            self.withdrawal.activated()
        elif self.settings is not None and widget is self.settings:
            self.settings.activated()
        elif self.compliance is not None and widget is self.compliance:
            self.compliance.activated()
            self.compliance_banner.refresh()

    def shutdown(self) -> None:
        """Stop cameras and forget pending results before the widgets go away."""
        self.elsewhere.stop()
        self.wizard.shutdown()
        self.registry.shutdown()
        self.withdrawal.shutdown()
        if self.settings is not None:
            self.settings.shutdown()


def _set_tab_text(tabs: QTabWidget, index: int, text: str) -> None:
    tabs.setTabText(index, text)


class MainWindow(QMainWindow):
    def __init__(
        self, home: Path, desk_cls: type[Desk], ctx: UiContext, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.home = home
        self.ctx = ctx
        self.desk: Desk | None = None
        self.workspace: Workspace | None = None
        self._faces_warming: Desk | None = None  # the desk whose face models were asked for
        i18n = ctx.i18n
        i18n.bind(self.setWindowTitle, "app.title")
        self.resize(1280, 860)

        bar = QWidget()
        bar_lay = QHBoxLayout(bar)
        bar_lay.setContentsMargins(12, 6, 12, 6)
        title = QLabel()
        set_role(title, "title")
        i18n.bind(title.setText, "app.title")
        self.user_label = QLabel()
        self.language_button = QPushButton()
        i18n.bind(self.language_button.setText, "app.language")
        i18n.bind(self.language_button.setAccessibleName, "app.language.name")
        self.language_button.clicked.connect(self.toggle_language)
        self.password_button = QPushButton()  # every staff member, not only admins
        i18n.bind(self.password_button.setText, "app.my_password")
        self.password_button.clicked.connect(self.change_my_password)
        self.lock_button = QPushButton()
        i18n.bind(self.lock_button.setText, "app.lock")
        self.lock_button.clicked.connect(self.lock)
        bar_lay.addWidget(title)
        bar_lay.addStretch(1)
        bar_lay.addWidget(self.user_label)
        bar_lay.addWidget(self.password_button)
        bar_lay.addWidget(self.language_button)
        bar_lay.addWidget(self.lock_button)

        self.unlock_screen = UnlockScreen(
            home, desk_cls, i18n, ctx.runner, ctx.prompts, ctx.desk_options
        )
        self.unlock_screen.unlocked.connect(self.on_unlocked)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.unlock_screen)

        # A second window on the same vault is told so (app/instance.py says why).
        self.window_lock = WindowLock(home)
        self.other_window = QLabel()
        self.other_window.setWordWrap(True)
        self.other_window.setContentsMargins(12, 4, 12, 4)
        set_role(self.other_window, "warning")
        self.other_window.hide()
        self._other_holder: str | None = None
        i18n.changed.connect(lambda _lang: self._show_other_window())
        self._take_window_lock()

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(bar)
        lay.addWidget(self.other_window)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # issue 12: the full integrity check runs after sign-in, shown in the status bar
        self.integrity_status = IntegrityStatus(self.statusBar(), ctx, self)

        self.autolock = AutoLock(5, self)
        self.autolock.expired.connect(self.lock)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.autolock)
        shortcut = QShortcut(QKeySequence("Ctrl+L"), self)
        shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        shortcut.activated.connect(self.lock)
        i18n.changed.connect(lambda _lang: self._update_user_label())
        self._show_locked()

    # -- language ------------------------------------------------------------------------------
    def toggle_language(self) -> None:
        self.ctx.i18n.set_language("zh" if self.ctx.i18n.language == "en" else "en")

    def _update_user_label(self) -> None:
        if self.desk is None:
            self.user_label.clear()
            return
        user = self.desk.user
        self.user_label.setText(
            self.ctx.i18n.tr(
                "app.signed_in", user=user.username, role=self.ctx.i18n.tr(f"role.{user.role}")
            )
        )

    def change_my_password(self) -> None:
        desk = self.desk
        if desk is None:
            return
        from ui.screens.admin_dialogs import PasswordDialog

        username = desk.user.username
        dialog = PasswordDialog(
            self.ctx.i18n,
            username,
            desk.signed_in_with != "login.recovery",
            lambda current, new: desk.change_password(username, new, current_password=current),
            self.ctx.runner,
            self,
        )
        dialog.accepted.connect(lambda: self.ctx.prompts.info(self, self.ctx.i18n.tr("set.saved")))
        self.password_dialog = dialog
        dialog.open()

    # -- lock / unlock -------------------------------------------------------------------------
    def _take_window_lock(self) -> None:
        if not self.window_lock.held:
            self._other_holder = self.window_lock.acquire()
        self._show_other_window()

    def _show_other_window(self) -> None:
        holder = self._other_holder
        if holder is not None:
            self.other_window.setText(self.ctx.i18n.tr("app.other_window", holder=holder))
        self.other_window.setVisible(holder is not None)

    def on_unlocked(self, desk: Desk) -> None:
        self.desk = desk
        self._take_window_lock()  # a vault created in this window has its folder only now
        try:
            minutes = float(desk.get_setting("autolock_minutes"))
        except Exception:  # a missing or odd value must not keep the screen unlocked forever
            minutes = 5.0
        self.autolock.set_minutes(minutes)
        self.workspace = Workspace(desk, self.ctx)
        if self.workspace.settings is not None:
            self.workspace.settings.autolock_changed.connect(self.autolock.set_minutes)
        self.stack.addWidget(self.workspace)
        self.stack.setCurrentWidget(self.workspace)
        self.lock_button.show()
        self.password_button.show()
        self._update_user_label()
        self.autolock.arm()
        # The face models, then the gallery, load in the background once the registry has
        # shown its first page, or a little after sign-in when nobody opens it (issue 12: they
        # used to delay sign-in by one to two seconds). A capture page waits for them.
        warm = functools.partial(self._warm_faces, desk)
        self.workspace.registry.first_page_shown.connect(warm)
        QTimer.singleShot(FACE_WARMUP_MS, self, warm)
        self.integrity_status.start(desk)  # when due (at least daily), never blocking work
        if desk.ledger_problem:  # the erasure ledger was deleted or cut short (issue 10)
            self.ctx.prompts.info(self, self.ctx.i18n.tr("app.ledger_gap"), warning=True)
        self._offer_draft(desk)

    def _warm_faces(self, desk: Desk) -> None:
        """Load the shared face engine, then the gallery, on the background helper, so the
        first capture or face search at the counter does not wait for them. The gallery
        comes second: reading it holds the vault for a while, and the registry comes first."""
        if self.desk is not desk or desk.locked or self._faces_warming is desk:
            return
        self._faces_warming = desk

        def gallery(_engine: object = None) -> None:
            if self.desk is desk and not desk.locked:
                self.ctx.runner.submit(desk.gallery, on_error=lambda _e: None)

        self.ctx.runner.submit(self.ctx.engine, on_done=gallery, on_error=gallery)

    def _offer_draft(self, desk: Desk) -> None:
        """An enrollment interrupted by a lock or close: resume it, or let it go."""
        assert self.workspace is not None
        try:
            kept = desk.load_draft()
        except Exception:
            log.exception("reading the enrollment draft failed")
            return
        if kept is None:
            return
        name = kept.fields.get("name") or "?"
        if self.ctx.prompts.confirm(self, self.ctx.i18n.tr("wiz.resume.confirm", name=name)):
            self.workspace.tabs.setCurrentWidget(self.workspace.wizard)
            self.workspace.wizard.resume(kept.fields)
        else:
            desk.discard_draft()

    def lock(self) -> None:
        """Lock now: close dialogs, drop every personal widget, lock the vault."""
        if self.desk is None:
            return
        self.autolock.disarm()
        if self.workspace is not None:  # an enrollment in progress survives the lock
            self.workspace.wizard.keep_draft()
        for widget in QApplication.topLevelWidgets():
            if widget is not self and widget.isVisible():
                widget.close()
        if self.workspace is not None:
            self.workspace.shutdown()
        self.integrity_status.stop()  # a running full check stops early
        self.ctx.runner.forget()  # results of running tasks must not land in dead widgets
        self.ctx.runner.wait(10000)  # let a running save finish before the vault closes
        if self.workspace is not None:
            self.stack.removeWidget(self.workspace)
            self.workspace.deleteLater()
            self.workspace = None
        desk, self.desk = self.desk, None
        try:
            desk.lock()
        except Exception:
            log.exception("locking the vault failed")
        self._show_locked()
        # Once the deleted workspace is really gone, forget its translation bindings too.
        QTimer.singleShot(250, self.ctx.i18n.prune)

    def _show_locked(self) -> None:
        self.stack.setCurrentWidget(self.unlock_screen)
        self.lock_button.hide()
        self.password_button.hide()
        self._update_user_label()
        self.unlock_screen.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing mid-enrollment asks first; on yes the lock keeps the draft to resume."""
        if (
            self.workspace is not None
            and self.workspace.wizard.in_progress
            and not self.ctx.prompts.confirm(self, self.ctx.i18n.tr("wiz.close.confirm"))
        ):
            event.ignore()
            return
        self.lock()
        self.window_lock.release()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.autolock)
        super().closeEvent(event)
