"""Correct a person's details (rectification, issue 13) from their page.

Why a dialog that keeps what was typed: the core may refuse (nothing changed, a name too long);
the refusal is shown in the dialog next to the fields still filled in (see ``SavingDialog``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app.models import Person
from ui.i18n import I18n
from ui.screens.admin_dialogs import SavingDialog
from ui.theme import set_role


class RectifyDialog(SavingDialog):
    """Name and reference, prefilled; Save hands the corrected values to ``save``."""

    def __init__(
        self,
        i18n: I18n,
        person: Person,
        save: Callable[[str, str], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            i18n,
            "rectify.title",
            lambda: save(self.name.text(), self.reference.text()),
            None,
            parent,
        )
        hint = QLabel(i18n.tr("rectify.hint"))
        hint.setWordWrap(True)
        set_role(hint, "hint")
        self.form.addRow(hint)
        self.name = QLineEdit(person.name)
        self.name.setMaxLength(300)
        self.reference = QLineEdit(person.reference or "")
        self.reference.setMaxLength(200)
        for key, widget in (("rectify.name", self.name), ("rectify.reference", self.reference)):
            label = QLabel(i18n.tr(key))
            label.setBuddy(widget)
            widget.setAccessibleName(label.text())
            self.form.addRow(label, widget)
        self.finish_form()
        self.resize(560, 240)
        self.name.setFocus()

    def problem(self) -> str | None:
        return self.i18n.tr("details.need_name") if not self.name.text().strip() else None
