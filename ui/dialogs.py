"""Dialogs shared by every screen: errors, confirmations, file choosers.

Why one class: the rule "an expected error shows its own sentence, an unexpected one shows a
generic message and never its text" must hold everywhere. Core errors (``ConsentDeskError``) and
biometric errors (``BioError``) carry sentences written to be shown, and a stable ``code`` (core
errors: with ``params``) that :func:`error_text` looks up in the translation table, so the
operator reads them in their own language; anything else may contain personal data or
internals, so only its type is logged.

Screens receive a :class:`Prompts` in their constructor instead of calling QMessageBox directly;
tests hand in a scripted subclass, so a flow never blocks on a modal dialog nobody can click.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from app.errors import ConsentDeskError
from app.i18n import error_message
from ui.i18n import I18n

log = logging.getLogger(__name__)


def error_text(exc: BaseException, i18n: I18n) -> str:
    """The sentence to show for ``exc``, in the operator's language where it is known.

    Every screen shows errors through this one function (directly or via
    :meth:`Prompts.error`), so a new error code needs one catalog entry and nothing else.
    """
    if isinstance(exc, ConsentDeskError):  # biometric errors (BioError) are ConsentDeskErrors
        text = core_error_text(exc, i18n)
        if text:
            return text
    from app.signature import SignatureError

    if isinstance(exc, SignatureError) and str(exc):
        return str(exc)
    log.error("unexpected error shown to operator: %s", type(exc).__name__)
    return i18n.tr("common.unexpected")


def core_error_text(exc: ConsentDeskError, i18n: I18n) -> str:
    """``err.<code>`` (``bioerr.<code>``) from the catalog with the error's params formatted in;
    ``str(exc)`` (the core's English sentence) for a code the catalog does not know or params
    that do not fit. The CLI reads the same function (:func:`app.i18n.error_message`)."""
    return error_message(exc, i18n.language)


def detached(exc: ConsentDeskError) -> ConsentDeskError:
    """A copy holding only what :func:`error_text` reads, for a message re-read after a language
    switch: keeping the original would keep its traceback, whose frames may hold a password."""
    return ConsentDeskError(str(exc), code=exc.code, params=exc.params)


def typed_word_matches(typed: str, word: str) -> bool:
    """The typed confirmation word matches: surrounding spaces and Latin case do not matter
    (``erase`` = ``ERASE``), anything else does; an empty word never matches."""
    return bool(word) and typed.strip().casefold() == word.strip().casefold()


class Prompts:
    """Modal questions to the operator. Override in tests."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    def error(self, parent: QWidget | None, exc: BaseException) -> None:
        self.info(parent, error_text(exc, self.i18n), warning=True)

    def info(self, parent: QWidget | None, text: str, *, warning: bool = False) -> None:
        self.message_box(parent, text, warning=warning).exec()

    def message_box(
        self, parent: QWidget | None, text: str, *, warning: bool = False
    ) -> QMessageBox:
        """The box :meth:`info` and :meth:`error` show (built, not yet shown)."""
        icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Information
        box = QMessageBox(
            icon, self.i18n.tr("app.title"), text, QMessageBox.StandardButton.Ok, parent
        )
        box.button(QMessageBox.StandardButton.Ok).setText(self.i18n.tr("common.ok"))
        return box

    def confirm(self, parent: QWidget | None, text: str) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.i18n.tr("app.title"),
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            parent,
        )
        box.button(QMessageBox.StandardButton.Yes).setText(self.i18n.tr("common.yes"))
        box.button(QMessageBox.StandardButton.No).setText(self.i18n.tr("common.no"))
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def typed_confirm(self, parent: QWidget | None, title: str, body: str, word: str) -> bool:
        """True only when the operator types ``word`` exactly (irreversible actions). ``word``
        is in the operator's language (``wd.erase.word``: ERASE, 删除), so nobody has to type a
        foreign word to confirm."""
        dialog = self.typed_confirm_dialog(parent, title, body)
        accepted = dialog.exec() == QInputDialog.DialogCode.Accepted
        return accepted and typed_word_matches(dialog.textValue(), word)

    def typed_confirm_dialog(self, parent: QWidget | None, title: str, body: str) -> QInputDialog:
        """The box :meth:`typed_confirm` shows (built, not yet shown), buttons translated."""
        dialog = QInputDialog(parent)
        dialog.setWindowTitle(title)
        dialog.setLabelText(body)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setOkButtonText(self.i18n.tr("common.ok"))
        dialog.setCancelButtonText(self.i18n.tr("common.cancel"))
        return dialog

    def text(
        self, parent: QWidget | None, title: str, label: str, *, secret: bool = False
    ) -> str | None:
        mode = QLineEdit.EchoMode.Password if secret else QLineEdit.EchoMode.Normal
        text, ok = QInputDialog.getText(parent, title, label, mode, "")
        return text if ok else None

    def save_path(self, parent: QWidget | None, suggested: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            parent, self.i18n.tr("doc.save"), suggested, file_filter
        )
        return path or None

    def open_path(self, parent: QWidget | None, file_filter: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(parent, self.i18n.tr("doc.open"), "", file_filter)
        return path or None

    def recovery_code(
        self, parent: QWidget | None, code: str, org: str, *, replaces: bool = False
    ) -> None:
        """Show the one-time recovery code (with Copy and a printable sheet) until the operator
        confirms it is stored; ``replaces`` says an older code just stopped working."""
        from ui.screens.recovery import RecoveryCodeDialog

        RecoveryCodeDialog(
            code, org, self.i18n, parent, confirm=self.confirm, replaces=replaces
        ).exec()
