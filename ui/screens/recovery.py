"""The recovery code dialog: shown once, right after the vault is created or a new code is made.

Why a printable sheet: the code is the only way back in when every password is lost, and it is
long. Copying it by hand invites mistakes; printing it and locking the sheet away does not.

Why closing asks first: the code is never shown again. Escape, the window's close button and a
stray Enter once dismissed it silently, leaving an organisation without a way back into its vault.
Every way out (Done included) now asks "have you stored it?" and defaults to staying.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont, QFontDatabase, QGuiApplication, QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ui.i18n import I18n
from ui.theme import set_role

# The clipboard is readable by every program of the session: a copied code is wiped after this.
CLIPBOARD_CLEAR_MS = 60_000


class RecoveryCodeDialog(QDialog):
    """Shows the recovery code once, large and monospaced, with Copy and a printable sheet.

    ``confirm`` asks the operator a yes/no question (the UI's prompts; tests script it). ``replaces``
    says the code replaces an older one, which stops working at once.
    """

    def __init__(
        self,
        code: str,
        org: str,
        i18n: I18n,
        parent: QWidget | None = None,
        *,
        confirm: Callable[[QWidget, str], bool],
        replaces: bool = False,
    ) -> None:
        super().__init__(parent)
        self.code, self.org, self.i18n = code, org, i18n
        self._confirm = confirm
        self._closing_confirmed = False
        self.setWindowTitle(i18n.tr("recovery.title"))
        lay = QVBoxLayout(self)
        title = QLabel(i18n.tr("recovery.title"))
        set_role(title, "title")
        body = QLabel(i18n.tr("recovery.body"))
        body.setWordWrap(True)
        big = QFont(body.font())
        big.setPointSize(max(13, big.pointSize() + 2))
        body.setFont(big)
        body.setStyleSheet("font-size: 13pt;")
        self.replaced_label = QLabel(i18n.tr("recovery.replaces"))
        self.replaced_label.setWordWrap(True)
        self.replaced_label.setFont(big)
        self.replaced_label.setStyleSheet("font-size: 13pt;")
        set_role(self.replaced_label, "warning")
        self.replaced_label.setVisible(replaces)
        self.code_label = QLabel(code)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(24)
        mono.setWeight(QFont.Weight.Bold)
        self.code_label.setFont(mono)
        # The application style sheet sets label fonts; the code must stay large regardless.
        self.code_label.setStyleSheet(
            f"font-family: '{mono.family()}', monospace; font-size: 24pt; font-weight: bold;"
        )
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label.setAccessibleName(i18n.tr("recovery.title"))
        self.copied_label = QLabel("")
        self.copied_label.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.copy_button = buttons.addButton(
            i18n.tr("recovery.copy"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.print_button = buttons.addButton(
            i18n.tr("recovery.print"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.done_button = buttons.addButton(
            i18n.tr("recovery.done"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        # Enter must not dismiss the only copy of the code: no button is the default.
        for button in (self.copy_button, self.print_button, self.done_button):
            button.setAutoDefault(False)
            button.setDefault(False)
        self.copy_button.clicked.connect(self.copy_code)
        self.print_button.clicked.connect(self.print_sheet)
        buttons.accepted.connect(self.accept)
        for w in (title, body, self.replaced_label, self.code_label, self.copied_label, buttons):
            lay.addWidget(w)
        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.timeout.connect(self._clear_clipboard)

    # ------------------------------------------------------------------ closing
    def _may_close(self) -> bool:
        if not self._closing_confirmed:
            self._closing_confirmed = self._confirm(self, self.i18n.tr("recovery.confirm_close"))
        return self._closing_confirmed

    def accept(self) -> None:
        if self._may_close():
            super().accept()

    def reject(self) -> None:  # Escape
        if self._may_close():
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # the window's close button, Alt+F4
        if self._may_close():
            event.accept()
        else:
            event.ignore()

    def done(self, result: int) -> None:
        # Closing ends the dialog, so the code must not outlive it on the clipboard.
        self._clear_clipboard()
        super().done(result)

    # ------------------------------------------------------------------ copy / print
    def copy_code(self) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self.code)
        self.copied_label.setText(self.i18n.tr("recovery.copied"))
        self._clear_timer.start(CLIPBOARD_CLEAR_MS)

    def _clear_clipboard(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard.text() == self.code:
            clipboard.clear()

    def sheet_text(self) -> str:
        return self.i18n.tr(
            "recovery.sheet", org=self.org, code=self.code, date=dt.date.today().isoformat()
        )

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
