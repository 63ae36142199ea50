"""The impact assessment (PIPIA / DPIA) as a form: what ``consentdesk assessment`` does, on screen.

Why a form: the assessment is the vault's own facts (counts, measures, settings, the necessity
test) plus the admin's answers to what the facts cannot give; until now only the CLI could ask
those questions. The questions are the core's (``ASSESSMENT_QUESTIONS``), the answers of the
newest assessment of the purpose are offered again (editing an assessment means issuing a new
one: each is kept with its date, PIPL Art. 56), and Save has the core issue and sign the PDF
(admin role checked there), which the screen then offers to save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QWidget

from app.compliance.service import Compliance
from app.compliance.types import ASSESSMENT_QUESTIONS, ImpactAssessmentRecord, IssuedDocument
from app.models import LANGUAGES, Language
from app.purpose_texts import title_in
from ui.context import UiContext
from ui.screens.admin_dialogs import SavingDialog
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


class AssessmentDialog(SavingDialog):
    """The admin's answers for one purpose; Save issues the signed assessment PDF."""

    def __init__(
        self,
        desk: Desk,
        ctx: UiContext,
        purpose_id: int,
        parent: QWidget | None = None,
    ) -> None:
        compliance = Compliance(desk)
        self.purpose_id = purpose_id
        self.issued: IssuedDocument | None = None
        i18n = ctx.i18n

        def save() -> IssuedDocument:
            self.issued = compliance.impact_assessment(
                purpose_id, cast(Language, self.language.currentData()), self.answers()
            )
            return self.issued

        super().__init__(i18n, "ia.title", save, ctx.runner, parent)
        self.save_button.setText(i18n.tr("ia.sign"))
        purpose = desk.get_purpose(purpose_id)
        self.setWindowTitle(f"{i18n.tr('ia.title')}: {title_in(purpose, i18n.language)}")
        previous: ImpactAssessmentRecord | None = None
        for record in compliance.impact_assessments():
            if record.purpose_id == purpose_id:
                previous = record
        test = compliance.necessity(purpose_id)
        facts = [
            i18n.tr("ia.purpose", title=title_in(purpose, i18n.language), version=purpose.version)
        ]
        facts.append(
            i18n.tr(
                "ia.necessity",
                by=test.signed_by,
                date=test.signed_at.date().isoformat(),
                version=test.purpose_version,
            )
            if test is not None
            else i18n.tr("ia.necessity_missing")
        )
        facts.append(
            i18n.tr(
                "ia.previous",
                date=previous.created_at.date().isoformat(),
                version=previous.purpose_version,
                by=previous.created_by,
            )
            if previous is not None
            else i18n.tr("ia.first")
        )
        intro = QLabel("\n".join(facts) + "\n" + i18n.tr("ia.intro"))
        intro.setWordWrap(True)
        set_role(intro, "hint")
        self.form.addRow(intro)
        self.language = QComboBox()
        for lang in LANGUAGES:
            self.language.addItem(i18n.tr(f"lang.{lang}"), lang)
        self.language.setCurrentIndex(max(0, self.language.findData(i18n.language)))
        lang_label = QLabel(i18n.tr("ia.language"))
        self.language.setAccessibleName(lang_label.text())
        self.form.addRow(lang_label, self.language)
        self.fields: dict[str, QPlainTextEdit] = {}
        given = previous.answers if previous is not None else {}
        for name in ASSESSMENT_QUESTIONS:
            edit = QPlainTextEdit(given.get(name, ""))
            edit.setTabChangesFocus(True)
            edit.setMaximumHeight(80)
            label = QLabel(i18n.tr(f"ia.q.{name}"))
            label.setWordWrap(True)
            edit.setAccessibleName(label.text())
            self.fields[name] = edit
            self.form.addRow(label, edit)
        self.finish_form()
        self.resize(720, 600)

    def answers(self) -> dict[str, str]:
        """Only the questions answered (an empty one is left to the document's default)."""
        return {
            name: edit.toPlainText().strip()
            for name, edit in self.fields.items()
            if edit.toPlainText().strip()
        }


def assessment_dialog(
    desk: Desk, ctx: UiContext, purpose_id: int, parent: QWidget
) -> AssessmentDialog:
    """The form; once the PDF is issued the admin is asked where to save it."""
    dialog = AssessmentDialog(desk, ctx, purpose_id, parent)

    def issued() -> None:
        doc = dialog.issued
        if doc is None:
            return
        path = ctx.prompts.save_path(parent, doc.filename, "PDF (*.pdf)")
        if path:
            from pathlib import Path

            from app.paths import write_private

            write_private(Path(path), doc.pdf)
            ctx.prompts.info(parent, ctx.i18n.tr("ia.saved", path=path))

    dialog.accepted.connect(issued)
    return dialog
