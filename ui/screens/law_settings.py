"""The settings every disclosure states about the law (issue 15, point 7): jurisdiction, data
protection officer and supervisory authority.

Under GDPR the core refuses to show or print a disclosure while a required one is empty
(``app.disclosure_law``), so the admin must be able to fill them in where the other settings
are; the rows join the settings form and are applied with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit

from ui.context import UiContext
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


class LawFields:
    """Three rows and a hint added to ``form``; ``values()`` gives what to store."""

    def __init__(self, desk: Desk, ctx: UiContext, form: QFormLayout) -> None:
        i18n = ctx.i18n
        self.jurisdiction = QComboBox()
        for spec in desk.settings_schema():
            if spec.name == "jurisdiction":
                for code in spec.choices:
                    self.jurisdiction.addItem(code, code)
        self.dpo_contact = QLineEdit()
        self.regulator = QLineEdit()
        for edit in (self.dpo_contact, self.regulator):
            edit.setMaxLength(300)
        i18n.bind(self.regulator.setPlaceholderText, "set.regulator.default")
        for key, widget in (
            ("set.jurisdiction", self.jurisdiction),
            ("set.dpo", self.dpo_contact),
            ("set.regulator", self.regulator),
        ):
            label = QLabel()
            i18n.bind(label.setText, key)
            i18n.bind(widget.setAccessibleName, key)
            form.addRow(label, widget)
        hint = QLabel()
        hint.setWordWrap(True)
        set_role(hint, "hint")
        i18n.bind(hint.setText, "set.law.hint")
        form.addRow(hint)

    def load(self, desk: Desk) -> None:
        index = self.jurisdiction.findData(desk.get_setting("jurisdiction"))
        self.jurisdiction.setCurrentIndex(max(index, 0))
        self.dpo_contact.setText(desk.get_setting("dpo_contact"))
        self.regulator.setText(desk.get_setting("regulator"))

    def values(self) -> dict[str, str]:
        return {
            "jurisdiction": str(self.jurisdiction.currentData()),
            "dpo_contact": self.dpo_contact.text().strip(),
            "regulator": self.regulator.text().strip(),
        }
