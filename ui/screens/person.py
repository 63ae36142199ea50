"""One person's record: details, consents, documents (show / save / print) and audit trail.

Shared by the registry and the withdrawal desk, so both show the same facts the same way.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.purpose_texts import title_in
from ui.context import UiContext
from ui.document_view import DocumentView
from ui.screens.reconsent_dialog import ReconsentDialog
from ui.screens.rectify_dialog import RectifyDialog
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk
    from app.models import Consent, DocumentInfo, EnrollmentResult, Person


def fmt_time(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _set_header(table: QTableWidget, column: int, text: str) -> None:
    table.setHorizontalHeaderItem(column, QTableWidgetItem(text))


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))
    table.resizeColumnsToContents()


class PersonPanel(QWidget):
    withdraw_requested = Signal(str)  # person id: open them at the withdrawal desk
    corrected = Signal(object)  # Person, after a rectification

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        i18n = ctx.i18n
        self.person: Person | None = None
        self.documents: list[DocumentInfo] = []
        self.header = QLabel()
        self.header.setWordWrap(True)
        set_role(self.header, "title")
        # Said when the person shown was erased in another window (issue 10).
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        set_role(self.notice, "warning")
        self.notice.hide()
        self.withdraw_button = QPushButton()
        i18n.bind(self.withdraw_button.setText, "person.to_withdrawal")
        self.withdraw_button.clicked.connect(
            lambda: self.person is not None and self.withdraw_requested.emit(self.person.id)
        )
        # issue-13: rectification; the receipt is shown on the documents tab to hand over
        self.rectify_button = QPushButton()
        i18n.bind(self.rectify_button.setText, "person.rectify")
        self.rectify_button.clicked.connect(self.open_rectify)
        self.rectify_dialog: RectifyDialog | None = None
        # issue-13: re-consent after a material purpose change, without a new capture
        self.reconsent_button = QPushButton()
        i18n.bind(self.reconsent_button.setText, "person.reconsent")
        self.reconsent_button.clicked.connect(self.open_reconsent)
        self.reconsent_button.setEnabled(False)
        self.reconsent_dialog: ReconsentDialog | None = None
        self.waiting: list[Consent] = []
        self.tabs = QTabWidget()
        self.consents = _table(5)
        self.docs = _table(2)
        self.audit = _table(3)
        for table, keys in (
            (
                self.consents,
                [
                    "person.col.purpose",
                    "person.col.decision",
                    "person.col.status",
                    "person.col.signed",
                    "person.col.expires",
                ],
            ),
            (self.docs, ["person.col.kind", "person.col.created"]),
            (self.audit, ["person.col.at", "person.col.actor", "person.col.action"]),
        ):
            for col, key in enumerate(keys):
                i18n.bind(functools.partial(_set_header, table, col), key)
        docs_page = QWidget()
        docs_lay = QVBoxLayout(docs_page)
        self.show_doc = QPushButton()
        i18n.bind(self.show_doc.setText, "person.reprint")
        self.show_doc.clicked.connect(self.show_selected_document)
        self.docs.doubleClicked.connect(lambda _i: self.show_selected_document())
        self.document_view = DocumentView(ctx)
        self.access_report = QPushButton()
        i18n.bind(self.access_report.setText, "person.access_report")
        self.access_report.clicked.connect(self.make_access_report)
        row = QHBoxLayout()
        row.addWidget(self.show_doc)
        row.addWidget(self.access_report)
        row.addStretch(1)
        docs_lay.addWidget(self.docs, 1)
        docs_lay.addLayout(row)
        docs_lay.addWidget(self.document_view, 2)
        self.tabs.addTab(self.consents, "")
        self.tabs.addTab(docs_page, "")
        self.tabs.addTab(self.audit, "")
        for index, key in enumerate(["person.consents", "person.documents", "person.audit"]):
            i18n.bind(functools.partial(self.tabs.setTabText, index), key)
        i18n.bind(self.consents.setAccessibleName, "person.consents")
        i18n.bind(self.docs.setAccessibleName, "person.documents")
        i18n.bind(self.audit.setAccessibleName, "person.audit")
        i18n.changed.connect(self._retranslate)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.reconsent_button)
        top.addWidget(self.rectify_button)
        top.addWidget(self.withdraw_button)
        lay.addLayout(top)
        lay.addWidget(self.notice)
        lay.addWidget(self.tabs, 1)

    def show_person(self, person_id: str | None) -> None:
        self.clear()
        if person_id is None:
            return
        tr = self.ctx.i18n.tr
        desk = self.desk
        self.person = desk.get_person(person_id)
        person = self.person
        ref = f" · {person.reference}" if person.reference else ""
        self.header.setText(f"{person.name}{ref}")
        purposes = {p.id: title_in(p, self.ctx.i18n.language) for p in desk.list_purposes()}
        consents = desk.person_consents(person_id)
        self.waiting = [c for c in consents if c.status == "reconsent" and c.template_count > 0]
        _fill(
            self.consents,
            [
                [
                    f"{purposes.get(c.purpose_id, c.purpose_id)} (v{c.purpose_version})",
                    tr(f"decision.{c.decision}"),
                    tr(f"status.{c.status}"),
                    fmt_time(c.signed_at),
                    fmt_time(c.expires_at),
                ]
                for c in consents
            ],
        )
        self.documents = list(desk.person_documents(person_id))
        _fill(self.docs, [[tr(f"kind.{d.kind}"), fmt_time(d.created_at)] for d in self.documents])
        _fill(
            self.audit,
            [
                [fmt_time(e.at), e.actor, self._action(e.action)]
                for e in desk.person_audit(person_id)
            ],
        )
        self.show_doc.setEnabled(bool(self.documents))
        self.access_report.setEnabled(True)
        self.withdraw_button.setEnabled(True)
        self.rectify_button.setEnabled(True)
        self.reconsent_button.setEnabled(bool(self.waiting))

    def _retranslate(self, _lang: str) -> None:
        if not self.notice.isHidden():
            self.notice.setText(self.ctx.i18n.tr("person.gone_elsewhere"))
        if self.person is not None:
            keep = self.tabs.currentIndex()
            pdf, name = self.document_view.pdf, self.document_view.filename
            self.show_person(self.person.id)
            self.tabs.setCurrentIndex(keep)
            if pdf is not None:
                self.document_view.set_document(pdf, name)

    def _action(self, action: str) -> str:
        """A readable audit action; unknown codes are shown as they are."""
        return self.ctx.i18n.term("audit.", action)

    def show_selected_document(self) -> None:
        row = self.docs.currentRow()
        if not 0 <= row < len(self.documents):
            row = len(self.documents) - 1
        if row < 0:
            return
        doc = self.documents[row]
        self.ctx.runner.submit(
            self.desk.document_pdf,
            doc.id,
            on_done=lambda pdf: self.document_view.set_document(pdf, doc.filename),
            on_error=lambda e: self.ctx.prompts.error(self, e),
        )

    def open_rectify(self) -> RectifyDialog | None:
        """Correct the name or reference; on success the page shows the new values and the
        receipt for the person (non-modal ``open`` so tests and the keyboard drive it alike)."""
        if self.person is None:
            return None
        person_id = self.person.id

        def save(name: str, reference: str) -> None:
            result = self.desk.rectify_person(person_id, name=name, reference=reference)
            self.show_person(person_id)
            self.corrected.emit(result.person)
            if result.receipt is not None:
                receipt = result.receipt
                self.tabs.setCurrentIndex(1)
                self.document_view.set_document(
                    self.desk.document_pdf(receipt.id), receipt.filename
                )

        self.rectify_dialog = RectifyDialog(self.ctx.i18n, self.person, save, self)
        self.rectify_dialog.open()
        return self.rectify_dialog

    def open_reconsent(self) -> ReconsentDialog | None:
        """The short path: the new disclosure with the changes marked, one signature; the new
        consent form is then shown on the documents tab to hand over."""
        if self.person is None or not self.waiting:
            return None
        person_id = self.person.id

        def done(result: EnrollmentResult) -> None:
            self.show_person(person_id)
            if result.documents:
                form = result.documents[0]
                self.tabs.setCurrentIndex(1)
                self.document_view.set_document(self.desk.document_pdf(form.id), form.filename)

        try:
            dialog = ReconsentDialog(self.ctx.i18n, self.desk, self.waiting[0], done, self)
        except Exception as exc:  # e.g. the purpose lacks the person's language
            self.ctx.prompts.error(self, exc)
            return None
        self.reconsent_dialog = dialog
        dialog.open()
        return dialog

    def make_access_report(self) -> None:
        """Everything held about the person, as a signed PDF to hand over (access request)."""
        if self.person is None:
            return
        person_id = self.person.id
        self.ctx.runner.submit(
            self.desk.access_report_pdf,
            person_id,
            on_done=lambda pdf: self.document_view.set_document(
                pdf, f"access-report-{person_id}.pdf"
            ),
            on_error=lambda e: self.ctx.prompts.error(self, e),
        )

    def changed_elsewhere(self, person_id: str | None = None) -> None:
        """Another session changed the vault: show the person (``person_id``, else the one
        shown) anew, or say they are gone."""
        person_id = person_id or (self.person.id if self.person is not None else None)
        if person_id is None:
            return
        from app.errors import NotFound

        keep = self.tabs.currentIndex()
        try:
            self.show_person(person_id)
        except NotFound:
            self.clear()
            self.notice.setText(self.ctx.i18n.tr("person.gone_elsewhere"))
            self.notice.show()
            return
        self.tabs.setCurrentIndex(keep)

    def clear(self) -> None:
        self.person = None
        self.notice.hide()
        self.documents = []
        self.header.clear()
        for table in (self.consents, self.docs, self.audit):
            table.setRowCount(0)
        self.document_view.clear()
        self.show_doc.setEnabled(False)
        self.access_report.setEnabled(False)
        self.withdraw_button.setEnabled(False)
        self.rectify_button.setEnabled(False)
        self.reconsent_button.setEnabled(False)
        self.waiting = []
