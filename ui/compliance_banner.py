"""The start screen's compliance line: what must not wait (issues 16 and 17).

Why on the start screen: a request past its statutory deadline, or a withdrawal that has not
reached a door within the promised hours, is a breach of the law in the making; an admin must
see it when signing in, not only when opening the overview. Operators see the device line only
(they may write revocation lists; requests and the filing threshold are an admin's business).
The numbers are ``Compliance.overview()``'s, read in the background after sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.compliance.service import Compliance
from app.compliance.types import ComplianceOverview
from ui.context import UiContext
from ui.screens.compliance import filing_key
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


class ComplianceBanner(QFrame):
    """Hidden while nothing is overdue and the threshold is below 80 %."""

    def __init__(
        self,
        desk: Desk,
        ctx: UiContext,
        open_overview: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        self.admin = desk.user.role == "admin"
        self.overview: ComplianceOverview | None = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "warning")
        self.open_button = QPushButton()
        ctx.i18n.bind(self.open_button.setText, "gov.banner.open")
        self.open_button.setVisible(self.admin and open_overview is not None)
        if open_overview is not None:
            self.open_button.clicked.connect(open_overview)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 12, 4)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.open_button)
        ctx.i18n.changed.connect(lambda _lang: self.show_overview())
        self.hide()

    def refresh(self) -> None:
        self.ctx.runner.submit(
            Compliance(self.desk).overview, on_done=self.set_overview, on_error=lambda _e: None
        )

    def set_overview(self, overview: ComplianceOverview) -> None:
        self.overview = overview
        self.show_overview()

    def lines(self) -> list[str]:
        o = self.overview
        if o is None:
            return []
        tr = self.ctx.i18n.tr
        out: list[str] = []
        if self.admin and o.overdue_requests:
            out.append(tr("gov.banner.requests", count=o.overdue_requests))
        late = [d.name for d in o.devices if d.overdue]
        if late:
            hours = int(self.desk.get_float("device_overdue_hours"))
            out.append(tr("gov.banner.devices", devices=", ".join(late), hours=hours))
        warning = filing_key(o) if self.admin else None
        if warning is not None:
            out.append(tr(warning[0], threshold=f"{o.filing_threshold:,}"))
        return out

    def show_overview(self) -> None:
        lines = self.lines()
        self.message.setText("\n".join(lines))
        self.setVisible(bool(lines))
