"""The admin's compliance overview (issue 16) with the recognition devices' freshness (issue 17).

Why one screen: a regulator's questions (how many people's face data is held against the filing
threshold, whether each purpose has its necessity test and a current impact assessment, which
requests are overdue, whether a withdrawal has reached every door) are answered by the same
vault that holds the data, and an admin should see them without the command line. Everything
shown comes from ``Compliance.overview()``, the same call behind ``consentdesk compliance``, so
the screen and the CLI cannot disagree; it runs in the background runner (indexed counts only,
well under a second at 100,000 people).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.compliance.service import Compliance
from app.compliance.types import ComplianceOverview, RequestRecord
from app.purpose_texts import title_in
from ui.context import UiContext
from ui.screens.assessment import assessment_dialog
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


def filing_key(overview: ComplianceOverview) -> tuple[str, str] | None:
    """The warning to show (catalog key, style role) at 80 % and at 100 % of the threshold."""
    if overview.stored_people > overview.filing_threshold:
        return "gov.filing.required", "error"
    if overview.stored_people >= overview.filing_threshold:
        return "gov.filing.reached", "error"
    if overview.stored_people >= 0.8 * overview.filing_threshold:
        return "gov.filing.warning", "warning"
    return None


def _table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fit(table: QTableWidget, most: int = 6) -> None:
    """As tall as its rows (up to ``most``; it scrolls beyond), so short lists leave no gap."""
    rows = min(max(table.rowCount(), 1), most)
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(rows)) if table.rowCount() else 24
    table.setFixedHeight(height + 2)


def _when(text: str | dt.datetime | None) -> str:
    if text is None:
        return "-"
    when = dt.datetime.fromisoformat(text) if isinstance(text, str) else text
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class ComplianceScreen(QWidget):
    """Admins only (the tab is added for admins; the core's verbs check the role again)."""

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        self.overview: ComplianceOverview | None = None
        self.overdue: list[RequestRecord] = []
        i18n = ctx.i18n
        content = QWidget()
        lay = QVBoxLayout(content)

        self.filing_box = QGroupBox()
        i18n.bind(self.filing_box.setTitle, "gov.filing")
        f_lay = QVBoxLayout(self.filing_box)
        self.filing_summary = QLabel()
        self.filing_summary.setWordWrap(True)
        self.filing_bar = QProgressBar()
        self.filing_bar.setTextVisible(True)
        self.filing_warning = QLabel()
        self.filing_warning.setWordWrap(True)
        self.filing_warning.hide()
        self.filing_projection = QLabel()
        self.filing_projection.setWordWrap(True)
        set_role(self.filing_projection, "hint")
        for w in (self.filing_summary, self.filing_bar, self.filing_warning):
            f_lay.addWidget(w)
        f_lay.addWidget(self.filing_projection)
        lay.addWidget(self.filing_box)

        self.purpose_box = QGroupBox()
        i18n.bind(self.purpose_box.setTitle, "gov.purposes")
        p_lay = QVBoxLayout(self.purpose_box)
        self.purposes = _table(6)
        i18n.bind(self.purposes.setAccessibleName, "gov.purposes")
        self.purposes.itemDoubleClicked.connect(lambda _i: self.open_assessment())
        self.assessment_button = QPushButton()
        i18n.bind(self.assessment_button.setText, "gov.assessment.open")
        self.assessment_button.clicked.connect(self.open_assessment)
        row = QHBoxLayout()
        row.addWidget(self.assessment_button)
        row.addStretch(1)
        p_lay.addWidget(self.purposes)
        p_lay.addLayout(row)
        lay.addWidget(self.purpose_box)

        self.request_box = QGroupBox()
        i18n.bind(self.request_box.setTitle, "gov.requests")
        r_lay = QVBoxLayout(self.request_box)
        self.request_summary = QLabel()
        self.request_summary.setWordWrap(True)
        self.requests = _table(5)
        i18n.bind(self.requests.setAccessibleName, "gov.requests")
        r_lay.addWidget(self.request_summary)
        r_lay.addWidget(self.requests)
        lay.addWidget(self.request_box)

        self.device_box = QGroupBox()
        i18n.bind(self.device_box.setTitle, "gov.devices")
        d_lay = QVBoxLayout(self.device_box)
        self.device_summary = QLabel()
        self.device_summary.setWordWrap(True)
        self.devices = _table(5)
        i18n.bind(self.devices.setAccessibleName, "gov.devices")
        d_lay.addWidget(self.device_summary)
        d_lay.addWidget(self.devices)
        lay.addWidget(self.device_box)

        self.records_box = QGroupBox()
        i18n.bind(self.records_box.setTitle, "gov.records")
        self.records = QFormLayout(self.records_box)
        self.record_labels = [QLabel() for _ in range(4)]
        self.record_values = [QLabel() for _ in range(4)]
        for label, value in zip(self.record_labels, self.record_values, strict=True):
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.records.addRow(label, value)
        lay.addWidget(self.records_box)
        lay.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        i18n.changed.connect(lambda _lang: self.show_overview())

    # -- data --------------------------------------------------------------------------------
    def activated(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Read the overview and the overdue requests in the background, then show them."""
        compliance = Compliance(self.desk)

        def read() -> tuple[ComplianceOverview, list[RequestRecord]]:
            return compliance.overview(), compliance.registers.list_requests("overdue")

        self.ctx.runner.submit(read, on_done=self._loaded, on_error=self._failed)

    def _loaded(self, result: tuple[ComplianceOverview, list[RequestRecord]]) -> None:
        self.overview, self.overdue = result
        self.show_overview()

    def _failed(self, exc: BaseException) -> None:
        self.ctx.prompts.error(self, exc)

    # -- showing -----------------------------------------------------------------------------
    def show_overview(self) -> None:
        o = self.overview
        if o is None:
            return
        tr = self.ctx.i18n.tr
        self.filing_summary.setText(
            tr(
                "gov.filing.summary",
                stored=f"{o.stored_people:,}",
                threshold=f"{o.filing_threshold:,}",
                percent=f"{o.threshold_ratio:.1%}",
            )
        )
        self.filing_bar.setRange(0, o.filing_threshold)
        self.filing_bar.setValue(min(o.stored_people, o.filing_threshold))
        self.filing_bar.setFormat(f"{o.threshold_ratio:.1%}")
        warning = filing_key(o)
        self.filing_warning.setVisible(warning is not None)
        if warning is not None:
            key, role = warning
            self.filing_warning.setText(tr(key, threshold=f"{o.filing_threshold:,}"))
            set_role(self.filing_warning, role)
        self.filing_projection.setText(
            tr(
                "gov.filing.projection",
                date=o.projected_threshold_date.isoformat(),
                rate=f"{o.enrollment_rate_per_day:g}",
            )
            if o.projected_threshold_date is not None
            else tr("gov.filing.no_projection", rate=f"{o.enrollment_rate_per_day:g}")
        )
        self._show_purposes(o)
        self._show_requests(o)
        self._show_devices(o)
        values = [
            str(o.breaches),
            str(o.retention_erasures),
            _when(o.last_backup_at) if o.last_backup_at else tr("gov.never"),
            str(o.audit_entries),
        ]
        keys = ["gov.rec.breaches", "gov.rec.purges", "gov.rec.backup", "gov.rec.audit"]
        for label, value, key, text in zip(
            self.record_labels, self.record_values, keys, values, strict=True
        ):
            label.setText(tr(key))
            value.setText(text)

    def _show_purposes(self, o: ComplianceOverview) -> None:
        tr = self.ctx.i18n.tr
        self.purposes.setHorizontalHeaderLabels(
            [
                tr(k)
                for k in (
                    "gov.col.purpose",
                    "gov.col.version",
                    "gov.col.stored",
                    "gov.col.necessity",
                    "gov.col.assessment",
                    "gov.col.enroll",
                )
            ]
        )
        self.purposes.setRowCount(len(o.per_purpose))
        language = self.ctx.i18n.language
        titles = {q.id: title_in(q, language) for q in self.desk.list_purposes()}
        for r, p in enumerate(o.per_purpose):
            assessed = tr(f"gov.state.{p.assessment}")
            if p.assessment_date is not None:
                assessed += f" ({p.assessment_date.date().isoformat()})"
            cells = [
                titles.get(p.purpose_id, p.title),
                str(p.version),
                f"{p.stored_people:,}",
                tr(f"gov.state.{p.necessity}"),
                assessed,
                tr("gov.yes") if p.can_enroll else tr("gov.no"),
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, p.purpose_id)
                self.purposes.setItem(r, c, item)
        _fit(self.purposes)
        if o.per_purpose and not self.purposes.selectedItems():
            self.purposes.selectRow(0)
        self.assessment_button.setEnabled(bool(o.per_purpose))

    def _show_requests(self, o: ComplianceOverview) -> None:
        tr = self.ctx.i18n.tr
        self.request_summary.setText(
            tr("gov.requests.summary", open=o.open_requests, overdue=o.overdue_requests)
        )
        set_role(self.request_summary, "error" if o.overdue_requests else "hint")
        self.requests.setHorizontalHeaderLabels(
            [
                tr(k)
                for k in (
                    "gov.col.request",
                    "gov.col.kind",
                    "gov.col.received",
                    "gov.col.due",
                    "gov.col.law",
                )
            ]
        )
        self.requests.setRowCount(len(self.overdue))
        for r, req in enumerate(self.overdue):
            cells = [
                req.id,
                tr(f"gov.kind.{req.kind}"),
                req.received_at.date().isoformat(),
                req.due_on.isoformat(),
                req.jurisdiction.upper(),
            ]
            for c, text in enumerate(cells):
                self.requests.setItem(r, c, QTableWidgetItem(text))
        _fit(self.requests)
        self.requests.setVisible(bool(self.overdue))

    def _show_devices(self, o: ComplianceOverview) -> None:
        tr = self.ctx.i18n.tr
        self.device_summary.setText(
            tr("gov.devices.none")
            if not o.devices
            else tr("gov.devices.summary", count=len(o.devices), overdue=o.devices_overdue)
        )
        set_role(self.device_summary, "error" if o.devices_overdue else "hint")
        self.devices.setHorizontalHeaderLabels(
            [
                tr(k)
                for k in (
                    "gov.col.device",
                    "gov.col.bundle",
                    "gov.col.revocations",
                    "gov.col.waiting",
                    "gov.col.status",
                )
            ]
        )
        self.devices.setRowCount(len(o.devices))
        never = tr("gov.never")
        for r, d in enumerate(o.devices):
            status = (
                tr("gov.device.overdue", since=_when(d.oldest_unsent_at))
                if d.overdue
                else tr("gov.device.waiting")
                if d.unsent
                else tr("gov.device.current")
            )
            cells = [
                d.name,
                _when(d.last_bundle_at) if d.last_bundle_at else never,
                _when(d.last_revocations_at) if d.last_revocations_at else never,
                str(d.unsent),
                status,
            ]
            for c, text in enumerate(cells):
                self.devices.setItem(r, c, QTableWidgetItem(text))
        _fit(self.devices)
        self.devices.setVisible(bool(o.devices))

    # -- actions -----------------------------------------------------------------------------
    def selected_purpose(self) -> int | None:
        items = self.purposes.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def open_assessment(self) -> None:
        purpose_id = self.selected_purpose()
        if purpose_id is None:
            return
        dialog = assessment_dialog(self.desk, self.ctx, purpose_id, self)
        dialog.accepted.connect(self.refresh)
        self.assessment_dialog = dialog
        dialog.open()

    def shutdown(self) -> None:
        self.overview = None
