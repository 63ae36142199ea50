"""Review before saving, and the done page with the person's copy.

Why duplicates are checked here and must be acknowledged one by one: a face already in the
registry (or a lookalike, e.g. a twin) is exactly the case where a careless click enrolls the
same person twice or confuses two people later. The core refuses to store an enrollment with
warnings unless the request says they were acknowledged; the UI makes that acknowledgement an
explicit tick per warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.desk_types import RefusalRequest, RefusalResult
from app.models import EnrollmentResult, EnrollmentWarning
from app.purpose_texts import title_in
from ui.context import UiContext
from ui.dialogs import error_text
from ui.document_view import DocumentView
from ui.layouts import clear_layout
from ui.screens.draft import Draft
from ui.screens.wizard_pages import Page
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


class ReviewPage(Page):
    title_key = "wiz.review"
    saved = Signal(object)  # EnrollmentResult | RefusalResult

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        self.draft: Draft | None = None
        self.thumbnail: QLabel | None = None
        self.saving = False  # while the core writes, the wizard cannot be cancelled
        self.summary = QFormLayout()
        self.warnings_box = QVBoxLayout()
        self.checking = QLabel()
        self.checking.setWordWrap(True)
        self.ack_boxes: list[QCheckBox] = []
        self.save_button = QPushButton()
        set_role(self.save_button, "primary")
        self.save_button.clicked.connect(self.save)
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "error")
        title = QLabel()
        set_role(title, "title")
        self.i18n.bind(title.setText, "review.title")
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(self.summary)
        lay.addWidget(self.checking)
        lay.addLayout(self.warnings_box)
        lay.addStretch(1)
        lay.addWidget(self.message)
        lay.addWidget(self.save_button)
        self.i18n.changed.connect(self._retranslate)

    def _row(self, key: str, value: str) -> None:
        label = QLabel(value)
        label.setWordWrap(True)
        self.summary.addRow(self.i18n.tr(key), label)

    def enter(self, draft: Draft) -> None:
        self.clear()
        self.draft = draft
        self._summarise(draft)
        tr = self.i18n.tr
        if draft.refused:
            self.checking.clear()
            self.save_button.setEnabled(True)
            return
        self.save_button.setEnabled(False)
        self.checking.setText(tr("review.checking"))
        embeddings = list(draft.embeddings)
        self.ctx.runner.submit(
            self.desk.check_duplicates,
            embeddings,
            exclude_person=draft.existing_person_id,
            purpose_id=draft.purpose.id if draft.purpose is not None else None,
            origin="ui",
            on_done=self._show_warnings,
            on_error=self._failed,
        )

    def _retranslate(self, _lang: str) -> None:
        """Rebuild the summary and warnings in the new language, keeping the ticks."""
        draft = self.draft
        if draft is None:
            return
        ticked = [b.isChecked() for b in self.ack_boxes]
        while self.summary.rowCount():
            self.summary.removeRow(0)
        self._summarise(draft)
        if self.ack_boxes or draft.warnings:
            self._clear_warnings()
            self._show_warnings(draft.warnings)
            for box, on in zip(self.ack_boxes, ticked, strict=False):
                box.setChecked(on)

    def _summarise(self, draft: Draft) -> None:
        tr = self.i18n.tr
        self._row("review.name", draft.name)
        if draft.reference:
            self._row("review.reference", draft.reference)
        purpose = draft.purpose
        if purpose is not None:
            self._row(
                "review.purpose", f"{title_in(purpose, self.i18n.language)} (v{purpose.version})"
            )
        self._row("review.language", tr(f"lang.{draft.language}"))
        self._row(
            "review.decision", tr("decision.refused" if draft.refused else "decision.granted")
        )
        if draft.guardian is not None:
            self._row("review.guardian", draft.guardian.name)
        if draft.refused:
            self._row(
                "review.in_name",
                tr("review.in_name.yes" if draft.refusal_in_name else "review.in_name.no"),
            )
        if draft.paper_signed_on is not None and draft.paper_scan is not None:
            self._row(
                "review.paper", f"{draft.paper_signed_on.isoformat()} · {draft.paper_scan[0]}"
            )
        if not draft.refused:
            if draft.thumbnail is not None and not draft.thumbnail.isNull():
                # What was captured, so the operator sees it is this person's face.
                picture = QLabel()
                picture.setPixmap(QPixmap.fromImage(draft.thumbnail))
                picture.setAccessibleName(tr("review.captured"))
                self.thumbnail = picture
                self.summary.addRow(tr("review.captured"), picture)
            self._row("review.templates", str(len(draft.embeddings)))
            if purpose is not None and purpose.keep_photos:
                # The person's own tick on the decision page, shown here, not asked again.
                self._row(
                    "review.photo_kept",
                    tr("review.photo_kept.yes" if draft.photo_consent else "review.photo_kept.no"),
                )
            live = draft.liveness
            text = tr("live.passed") if live and live.passed else tr("live.failed")
            if live is not None and live.method != "active-challenge-v1":
                method = self.i18n.term("live.method.", live.method)
                text = tr("review.liveness.with_method", result=text, method=method)
            if live is not None and live.skip_reason:
                text += "\n" + tr("review.skip_reason", reason=live.skip_reason)
            self._row("review.liveness", text)
        self.save_button.setText(
            tr("review.save.refusal" if draft.refused else "review.save.consent")
        )

    def _show_warnings(self, warnings: tuple[EnrollmentWarning, ...]) -> None:
        if self.draft is None:
            return
        self.draft.warnings = tuple(warnings)
        tr = self.i18n.tr
        if not warnings:
            self.checking.setText(tr("review.no_warnings"))
            set_role(self.checking, "ok")
        else:
            self.checking.clear()
        for warning in warnings:
            key = "review.dup" if warning.kind == "duplicate" else "review.look"
            level = self.i18n.similarity(warning.distance, self.desk.get_float("match_threshold"))
            label = QLabel(tr(key, name=warning.name, similarity=level))
            label.setWordWrap(True)
            set_role(label, "warning")
            box = QCheckBox(tr("review.ack"))
            box.setAccessibleName(tr("review.ack") + ": " + warning.name)
            box.toggled.connect(self._update_save)
            self.ack_boxes.append(box)
            self.warnings_box.addWidget(label)
            self.warnings_box.addWidget(box)
        self._update_save()

    def _clear_warnings(self) -> None:
        clear_layout(self.warnings_box)
        self.ack_boxes = []

    def _update_save(self) -> None:
        ok = all(b.isChecked() for b in self.ack_boxes)
        self.save_button.setEnabled(ok)
        self.message.setText("" if ok else self.i18n.tr("review.need_ack"))

    def _failed(self, exc: BaseException) -> None:
        self.checking.clear()
        self.message.setText(error_text(exc, self.i18n))
        self.save_button.setEnabled(
            not self.ack_boxes or all(b.isChecked() for b in self.ack_boxes)
        )

    def save(self) -> None:
        draft = self.draft
        if draft is None or not self.save_button.isEnabled():
            return
        acknowledged = bool(self.ack_boxes) and all(b.isChecked() for b in self.ack_boxes)
        request = draft.to_request(acknowledged)
        self.save_button.setEnabled(False)
        self.message.setText(self.i18n.tr("review.saving"))
        set_role(self.message, "hint")

        def failed(exc: BaseException) -> None:
            self.saving = False
            set_role(self.message, "error")
            self._failed(exc)

        def done(result: EnrollmentResult | RefusalResult) -> None:
            self.saving = False
            self.saved.emit(result)

        self.saving = True
        if isinstance(request, RefusalRequest):
            self.ctx.runner.submit(self.desk.refuse, request, on_done=done, on_error=failed)
        else:
            self.ctx.runner.submit(self.desk.enroll, request, on_done=done, on_error=failed)

    def clear(self) -> None:
        self.draft = None
        self.thumbnail = None
        self.saving = False
        while self.summary.rowCount():
            self.summary.removeRow(0)
        self._clear_warnings()
        self.checking.clear()
        set_role(self.checking, "hint")
        self.message.clear()
        set_role(self.message, "error")


class DonePage(Page):
    """The stored result and the person's copy of the document."""

    title_key = "wiz.done"
    next_person = Signal()

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        self.result: EnrollmentResult | RefusalResult | None = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "title")
        self.document = DocumentView(ctx)
        self.next_button = QPushButton()
        set_role(self.next_button, "primary")
        self.i18n.bind(self.next_button.setText, "done.new")
        self.next_button.clicked.connect(self.next_person.emit)
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addWidget(self.document, 1)
        lay.addWidget(self.next_button)

    def show_result(self, result: EnrollmentResult | RefusalResult) -> None:
        self.result = result
        if isinstance(result, RefusalResult):
            # The record to hand over; without a name kept, this is the only copy with it.
            key = "done.refusal" if result.in_name else "done.refusal.nameless"
            self.message.setText(self.i18n.tr(key))
            self.document.set_document(result.pdf, result.filename)
            self.next_button.setFocus()
            return
        self.message.setText(self.i18n.tr("done.consent"))
        docs = [
            d for d in result.documents if d.kind in ("consent_form", "refusal_record")
        ] or list(result.documents)
        if docs:
            doc = docs[0]
            self.ctx.runner.submit(
                self.desk.document_pdf,
                doc.id,
                on_done=lambda pdf: self.document.set_document(pdf, doc.filename),
            )
        else:
            self.document.clear()
        self.next_button.setFocus()

    def clear(self) -> None:
        self.result = None
        self.message.clear()
        self.document.clear()
