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
import math
from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from app.errors import ConsentDeskError
from ui.i18n import STRINGS, I18n

log = logging.getLogger(__name__)


def error_text(exc: BaseException, i18n: I18n) -> str:
    """The sentence to show for ``exc``, in the operator's language where it is known.

    Every screen shows errors through this one function (directly or via
    :meth:`Prompts.error`), so a new error code needs one table entry and nothing else.
    """
    from app.bio.errors import BioError

    if isinstance(exc, BioError):
        # Biometric errors carry a stable code: shown in the operator's language when known.
        translated = i18n.tr(f"bioerr.{exc.code}")
        if not translated.startswith("bioerr."):
            return translated
        if str(exc):
            return str(exc)
    if isinstance(exc, ConsentDeskError):
        text = core_error_text(exc, i18n)
        if text:
            return text
    from app.signature import SignatureError

    if isinstance(exc, SignatureError) and str(exc):
        return str(exc)
    log.error("unexpected error shown to operator: %s", type(exc).__name__)
    return i18n.tr("common.unexpected")


def core_error_text(exc: ConsentDeskError, i18n: I18n) -> str:
    """``err.<code>`` from the table with the error's params formatted in; ``str(exc)`` (the
    core's English sentence) for a code the table does not know or params that do not fit."""
    code = str(getattr(exc, "code", ""))
    if code.startswith("bio_"):  # a biometric error passed through the core (e.g. a bad photo)
        translated = i18n.tr(f"bioerr.{code[4:]}")
        return str(exc) if translated.startswith("bioerr.") else translated
    key = f"err.{code}"
    if key not in STRINGS:
        return str(exc)
    params = getattr(exc, "params", None) or {}
    values: dict[str, Any] = {name: _param(name, value, i18n) for name, value in params.items()}
    values["detail"] = str(exc)
    try:
        return i18n.tr(key, **values)
    except (KeyError, IndexError, ValueError):  # a placeholder the raise site did not fill
        log.warning("error %s: params do not fit its translation", key)
        return str(exc)


def detached(exc: ConsentDeskError) -> ConsentDeskError:
    """A copy holding only what :func:`error_text` reads, for a message re-read after a language
    switch: keeping the original would keep its traceback, whose frames may hold a password."""
    return ConsentDeskError(str(exc), code=exc.code, params=exc.params)


def _param(name: str, value: object, i18n: I18n) -> object:
    """A param as the operator reads it: field names and warning kinds translated, waits in
    whole seconds (rounded up)."""
    if name == "field" and isinstance(value, str):
        key = "field." + value.replace("'s", "").replace(" ", "_")
        return i18n.tr(key) if key in STRINGS else value
    if name == "kinds" and isinstance(value, list | tuple):
        kinds = [i18n.tr(f"warning.{k}") if f"warning.{k}" in STRINGS else str(k) for k in value]
        return i18n.tr("list.and").join(kinds)
    if name == "seconds" and isinstance(value, int | float):
        return math.ceil(value)
    return value


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
        """True only when the operator types ``word`` exactly (irreversible actions)."""
        text, ok = QInputDialog.getText(parent, title, body, QLineEdit.EchoMode.Normal, "")
        return bool(ok) and text.strip() == word

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
