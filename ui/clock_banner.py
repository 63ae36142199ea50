"""The banner shown while automatic purging is held because the system clock jumped.

Why it exists: retention erases people for good on the workstation's date. When the clock moved
far forward or backwards since the vault was last used, the core holds purging
(``Desk.clock_hold``) and only an admin's confirmation of the date releases it (audited). The
banner tells every staff member why nothing expires today; only an admin gets the button, and
the core checks the role again before anything is purged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ui.context import UiContext
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk
    from app.models import PurgeResult


class ClockHoldBanner(QFrame):
    """Hidden unless ``desk.clock_hold`` is set; hides itself once the date is confirmed."""

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "warning")
        self.confirm_button = QPushButton()
        ctx.i18n.bind(self.confirm_button.setText, "clock.confirm_button")
        self.confirm_button.clicked.connect(self.confirm)
        self.confirm_button.setVisible(desk.user.role == "admin")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 12, 4)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.confirm_button)
        ctx.i18n.changed.connect(lambda _lang: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        hold = self.desk.clock_hold
        self.setVisible(hold is not None)
        if hold is None:
            return
        tr = self.ctx.i18n.tr
        key = "clock.held_admin" if self.desk.user.role == "admin" else "clock.held_operator"
        self.message.setText(
            tr(
                key,
                direction=tr(f"clock.direction.{hold.direction}"),
                days=f"{hold.days:g}",
                last_seen=hold.last_seen.date().isoformat(),
                now=hold.now.date().isoformat(),
            )
        )

    def confirm(self) -> None:
        """Ask once more (the date is about to decide who is erased), then purge on a worker."""
        tr = self.ctx.i18n.tr
        if not self.ctx.prompts.confirm(self, tr("clock.confirm_question")):
            return
        self.confirm_button.setEnabled(False)
        self.ctx.runner.submit(
            self.desk.purge_expired, confirm_clock=True, on_done=self._done, on_error=self._failed
        )

    def _done(self, result: PurgeResult) -> None:
        self.confirm_button.setEnabled(True)
        self.refresh()
        self.ctx.prompts.info(
            self,
            self.ctx.i18n.tr(
                "clock.confirmed",
                expired=len(result.expired_consents),
                erased=len(result.erased_people),
            ),
        )

    def _failed(self, exc: BaseException) -> None:
        self.confirm_button.setEnabled(True)
        self.ctx.prompts.error(self, exc)
