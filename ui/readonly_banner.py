"""The banner shown while the vault is open read-only because its disk is full (issue 11).

Why it exists: a full disk no longer locks everyone out: people can still sign in, search, export
and back up to another disk. But nothing they do is saved or recorded until space is freed, and
every change is refused by the core; the banner says so before anyone tries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ui.context import UiContext
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


class ReadOnlyBanner(QWidget):
    """Hidden unless ``desk.read_only``."""

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "warning")
        ctx.i18n.bind(self.message.setText, "status.read_only")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 12, 4)
        lay.addWidget(self.message, 1)
        self.setVisible(desk.read_only)
