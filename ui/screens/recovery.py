"""The recovery code dialog: shown once, right after the vault is created.

Why a printable sheet: the code is the only way back in when every password is lost, and it is
long. Copying it by hand invites mistakes; printing it and locking the sheet away does not.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ui.i18n import I18n
from ui.theme import set_role


class RecoveryCodeDialog(QDialog):
    """Shows the recovery code once, large and monospaced, with a printable sheet."""

    def __init__(self, code: str, org: str, i18n: I18n, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code, self.org, self.i18n = code, org, i18n
        self.setWindowTitle(i18n.tr("recovery.title"))
        lay = QVBoxLayout(self)
        title = QLabel(i18n.tr("recovery.title"))
        set_role(title, "title")
        body = QLabel(i18n.tr("recovery.body"))
        body.setWordWrap(True)
        self.code_label = QLabel(code)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(22)
        mono.setWeight(QFont.Weight.Bold)
        self.code_label.setFont(mono)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label.setAccessibleName(i18n.tr("recovery.title"))
        buttons = QDialogButtonBox()
        self.print_button = buttons.addButton(i18n.tr("recovery.print"),
                                              QDialogButtonBox.ButtonRole.ActionRole)
        done = buttons.addButton(i18n.tr("recovery.done"), QDialogButtonBox.ButtonRole.AcceptRole)
        done.setDefault(True)
        self.print_button.clicked.connect(self.print_sheet)
        buttons.accepted.connect(self.accept)
        for w in (title, body, self.code_label, buttons):
            lay.addWidget(w)

    def sheet_text(self) -> str:
        return self.i18n.tr("recovery.sheet", org=self.org, code=self.code,
                            date=dt.date.today().isoformat())

    def print_sheet(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        doc = QTextDocument()
        doc.setDefaultFont(QFont(self.font().family(), 14))
        doc.setPlainText(self.sheet_text())
        doc.print_(printer)

