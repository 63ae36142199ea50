"""The enrollment wizard: details → disclosure → decision → signature → capture → review → done.

Why a hand-made wizard and not QWizard: the path branches (a refusal skips capture), the
decision page advances by the person's own click rather than a *Next* button, and *Cancel* at
any step must drop the draft without a trace. A stack of pages with a tiny controller is
simpler to reason about than QWizard's page-id machinery.

Nothing is written to the vault before *Save* on the review page.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.context import UiContext
from ui.screens.capture_page import CapturePage
from ui.screens.draft import Draft
from ui.screens.review_page import DonePage, ReviewPage
from ui.screens.wizard_pages import (
    DecisionPage,
    DetailsPage,
    DisclosurePage,
    Page,
    SignaturePage,
)
from ui.theme import scrolled, set_role

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.desk import Desk
    from app.desk_types import RefusalResult
    from app.models import EnrollmentResult, Language

CONSENT_PATH = ("details", "disclosure", "decision", "signature", "capture", "review", "done")
REFUSAL_PATH = ("details", "disclosure", "decision", "signature", "review", "done")


class EnrollmentWizard(QWidget):
    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        self.i18n = ctx.i18n
        self.draft: Draft | None = None
        self.current = ""

        # start page
        start = QWidget()
        start_lay = QVBoxLayout(start)
        self.start_button = QPushButton()
        set_role(self.start_button, "primary")
        self.start_button.setMinimumHeight(72)
        self.i18n.bind(self.start_button.setText, "wiz.start")
        self.start_button.clicked.connect(self.start)
        hint = QLabel()
        hint.setWordWrap(True)
        set_role(hint, "hint")
        self.i18n.bind(hint.setText, "wiz.start.hint")
        self.start_button.setMinimumWidth(360)
        self.start_button.setStyleSheet("font-size: 16pt;")
        hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        column = QWidget()
        column.setFixedWidth(600)  # a fixed width lets the wrapped hint compute its height
        column_lay = QVBoxLayout(column)
        column_lay.addWidget(self.start_button, 0, Qt.AlignmentFlag.AlignHCenter)
        column_lay.addSpacing(12)
        column_lay.addWidget(hint)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column)
        row.addStretch(1)
        start_lay.addStretch(1)
        start_lay.addLayout(row)
        start_lay.addStretch(2)

        self.pages: dict[str, Page] = {
            "details": DetailsPage(desk, ctx),
            "disclosure": DisclosurePage(desk, ctx),
            "decision": DecisionPage(desk, ctx),
            "signature": SignaturePage(desk, ctx),
            "capture": CapturePage(desk, ctx),
            "review": ReviewPage(desk, ctx),
            "done": DonePage(desk, ctx),
        }
        self.decision_page: DecisionPage = self.pages["decision"]  # type: ignore[assignment]
        self.capture_page: CapturePage = self.pages["capture"]  # type: ignore[assignment]
        self.review_page: ReviewPage = self.pages["review"]  # type: ignore[assignment]
        self.done_page: DonePage = self.pages["done"]  # type: ignore[assignment]
        self.decision_page.decided.connect(self._decided)
        self.pages["details"].submitted.connect(self.next)  # type: ignore[attr-defined]
        self.capture_page.completed.connect(self.next)
        self.review_page.saved.connect(self._saved)
        self.done_page.next_person.connect(self.start)

        # Each page scrolls on its own: on a 1366x768 screen the tallest page (the signature
        # pad) once forced an 805 px window and pushed Back/Next off the screen.
        self.stack = QStackedWidget()
        self.stack.addWidget(scrolled(start))
        self._holders: dict[str, QScrollArea] = {}
        for name, page in self.pages.items():
            self._holders[name] = scrolled(page)
            self.stack.addWidget(self._holders[name])

        self.step_label = QLabel()
        set_role(self.step_label, "title")
        self.cancel_button = QPushButton()
        self.i18n.bind(self.cancel_button.setText, "wiz.cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.back_button = QPushButton()
        self.i18n.bind(self.back_button.setText, "common.back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton()
        set_role(self.next_button, "primary")
        self.i18n.bind(self.next_button.setText, "common.next")
        self.next_button.clicked.connect(self.next)
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "error")

        header = QHBoxLayout()
        header.addWidget(self.step_label, 1)
        header.addWidget(self.cancel_button)
        footer = QHBoxLayout()
        footer.addWidget(self.message, 1)
        footer.addWidget(self.back_button)
        footer.addWidget(self.next_button)
        self.header = QWidget()
        self.header.setLayout(header)
        self.footer = QWidget()
        self.footer.setLayout(footer)
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.footer)
        self.i18n.changed.connect(lambda _l: self._update_chrome())
        self._keyboard()  # after the layout: only then are the pages' buttons our children
        self._show_start()

    def _keyboard(self) -> None:
        """An enrollment can be done without a mouse (issue 14): Enter on a focused button
        presses it (a plain QWidget gives buttons no auto-default), Tab reaches Next first after
        a page's own fields, and Escape cancels (asking first once something was given)."""
        decision = (self.decision_page.consent_button, self.decision_page.refuse_button)
        for button in (
            *self.findChildren(QPushButton),
            self.next_button,
            self.back_button,
            self.cancel_button,
        ):
            # The person's own answer is never taken by Enter: only by Space or a click.
            button.setAutoDefault(button not in decision)
        QWidget.setTabOrder(self.next_button, self.back_button)
        QWidget.setTabOrder(self.back_button, self.cancel_button)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self._escape)

    def _escape(self) -> None:
        if self.current and self.cancel_button.isVisible():
            self.cancel()

    def showEvent(self, event: QShowEvent) -> None:
        """Coming to this tab puts the keyboard on Start (or keeps it on the page in use)."""
        super().showEvent(event)
        if not self.current:
            self.start_button.setFocus()

    def _keep_focus_visible(self) -> None:
        """A page change hid the focused button: put the focus on a button still shown (never
        on a decision button, which would nudge the person towards it)."""
        focused = QApplication.focusWidget()
        if focused is not None and focused.isVisible() and self.isAncestorOf(focused):
            return
        for button in (self.next_button, self.back_button, self.cancel_button):
            if button.isVisible():
                button.setFocus()
                return

    # -- navigation ----------------------------------------------------------------------------
    def path(self) -> tuple[str, ...]:
        return REFUSAL_PATH if self.draft is not None and self.draft.refused else CONSENT_PATH

    def _show_start(self) -> None:
        self.current = ""
        self.stack.setCurrentIndex(0)
        self.header.hide()
        self.footer.hide()
        self.start_button.setFocus()

    def start(self) -> None:
        self._clear_pages()
        self.draft = Draft(language=self.i18n.language)
        self._go("details")

    def _go(self, name: str) -> None:
        if self.current and self.current in self.pages:
            self.pages[self.current].leave()
        self.current = name
        page = self.pages[name]
        assert self.draft is not None
        self.message.clear()
        self.stack.setCurrentWidget(self._holders[name])
        self.header.show()
        self.footer.show()
        self._update_chrome()
        try:
            page.enter(self.draft)
        except Exception as exc:  # e.g. the purpose was removed meanwhile
            self.ctx.prompts.error(self, exc)
        self._keep_focus_visible()

    def _update_chrome(self) -> None:
        if not self.current:
            return
        path = self.path()
        n = path.index(self.current) + 1 if self.current in path else 1
        title = self.i18n.tr(self.pages[self.current].title_key)
        self.step_label.setText(self.i18n.tr("wiz.step", n=n, total=len(path), name=title))
        self.back_button.setVisible(self.current not in ("details", "done"))
        # The decision page advances by the person's choice, review by Save, capture by itself.
        self.next_button.setVisible(
            self.current in ("details", "disclosure", "signature")
            or (self.current == "capture" and bool(self.draft and self.draft.embeddings))
        )
        self.cancel_button.setVisible(self.current != "done")

    def next(self) -> None:
        if not self.current or self.draft is None:
            return
        problem = self.pages[self.current].commit(self.draft)
        if problem:
            self.message.setText(problem)
            return
        path = self.path()
        index = path.index(self.current)
        if index + 1 < len(path):
            self._go(path[index + 1])

    def back(self) -> None:
        if self.review_page.saving:
            return
        path = self.path()
        if self.current in path:
            index = path.index(self.current)
            if index > 0:
                self._go(path[index - 1])

    def _decided(self, decision: str) -> None:
        assert self.draft is not None
        self.draft.decision = decision
        # A signature always belongs to the decision just made: never carry strokes given
        # for one answer over to the other.
        self.pages["signature"].clear()
        self.draft.signature = None
        self.draft.guardian = None
        self._go("signature")

    def _saved(self, result: EnrollmentResult | RefusalResult) -> None:
        self._go("done")
        self.done_page.show_result(result)
        self.draft = None  # the record is stored; keep no copy of the request around
        self._discard_kept()

    # -- drafts kept across a lock -------------------------------------------------------------
    @property
    def in_progress(self) -> bool:
        """An enrollment was started and is neither saved nor cancelled."""
        return self.draft is not None and self.current not in ("", "done")

    def draft_fields(self) -> dict[str, str]:
        """What a kept draft holds: the details (as typed, even before Next), nothing else."""
        assert self.draft is not None
        draft = self.draft
        if self.current == "details":
            details = cast(DetailsPage, self.pages["details"])
            fields = {
                "name": details.name.text().strip(),
                "reference": details.reference.text().strip(),
                "date_of_birth": details.dob.text().strip(),
                "language": str(details.language.currentData() or ""),
                "purpose_id": str(details.purpose.currentData() or ""),
            }
        else:
            fields = {
                "name": draft.name,
                "reference": draft.reference,
                "date_of_birth": draft.date_of_birth.isoformat() if draft.date_of_birth else "",
                "language": draft.language,
                "purpose_id": str(draft.purpose_id or ""),
            }
        fields["step"] = self.current
        return fields

    def keep_draft(self) -> bool:
        """Before a lock or close: keep the enrollment in progress in the vault (encrypted)."""
        if not self.in_progress:
            return False
        try:
            self.desk.save_draft(self.draft_fields())
        except Exception:  # the lock must happen whatever; the operator was asked on close
            log.exception("keeping the enrollment draft failed")
            return False
        return True

    def resume(self, fields: Mapping[str, str]) -> None:
        """Back on the details page with what was typed; the person reads, decides and signs
        again (a consent is given in one sitting)."""
        self._clear_pages()
        born = fields.get("date_of_birth", "")
        try:
            dob = dt.date.fromisoformat(born) if born else None
        except ValueError:
            dob = None
        purpose = fields.get("purpose_id", "")
        self.draft = Draft(
            name=fields.get("name", ""),
            reference=fields.get("reference", ""),
            date_of_birth=dob,
            language=cast("Language", fields.get("language") or self.i18n.language),
            purpose_id=int(purpose) if purpose.isdigit() else None,
        )
        self._go("details")

    def _discard_kept(self) -> None:
        try:
            self.desk.discard_draft()
        except Exception:
            log.exception("discarding the enrollment draft failed")

    # -- cancel / teardown ---------------------------------------------------------------------
    def cancel(self) -> None:
        if self.review_page.saving:
            return  # the record is being written; it will be shown on the done page
        if (
            self.current
            and self.current != "details"
            and not self.ctx.prompts.confirm(self, self.i18n.tr("wiz.cancel.confirm"))
        ):
            return
        self.reset()

    def reset(self) -> None:
        """Drop the draft and everything shown; back to the start page."""
        self._clear_pages()
        if self.draft is not None:
            self._discard_kept()
        self.draft = None
        self._show_start()

    def _clear_pages(self) -> None:
        for page in self.pages.values():
            page.leave()
            page.clear()

    def shutdown(self) -> None:
        self.capture_page.shutdown()
        self._clear_pages()
