"""The necessity and proportionality test as a form, and what each purpose may be used for.

Why: a purpose added in Settings cannot enroll anyone until an admin has answered and signed
its necessity test (issue 16), and until now only the CLI (``purpose assess``) could do that, so
a desk run from the UI alone had a purpose nobody could use, and found out at the last step of
an enrollment. The form here calls the same core verb (which checks the admin role and the
answers again); a refusal is shown inside the dialog with every answer still typed.

:func:`enroll_states` is the one place the UI asks which purposes may enroll and why not, so
the Settings list and the enrollment wizard cannot disagree with each other or with the core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QWidget

from app.compliance.service import Compliance
from app.compliance.types import SCENARIOS, NecessityAnswers, NecessityTest, Scenario
from app.purpose_texts import title_in
from ui.i18n import I18n
from ui.screens.admin_dialogs import SavingDialog

if TYPE_CHECKING:
    from app.desk import Desk

NECESSITY_FIELDS = ("necessity", "why_not_alternative", "access")


@dataclass(frozen=True)
class EnrollState:
    """Whether a purpose may enroll people now and, if not, the catalog key saying why."""

    can_enroll: bool
    reason_key: str | None


def enroll_states(desk: Desk) -> dict[int, EnrollState]:
    """Per purpose id: may it enroll, and if not why (from the core's compliance overview)."""
    out: dict[int, EnrollState] = {}
    for row in Compliance(desk).overview().per_purpose:
        if row.can_enroll:
            out[row.purpose_id] = EnrollState(True, None)
        elif row.necessity == "missing":
            out[row.purpose_id] = EnrollState(False, "necessity.missing")
        else:  # public-interest security without its impact assessment
            out[row.purpose_id] = EnrollState(False, "necessity.assessment_missing")
    return out


class NecessityDialog(SavingDialog):
    """The admin's four answers for one purpose; Save signs them through the core."""

    def __init__(
        self,
        i18n: I18n,
        title: str,
        current: NecessityTest | None,
        save: Callable[[NecessityAnswers], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(i18n, "necessity.title", lambda: save(self.answers()), None, parent)
        self.setWindowTitle(f"{i18n.tr('necessity.title')}: {title}")
        intro = QLabel(i18n.tr("necessity.intro"))
        intro.setWordWrap(True)
        self.form.addRow(intro)
        self.fields: dict[str, QPlainTextEdit] = {}
        answers = current.answers if current else None
        for name in NECESSITY_FIELDS:
            edit = QPlainTextEdit(getattr(answers, name) if answers else "")
            edit.setTabChangesFocus(True)  # Tab moves on; a tab character means nothing here
            edit.setMaximumHeight(90)
            label = QLabel(i18n.tr(f"necessity.{name}"))
            label.setWordWrap(True)
            edit.setAccessibleName(label.text())
            self.fields[name] = edit
            if name == "access":  # the scenario class comes before who may see the data
                self._add_scenario(answers)
            self.form.addRow(label, edit)
        self.finish_form()
        self.resize(680, 520)

    def _add_scenario(self, answers: NecessityAnswers | None) -> None:
        self.scenario = QComboBox()
        for scenario in SCENARIOS:
            self.scenario.addItem(self.i18n.tr(f"necessity.scenario.{scenario}"), scenario)
        if answers is not None:
            self.scenario.setCurrentIndex(max(0, self.scenario.findData(answers.scenario)))
        label = QLabel(self.i18n.tr("necessity.scenario"))
        self.scenario.setAccessibleName(label.text())
        self.form.addRow(label, self.scenario)

    def problem(self) -> str | None:
        if any(not edit.toPlainText().strip() for edit in self.fields.values()):
            return self.i18n.tr("necessity.fill")
        return None

    def answers(self) -> NecessityAnswers:
        text = {name: edit.toPlainText().strip() for name, edit in self.fields.items()}
        return NecessityAnswers(
            necessity=text["necessity"],
            why_not_alternative=text["why_not_alternative"],
            scenario=cast(Scenario, self.scenario.currentData()),
            access=text["access"],
        )


def necessity_dialog(desk: Desk, i18n: I18n, purpose_id: int, parent: QWidget) -> NecessityDialog:
    """The form for ``purpose_id``, filled with the answers in force (if any)."""
    compliance = Compliance(desk)
    purpose = desk.get_purpose(purpose_id)
    return NecessityDialog(
        i18n,
        title_in(purpose, i18n.language),
        compliance.necessity(purpose_id),
        lambda answers: compliance.assess_purpose(purpose_id, answers),
        parent,
    )
