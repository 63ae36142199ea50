"""A password strength meter under a new-password field, live as the operator types.

Why: the core refuses passwords zxcvbn scores below :data:`app.validation.MIN_PASSWORD_SCORE`
(issue 11); saying so only after "Save" makes people guess. The meter asks the same core
function (``password_strength``), so what it calls good enough is exactly what will be accepted.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QProgressBar, QWidget

from app.validation import MIN_PASSWORD_SCORE, PasswordStrength, password_strength
from ui.i18n import I18n

# zxcvbn's score 0..4, named
_LEVELS = ("pw.strength.0", "pw.strength.1", "pw.strength.2", "pw.strength.3", "pw.strength.4")


class PasswordMeter(QWidget):
    """A 0-4 bar and one line: the strength, and what is wrong while it is not enough."""

    def __init__(
        self,
        i18n: I18n,
        edit: QLineEdit,
        hints: Callable[[], list[str]] = list,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.i18n = i18n
        self.edit = edit
        self.hints = hints
        self.bar = QProgressBar()
        self.bar.setRange(0, 4)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(120)
        self.bar.setMaximumHeight(10)
        self.label = QLabel()
        self.label.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar)
        lay.addWidget(self.label, 1)
        self.strength: PasswordStrength | None = None
        edit.textChanged.connect(self.update_meter)
        i18n.changed.connect(self.update_meter)
        self.update_meter()

    def update_meter(self, *_: object) -> None:
        text = self.edit.text()
        if not text:
            self.strength = None
            self.bar.setValue(0)
            self.label.setText(self.i18n.tr("pw.strength.hint", min=MIN_PASSWORD_SCORE))
            return
        self.strength = password_strength(text, *self.hints())
        self.bar.setValue(self.strength.score)
        level = self.i18n.tr(_LEVELS[max(0, min(self.strength.score, 4))])
        if self.strength.acceptable:
            self.label.setText(level)
        elif self.i18n.language == "en":  # zxcvbn explains in English only
            self.label.setText(f"{level}: {self.strength.reason}")
        else:
            self.label.setText(f"{level}: {self.i18n.tr('pw.too_weak')}")
        self.bar.setAccessibleName(self.label.text())

    def problem(self) -> str | None:
        """None when the typed password is strong enough, else the text to show."""
        if self.strength is None or not self.strength.acceptable:
            return self.i18n.tr("pw.too_weak")
        return None
