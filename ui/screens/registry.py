"""The registry: search, filter and page through everyone, and open one person's record.

Why a lazily-filled table model: a workstation may hold 100 000 people. The model asks the core
for one page (``Desk.find_people(offset=, limit=)``) at a time, only when the view scrolls near
the end (``canFetchMore`` / ``fetchMore``), so opening the tab or typing a search costs one small
query, never a full load.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import CONSENT_STATUSES, ConsentStatus, Person
from app.purpose_texts import title_in
from ui.context import UiContext
from ui.i18n import I18n
from ui.screens.person import PersonPanel, fmt_time

if TYPE_CHECKING:
    from app.desk import Desk
    from app.desk_types import PersonSummary

PAGE_SIZE = 200
COLUMNS = ("reg.col.name", "reg.col.reference", "reg.col.status", "reg.col.last")
STATUSES: tuple[ConsentStatus, ...] = CONSENT_STATUSES

Index = QModelIndex | QPersistentModelIndex


class PeopleModel(QAbstractTableModel):
    """Rows of ``PersonSummary``, fetched from the desk page by page."""

    def __init__(self, desk: Desk, i18n: I18n, page_size: int = PAGE_SIZE) -> None:
        super().__init__()
        self.desk = desk
        self.i18n = i18n
        self.page_size = page_size
        self.rows: list[PersonSummary] = []
        self.total = 0
        self.refusals_withheld = 0
        self.query = ""
        self.status: ConsentStatus | None = None
        self.purpose_id: int | None = None
        # English purpose title (what the core's summaries carry) -> the title in the
        # operator's language; refreshed with every search and language switch.
        self._titles: dict[str, str] = {}
        i18n.changed.connect(self._relabel)

    def _read_titles(self) -> None:
        language = self.i18n.language
        self._titles = {p.title: title_in(p, language) for p in self.desk.list_purposes()}

    def _relabel(self, _lang: str) -> None:
        self._read_titles()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self.rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1)
            )

    def search(
        self, query: str = "", status: ConsentStatus | None = None, purpose_id: int | None = None
    ) -> None:
        """Start over with new criteria and load the first page."""
        self.beginResetModel()
        self.query, self.status, self.purpose_id = query, status, purpose_id
        page = self.desk.find_people(
            query=query, status=status, purpose_id=purpose_id, offset=0, limit=self.page_size
        )
        self.rows = list(page.items)
        self.total = page.total
        self.refusals_withheld = page.refusals_withheld  # issue-13: counted, never named
        self._read_titles()
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows, self.total, self.refusals_withheld = [], 0, 0
        self.endResetModel()

    def update_person(self, person: Person) -> None:
        """A corrected person (rectification): their row shows the new details at once, without
        a new search that would close the page showing their receipt."""
        for i, summary in enumerate(self.rows):
            if summary.person.id == person.id:
                self.rows[i] = dataclasses.replace(summary, person=person)
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self.rows) < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or len(self.rows) >= self.total:
            return
        page = self.desk.find_people(
            query=self.query,
            status=self.status,
            purpose_id=self.purpose_id,
            offset=len(self.rows),
            limit=self.page_size,
        )
        if not page.items:
            self.total = len(self.rows)
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(page.items) - 1)
        self.rows.extend(page.items)
        self.total = page.total
        self.endInsertRows()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.i18n.tr(COLUMNS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.UserRole,
        ):
            return None
        summary = self.rows[index.row()]
        if role == Qt.ItemDataRole.UserRole:
            return summary.person.id
        person = summary.person
        column = index.column()
        if column == 0:
            return person.name
        if column == 1:
            return person.reference or ""
        if column == 2:
            if summary.status == "none":
                return "—"
            text = self.i18n.tr(f"status.{summary.status}")
            if not summary.purposes:
                return text
            titles = ", ".join(self._titles.get(t, t) for t in summary.purposes)
            return f"{text} · {titles}"
        return fmt_time(person.last_interaction_at)

    def person_id(self, row: int) -> str | None:
        return self.rows[row].person.id if 0 <= row < len(self.rows) else None


class RegistryScreen(QWidget):
    # The first page of results is on screen (once per sign-in): the window then loads the
    # face models in the background, not before (issue 12).
    first_page_shown = Signal()

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        i18n = ctx.i18n
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        i18n.bind(self.search.setPlaceholderText, "reg.search")
        i18n.bind(self.search.setAccessibleName, "reg.search")
        self.status = QComboBox()
        i18n.bind(self.status.setAccessibleName, "reg.status")
        self.purpose = QComboBox()
        i18n.bind(self.purpose.setAccessibleName, "reg.purpose")
        self.count = QLabel()
        self.model = PeopleModel(desk, i18n)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 200)
        self.table.setColumnWidth(1, 110)
        self.table.setColumnWidth(2, 220)
        i18n.bind(self.table.setAccessibleName, "reg.table")
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _prev: self.open_row(current.row())
        )
        self.model.rowsInserted.connect(lambda *_a: self._update_count())
        self.model.modelReset.connect(self._update_count)
        self.person = PersonPanel(desk, ctx)
        self.person.corrected.connect(self.model.update_person)

        filters = QHBoxLayout()
        filters.addWidget(self.search, 3)
        for key, combo in (("reg.status", self.status), ("reg.purpose", self.purpose)):
            label = QLabel()
            i18n.bind(label.setText, key)
            label.setBuddy(combo)
            filters.addWidget(label)
            filters.addWidget(combo, 1)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addLayout(filters)
        left_lay.addWidget(self.table, 1)
        left_lay.addWidget(self.count)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.person)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([700, 560])
        lay = QVBoxLayout(self)
        lay.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.status.currentIndexChanged.connect(lambda _i: self.refresh())
        self.purpose.currentIndexChanged.connect(lambda _i: self.refresh())
        i18n.changed.connect(lambda _l: self._fill_filters())
        i18n.changed.connect(lambda _l: self._update_count())
        self._filling = False
        self._shown_once = False
        self._fill_filters()

    def _fill_filters(self) -> None:
        self._filling = True
        tr = self.ctx.i18n.tr
        status = self.status.currentData()
        purpose = self.purpose.currentData()
        self.status.clear()
        self.status.addItem(tr("reg.any"), None)
        for s in STATUSES:
            self.status.addItem(tr(f"status.{s}"), s)
        self.status.setCurrentIndex(max(0, self.status.findData(status)))
        self.purpose.clear()
        self.purpose.addItem(tr("reg.any"), None)
        for p in self.desk.list_purposes():
            self.purpose.addItem(title_in(p, self.ctx.i18n.language), p.id)
        self.purpose.setCurrentIndex(max(0, self.purpose.findData(purpose)))
        self._filling = False

    def activated(self) -> None:
        """The tab was opened: fresh filters and results (another tab may have changed data)."""
        self._fill_filters()
        self.refresh()
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(0, self.first_page_shown.emit)  # after the page is painted

    def changed_elsewhere(self) -> None:
        """Another session changed the vault: fresh results, and the person shown anew (or
        "no longer held" when they were erased there)."""
        if self._filling:
            return
        shown = self.person.person.id if self.person.person is not None else None
        try:
            self.model.search(
                self.search.text().strip(), self.status.currentData(), self.purpose.currentData()
            )
        except Exception:  # the next look will try again; never a dialog from a timer
            return
        self.person.changed_elsewhere(shown)  # new results reset the selection

    def refresh(self) -> None:
        if self._filling:
            return
        self.person.clear()
        try:
            self.model.search(
                self.search.text().strip(), self.status.currentData(), self.purpose.currentData()
            )
        except Exception as exc:
            self.ctx.prompts.error(self, exc)

    def _update_count(self) -> None:
        text = self.ctx.i18n.tr("reg.count", shown=len(self.model.rows), total=self.model.total)
        if self.model.refusals_withheld:
            text += " · " + self.ctx.i18n.tr(
                "reg.refusals_withheld", count=self.model.refusals_withheld
            )
        self.count.setText(text)

    def open_row(self, row: int) -> None:
        person_id = self.model.person_id(row)
        try:
            self.person.show_person(person_id)
        except Exception as exc:  # erased meanwhile, say
            self.ctx.prompts.error(self, exc)

    def shutdown(self) -> None:
        self.model.clear()
        self.person.clear()
