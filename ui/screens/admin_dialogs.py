"""Admin and account dialogs that keep what was typed until the core accepts it.

Why: the purpose and staff dialogs used to close first and ask the core afterwards, so one
refused field (say, a placeholder alternative) threw away everything typed. Here the dialog hands
its values to a ``save`` callable and closes only when that succeeds; a refusal is shown inside
the dialog, in the operator's language, next to the fields still filled in.

Passwords are asked twice (a typo in a field of dots locks the account owner out), and changing
one's own password asks for the current one (the core insists too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.models import Purpose, Role
from ui.dialogs import error_text
from ui.i18n import I18n
from ui.password_meter import PasswordMeter
from ui.theme import set_role
from ui.worker import Runner

PURPOSE_TEXT_FIELDS = ("title", "controller", "contact", "alternative", "dpo_contact")
PURPOSE_LONG_FIELDS = ("description", "recipients", "regulator", "legal_basis")  # issue-15
# Addresses and names of contacts, not texts: one value for every language.
_SAME_IN_EVERY_LANGUAGE = ("contact", "dpo_contact")
MIN_PASSWORD = 8


class SavingDialog(QDialog):
    """A form whose Save runs ``save`` and closes only when it succeeded.

    ``runner`` (optional) runs ``save`` in the background for slow work (password hashing); the
    buttons are disabled meanwhile so a second click cannot start a second save.
    """

    def __init__(
        self,
        i18n: I18n,
        title_key: str,
        save: Callable[[], Any],
        runner: Runner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.i18n = i18n
        self._save = save
        self._runner = runner
        self.setWindowTitle(i18n.tr(title_key))
        self.form = QFormLayout(self)
        self.error = QLabel()
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(i18n.tr("common.save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(
            i18n.tr("common.cancel")
        )
        self.buttons.accepted.connect(self.try_save)
        self.buttons.rejected.connect(self.reject)

    def finish_form(self) -> None:
        """Add the error line and the buttons below the fields a subclass added."""
        self.form.addRow(self.error)
        self.form.addRow(self.buttons)

    def problem(self) -> str | None:
        """A check the dialog can make itself before asking the core (None: fine)."""
        return None

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.buttons.setEnabled(True)

    def try_save(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.show_error(problem)
            return
        self.error.hide()
        if self._runner is None:
            try:
                self._save()
            except Exception as exc:  # shown in the dialog, which keeps every field
                self.show_error(error_text(exc, self.i18n))
                return
            self.accept()
            return
        self.buttons.setEnabled(False)
        self._runner.submit(
            self._save,
            on_done=lambda _r: self.accept(),
            on_error=lambda exc: self.show_error(error_text(exc, self.i18n)),
        )


class PurposeDialog(SavingDialog):
    """Add or edit a purpose. Editing creates a new version (the core keeps the old one)."""

    def __init__(
        self,
        i18n: I18n,
        purpose: Purpose | None,
        save: Callable[[dict[str, Any]], Any],
        parent: QWidget | None = None,
    ) -> None:
        title = "set.purpose.edit" if purpose else "set.purpose.add"
        super().__init__(i18n, title, lambda: save(self.values()), None, parent)
        self.fields: dict[str, QLineEdit | QPlainTextEdit] = {}
        # issue-13: every person-facing text in English and in Chinese, side by side (the
        # contact is the same in both); a purpose is shown in Chinese only with its Chinese texts.
        names = [*PURPOSE_TEXT_FIELDS, *PURPOSE_LONG_FIELDS]
        for name in [*names, *(f"{n}_zh" for n in names if n not in _SAME_IN_EVERY_LANGUAGE)]:
            value = str(getattr(purpose, name, "") or "") if purpose else ""
            if name.removesuffix("_zh") in PURPOSE_TEXT_FIELDS:
                self.fields[name] = QLineEdit(value)
            else:
                edit = QPlainTextEdit(value)
                edit.setMaximumHeight(56)
                # Tab moves on, as in every other field; a tab has no place in a purpose.
                edit.setTabChangesFocus(True)
                self.fields[name] = edit
        self.retention = QSpinBox()
        self.retention.setRange(1, 3650)
        self.retention.setValue(purpose.retention_days if purpose else 365)
        self.keep_photos = QCheckBox()
        self.keep_photos.setChecked(bool(purpose and purpose.keep_photos))
        for name in names:
            label = QLabel(i18n.tr(f"set.purpose.{name}"))
            self.fields[name].setAccessibleName(label.text())
            zh = self.fields.get(f"{name}_zh")
            if zh is None:
                self.form.addRow(label, self.fields[name])
                continue
            self.fields[name].setPlaceholderText(i18n.tr("set.purpose.in_en"))
            zh.setPlaceholderText(i18n.tr("set.purpose.in_zh"))
            zh.setAccessibleName(f"{label.text()} ({i18n.tr('set.purpose.in_zh')})")
            pair = QWidget()
            row = QHBoxLayout(pair)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.fields[name], 1)
            row.addWidget(zh, 1)
            self.form.addRow(label, pair)
        # issue-15: empty legal basis / DPO contact = the jurisdiction's text and the settings
        hint = i18n.tr("set.purpose.override_hint")
        self.fields["dpo_contact"].setPlaceholderText(hint)
        for name in ("legal_basis", "legal_basis_zh"):
            self.fields[name].setToolTip(hint)
        self.form.addRow(i18n.tr("set.purpose.retention"), self.retention)
        self.form.addRow(i18n.tr("set.purpose.keep_photos"), self.keep_photos)
        self.finish_form()
        self.resize(900, 600)

    def set_retention_range(self, low: int, high: int) -> None:
        """The core's limits (settings schema), so the spin box cannot offer a refused value."""
        self.retention.setRange(low, high)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            text = field.text() if isinstance(field, QLineEdit) else field.toPlainText()
            out[name] = text.strip()
        out["retention_days"] = self.retention.value()
        out["keep_photos"] = self.keep_photos.isChecked()
        return out


def _secret() -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class PasswordFields:
    """New password + repeat, checked alike everywhere (length, both the same)."""

    def __init__(self, dialog: SavingDialog) -> None:
        self.i18n = dialog.i18n
        self.password = _secret()
        self.repeat = _secret()
        for key, edit in (("init.password", self.password), ("init.password2", self.repeat)):
            edit.setAccessibleName(self.i18n.tr(key))
            dialog.form.addRow(self.i18n.tr(key), edit)
            if edit is self.password:  # issue-11: strength as one types, the core's measure
                self.meter = PasswordMeter(self.i18n, self.password)
                dialog.form.addRow("", self.meter)

    def problem(self) -> str | None:
        if len(self.password.text()) < MIN_PASSWORD:
            return self.i18n.tr("init.short")
        weak = self.meter.problem()
        if weak is not None:
            return weak
        if self.password.text() != self.repeat.text():
            return self.i18n.tr("init.mismatch")
        return None


class StaffDialog(SavingDialog):
    """A new staff account: name, password twice, role."""

    def __init__(
        self,
        i18n: I18n,
        save: Callable[[str, str, Role], object],
        runner: Runner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            i18n,
            "set.staff.add",
            lambda: save(
                self.username.text().strip(),
                self.passwords.password.text(),
                cast(Role, self.role.currentData()),
            ),
            runner,
            parent,
        )
        self.username = QLineEdit()
        self.username.setAccessibleName(i18n.tr("unlock.username"))
        self.form.addRow(i18n.tr("unlock.username"), self.username)
        self.passwords = PasswordFields(self)
        self.role = QComboBox()
        self.role.addItem(i18n.tr("role.operator"), "operator")
        self.role.addItem(i18n.tr("role.admin"), "admin")
        self.role.setAccessibleName(i18n.tr("set.staff.role"))
        self.form.addRow(i18n.tr("set.staff.role"), self.role)
        self.finish_form()

    @property
    def password(self) -> QLineEdit:
        return self.passwords.password

    def problem(self) -> str | None:
        if not self.username.text().strip():
            return self.i18n.tr("init.fill")
        return self.passwords.problem()


class PasswordDialog(SavingDialog):
    """Change a password: one's own (current password first) or, for an admin, someone else's.

    ``save(current, new)`` gets ``None`` as the current password when it is not asked.
    """

    def __init__(
        self,
        i18n: I18n,
        who: str,
        ask_current: bool,
        save: Callable[[str | None, str], Any],
        runner: Runner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            i18n,
            "set.staff.password",
            lambda: save(
                self.current.text() if self.current is not None else None,
                self.passwords.password.text(),
            ),
            runner,
            parent,
        )
        account = QLabel(who)
        account.setAccessibleName(i18n.tr("unlock.username"))
        self.form.addRow(i18n.tr("unlock.username"), account)
        self.current: QLineEdit | None = None
        if ask_current:
            self.current = _secret()
            self.current.setAccessibleName(i18n.tr("password.current"))
            self.form.addRow(i18n.tr("password.current"), self.current)
        self.passwords = PasswordFields(self)
        self.finish_form()

    def problem(self) -> str | None:
        if self.current is not None and not self.current.text():
            return self.i18n.tr("password.current_needed")
        return self.passwords.problem()
