"""The first four enrollment pages: person details, disclosure, decision, signature.

One decision per page, so the person is never asked two things at once. Pages hold no state of
their own beyond their widgets: :meth:`enter` fills them from the draft, :meth:`commit` writes
the page's answer back (or returns a message saying what is missing).

Person-facing text (the disclosure, the question, the buttons, the signature prompt) is in the
*person's* language, which may differ from the operator's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.models import LANGUAGES, Language, Signature
from app.purpose_texts import localized, title_in
from app.signature import SignatureError, validate_signature
from ui.context import UiContext
from ui.i18n import I18n
from ui.screens.dates import DateProblem, parse_typed_date
from ui.screens.draft import Draft
from ui.screens.necessity import EnrollState, enroll_states
from ui.signature_pad import SignaturePad
from ui.theme import DECISION_STYLE, READING_POINT_SIZE, set_role

if TYPE_CHECKING:
    from app.desk import Desk


class Page(QWidget):
    """Base: ``enter`` before showing, ``commit`` before moving on (None = fine)."""

    title_key = ""

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        self.i18n: I18n = ctx.i18n

    def enter(self, draft: Draft) -> None:
        """Fill the widgets from ``draft``."""

    def commit(self, draft: Draft) -> str | None:
        """Store the page's answer in ``draft``; return a message if something is missing."""
        return None

    def leave(self) -> None:
        """Called when the page is hidden (stop a camera, say)."""

    def clear(self) -> None:
        """Forget everything shown (cancel, lock)."""


class DetailsPage(Page):
    title_key = "wiz.details"
    submitted = Signal()  # Enter in a text field: same as Next

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        i18n = self.i18n
        self.name = QLineEdit()
        self.reference = QLineEdit()
        # A plain typed date (see ui/screens/dates.py for why not a date spin box).
        self.dob = QLineEdit()
        self.dob.setMaxLength(16)
        i18n.bind(self.dob.setPlaceholderText, "details.dob.placeholder")
        self.dob_error = QLabel()
        self.dob_error.setWordWrap(True)
        set_role(self.dob_error, "error")
        self.dob_error.hide()
        self.language = QComboBox()
        for lang in LANGUAGES:
            self.language.addItem(i18n.tr(f"lang.{lang}"), lang)
        i18n.changed.connect(self._retranslate_languages)
        self.purpose = QComboBox()
        self.enroll_states: dict[int, EnrollState] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, widget in (
            ("details.name", self.name),
            ("details.reference", self.reference),
            ("details.dob", self.dob),
            ("details.language", self.language),
            ("details.purpose", self.purpose),
        ):
            label = QLabel()
            i18n.bind(label.setText, key)
            i18n.bind(widget.setAccessibleName, key)
            label.setBuddy(widget)
            form.addRow(label, widget)
        self.similar = QLabel()
        self.similar.setWordWrap(True)
        set_role(self.similar, "warning")
        self.similar.hide()
        # The hint can be acted on: the same person coming back for another purpose is linked
        # to their existing record instead of creating a second one.
        self.same_person = QComboBox()
        self.i18n.bind(self.same_person.setAccessibleName, "details.same_person")
        self.same_person.hide()
        self.minor = QLabel()
        self.minor.setWordWrap(True)
        set_role(self.minor, "warning")
        self.minor.hide()
        # issue-13: without a date of birth the operator attests, in their own name, that the
        # person is an adult and that they saw an identity document (printed on the form).
        self.adult_seen = QCheckBox()
        i18n.bind(self.adult_seen.setText, "details.adult_seen")
        i18n.bind(self.adult_seen.setAccessibleName, "details.adult_seen")
        self.no_purpose = QLabel()
        self.no_purpose.setWordWrap(True)
        set_role(self.no_purpose, "error")
        i18n.bind(self.no_purpose.setText, "details.no_purpose")
        self.no_purpose.hide()
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.adult_seen)
        lay.addWidget(self.dob_error)
        lay.addWidget(self.similar)
        lay.addWidget(self.same_person)
        lay.addWidget(self.minor)
        lay.addWidget(self.no_purpose)
        lay.addStretch(1)
        self._similar_timer = QTimer(self)
        self._similar_timer.setSingleShot(True)
        self._similar_timer.setInterval(300)
        self._similar_timer.timeout.connect(self._check_similar)
        self.name.textChanged.connect(lambda _t: self._similar_timer.start())
        self.name.returnPressed.connect(self.submitted.emit)
        self.reference.returnPressed.connect(self.submitted.emit)
        self.dob.textChanged.connect(lambda _t: self._check_minor())
        self.dob.returnPressed.connect(self.submitted.emit)

    def _retranslate_languages(self, _lang: str) -> None:
        for i in range(self.language.count()):
            self.language.setItemText(i, self.i18n.tr(f"lang.{self.language.itemData(i)}"))

    def date_of_birth(self) -> dt.date | None:
        """The typed date; raises :class:`DateProblem` for one that cannot be right."""
        return parse_typed_date(self.dob.text(), dt.date.today())

    def _dob_problem(self) -> str | None:
        try:
            self.date_of_birth()
        except DateProblem as problem:
            return self.i18n.tr(f"details.dob.{problem.kind}")
        return None

    def _check_similar(self) -> None:
        name = self.name.text().strip()
        people = self.desk.similar_names(name) if len(name) >= 2 else []
        self.same_person.clear()
        if not people:
            self.similar.hide()
            self.same_person.hide()
            return
        shown = ", ".join(p.name + (f" ({p.reference})" if p.reference else "") for p in people[:5])
        self.similar.setText(self.i18n.tr("details.similar", names=shown))
        self.similar.show()
        self.same_person.addItem(self.i18n.tr("details.new_person"), None)
        for p in people[:5]:
            label = p.name + (f" ({p.reference})" if p.reference else "")
            self.same_person.addItem(self.i18n.tr("details.is_same", who=label), p.id)
        self.same_person.show()

    def _check_minor(self) -> None:
        problem = self._dob_problem()
        # Say what is wrong only once something date-like is complete, not at every keystroke.
        complete = len(self.dob.text().strip()) >= 8
        self.dob_error.setText(problem or "")
        self.dob_error.setVisible(problem is not None and complete)
        dob = None if problem else self.date_of_birth()
        # A typed date of birth decides; the attestation is only for when there is none.
        self.adult_seen.setEnabled(dob is None)
        if dob is not None:
            self.adult_seen.setChecked(False)
        if dob is not None and self.desk.needs_guardian(dob):
            self.minor.setText(
                self.i18n.tr("details.minor", age=self.desk.get_setting("guardian_age"))
            )
            self.minor.show()
        else:
            self.minor.hide()

    def _fill_purposes(self, wanted: object) -> None:
        """Every purpose, those that cannot enroll yet greyed out with the reason, so the
        operator learns it here and not at the last step of an enrollment."""
        self.purpose.clear()
        self.enroll_states = enroll_states(self.desk)
        model = self.purpose.model()
        assert isinstance(model, QStandardItemModel)
        first_usable = -1
        for purpose in self.desk.list_purposes():
            state = self.enroll_states.get(purpose.id)
            label = f"{title_in(purpose, self.i18n.language)} (v{purpose.version})"
            if state is not None and state.reason_key:
                label += f" · {self.i18n.tr(state.reason_key)}"
            self.purpose.addItem(label, purpose.id)
            item = model.item(self.purpose.count() - 1)
            if state is not None and not state.can_enroll:
                item.setEnabled(False)
            elif first_usable < 0:
                first_usable = self.purpose.count() - 1
        index = self.purpose.findData(wanted)
        if index >= 0 and model.item(index).isEnabled():
            self.purpose.setCurrentIndex(index)
        elif first_usable >= 0:
            self.purpose.setCurrentIndex(first_usable)

    def _purpose_problem(self) -> str | None:
        """Why the chosen purpose cannot enroll anyone yet (None: it can)."""
        state = self.enroll_states.get(int(self.purpose.currentData()))
        if state is None or state.can_enroll:
            return None
        return self.i18n.tr("details.purpose_blocked", why=self.i18n.tr(state.reason_key or ""))

    def enter(self, draft: Draft) -> None:
        current = self.purpose.currentData()
        self._fill_purposes(draft.purpose_id if draft.purpose_id is not None else current)
        self.no_purpose.setVisible(self.purpose.count() == 0)
        self.name.setText(draft.name)
        self.reference.setText(draft.reference)
        self.dob.setText(draft.date_of_birth.isoformat() if draft.date_of_birth else "")
        self.language.setCurrentIndex(max(0, self.language.findData(draft.language)))
        self.name.setFocus()

    def commit(self, draft: Draft) -> str | None:
        if self.purpose.count() == 0:
            return self.i18n.tr("details.no_purpose")
        blocked = self._purpose_problem()
        if blocked is not None:
            self.purpose.setFocus()
            return blocked
        if not self.name.text().strip():
            return self.i18n.tr("details.need_name")
        problem = self._dob_problem()
        if problem is not None:
            self.dob_error.setText(problem)
            self.dob_error.show()
            self.dob.setFocus()
            return problem
        if self.date_of_birth() is None and not self.adult_seen.isChecked():
            self.dob.setFocus()
            return self.i18n.tr("details.need_dob")
        draft.name = self.name.text().strip()
        draft.reference = self.reference.text().strip()
        draft.date_of_birth = self.date_of_birth()
        draft.age_basis = None if draft.date_of_birth else "id_document_seen"
        draft.language = self.language.currentData()
        draft.purpose_id = int(self.purpose.currentData())
        draft.needs_guardian = bool(self.desk.needs_guardian(draft.date_of_birth))
        draft.existing_person_id = (
            self.same_person.currentData() if self.same_person.isVisible() else None
        )
        return None

    def clear(self) -> None:
        for w in (self.name, self.reference):
            w.clear()
        self.dob.clear()
        self.adult_seen.setChecked(False)
        self.adult_seen.setEnabled(True)
        self.dob_error.hide()
        self.similar.hide()
        self.same_person.clear()
        self.same_person.hide()
        self.minor.hide()


class DisclosurePage(Page):
    """The disclosure, in the person's language, large and scrollable."""

    title_key = "wiz.disclosure"

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        self.text = QTextBrowser()
        set_role(self.text, "reading")
        font = QFont(self.font())
        font.setPointSize(READING_POINT_SIZE)
        self.text.setFont(font)
        self.text.setOpenLinks(False)
        self.text.document().setDocumentMargin(18)
        self.text.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.text.setTabChangesFocus(True)  # arrows scroll the text, Tab goes on to Next
        self.i18n.bind(self.text.setAccessibleName, "wiz.disclosure")
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)

    def enter(self, draft: Draft) -> None:
        assert draft.purpose_id is not None
        draft.disclosure = self.desk.disclosure(draft.purpose_id, draft.language)
        draft.purpose = self.desk.get_purpose(draft.purpose_id)
        self.text.setPlainText(draft.disclosure.text)
        self.text.verticalScrollBar().setValue(0)
        self.text.setFocus()

    def clear(self) -> None:
        self.text.clear()


class DecisionPage(Page):
    """Consent or refuse: two buttons of exactly equal size and style, side by side."""

    title_key = "wiz.decision"
    decided = Signal(str)

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        self.question = QLabel()
        self.question.setWordWrap(True)
        set_role(self.question, "title")
        self.alternative = QLabel()
        self.alternative.setWordWrap(True)
        set_role(self.alternative, "reading")
        self.free = QLabel()
        self.free.setWordWrap(True)
        set_role(self.free, "reading")
        # issue-13: keeping a photo is the person's own separate act, before any capture: their
        # tick here, in their language (the operator's review page no longer asks it).
        self.photo_box = QCheckBox()
        set_role(self.photo_box, "reading")
        self.photo_box.hide()
        self._draft: Draft | None = None
        self.consent_button = QPushButton()
        self.refuse_button = QPushButton()
        row = QHBoxLayout()
        for button in (self.consent_button, self.refuse_button):
            button.setStyleSheet(DECISION_STYLE)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setMinimumHeight(96)
            row.addWidget(button, 1)
        self.consent_button.clicked.connect(lambda: self._decide("granted"))
        self.refuse_button.clicked.connect(lambda: self._decide("refused"))
        lay = QVBoxLayout(self)
        lay.addWidget(self.question)
        lay.addSpacing(12)
        lay.addWidget(self.alternative)
        lay.addWidget(self.free)
        lay.addStretch(1)
        lay.addWidget(self.photo_box)
        lay.addLayout(row)
        lay.addStretch(1)

    def enter(self, draft: Draft) -> None:
        lang: Language = draft.language
        text = self.i18n.text
        self.question.setText(text("decision.question", lang))
        # The alternative in the language the person reads (issue 13, point 7): the Chinese
        # decision page showed the English alternative while the disclosure had the Chinese one.
        alt = localized(draft.purpose, lang).alternative if draft.purpose else ""
        self.alternative.setText(text("decision.alternative", lang, alt=alt))
        self.free.setText(text("decision.free", lang))
        self.consent_button.setText(text("decision.consent", lang))
        self.refuse_button.setText(text("decision.refuse", lang))
        self.consent_button.setAccessibleName(text("decision.consent", lang))
        self.refuse_button.setAccessibleName(text("decision.refuse", lang))
        keeps_photos = bool(draft.purpose and draft.purpose.keep_photos)
        self.photo_box.setText(text("decision.photo", lang))
        self.photo_box.setAccessibleName(text("decision.photo", lang))
        self.photo_box.setVisible(keeps_photos)
        self.photo_box.setChecked(keeps_photos and draft.photo_consent)
        self._draft = draft
        # Coming back here means deciding again: no earlier answer is shown highlighted.
        draft.decision = None
        # Neither is the default: Enter must not pick an answer for the person.
        self.consent_button.setAutoDefault(False)
        self.refuse_button.setAutoDefault(False)

    def _decide(self, decision: str) -> None:
        if self._draft is not None:
            self._draft.photo_consent = (
                decision == "granted" and self.photo_box.isVisible() and self.photo_box.isChecked()
            )
        self.decided.emit(decision)

    def clear(self) -> None:
        self.photo_box.setChecked(False)
        self._draft = None

    def commit(self, draft: Draft) -> str | None:
        return None if draft.decision else self.i18n.tr("wiz.decision")


class SignaturePage(Page):
    """The person signs (and a guardian, for a minor). Clear and redo as often as needed."""

    title_key = "wiz.signature"

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        set_role(self.prompt, "reading")
        self.pad = SignaturePad()
        self.pad.setAccessibleName(self.i18n.tr("sig.pad"))  # person's language on enter()
        self.clear_button = QPushButton()  # labelled in the person's language on enter()
        self.clear_button.clicked.connect(self.pad.clear)
        self.guardian_box = QGroupBox()
        self.i18n.bind(self.guardian_box.setTitle, "sig.guardian")
        self.guardian_name = QLineEdit()
        self.i18n.bind(self.guardian_name.setAccessibleName, "sig.guardian.name")
        self.i18n.bind(self.guardian_name.setPlaceholderText, "sig.guardian.name")
        self.guardian_pad = SignaturePad()
        self.i18n.bind(self.guardian_pad.setAccessibleName, "sig.guardian.pad")
        self.guardian_clear = QPushButton()
        self.i18n.bind(self.guardian_clear.setText, "sig.clear")
        self.guardian_clear.clicked.connect(self.guardian_pad.clear)
        # On a paper consent the guardian signed the printed form: only their name is asked.
        self.guardian_paper_hint = QLabel()
        self.guardian_paper_hint.setWordWrap(True)
        set_role(self.guardian_paper_hint, "hint")
        self.i18n.bind(self.guardian_paper_hint.setText, "sig.guardian.paper")
        self.guardian_paper_hint.hide()
        glay = QVBoxLayout(self.guardian_box)
        glay.addWidget(self.guardian_paper_hint)
        glay.addWidget(self.guardian_name)
        glay.addWidget(self.guardian_pad, 1)
        glay.addWidget(self.guardian_clear, 0, Qt.AlignmentFlag.AlignLeft)
        self.message = QLabel()
        self.message.setWordWrap(True)
        set_role(self.message, "error")
        # Someone who cannot use the pad signs the printed form; the operator attaches its scan.
        self.paper = QCheckBox()
        self.i18n.bind(self.paper.setText, "sig.paper")
        self.paper.toggled.connect(self._paper_toggled)
        self.paper_box = QWidget()
        paper_lay = QHBoxLayout(self.paper_box)
        paper_lay.setContentsMargins(0, 0, 0, 0)
        self.paper_date = QDateEdit(QDate.currentDate())
        self.paper_date.setDisplayFormat("yyyy-MM-dd")
        self.paper_date.setCalendarPopup(True)
        self.paper_date.setMaximumDate(QDate.currentDate())
        self.i18n.bind(self.paper_date.setAccessibleName, "sig.paper.date")
        self.paper_scan_button = QPushButton()
        self.i18n.bind(self.paper_scan_button.setText, "sig.paper.scan")
        self.paper_scan_button.clicked.connect(self._choose_scan)
        self.paper_scan_label = QLabel()
        date_label = QLabel()
        self.i18n.bind(date_label.setText, "sig.paper.date")
        for w in (date_label, self.paper_date, self.paper_scan_button, self.paper_scan_label):
            paper_lay.addWidget(w)
        paper_lay.addStretch(1)
        self.paper_box.hide()
        self.paper_scan: tuple[str, bytes] | None = None
        # issue-13: a refusal keeps no name unless the person asks (their choice, their language)
        self.in_name = QCheckBox()
        set_role(self.in_name, "reading")
        self._layout = lay = QVBoxLayout(self)
        lay.addWidget(self.prompt)
        lay.addWidget(self.pad, 2)
        lay.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.paper)
        lay.addWidget(self.paper_box)
        lay.addWidget(self.in_name)
        lay.addWidget(self.guardian_box, 2)
        lay.addWidget(self.message)
        self.pad.changed.connect(self.message.clear)

    def enter(self, draft: Draft) -> None:
        key = "sig.prompt.consent" if draft.decision == "granted" else "sig.prompt.refuse"
        self.prompt.setText(self.i18n.text(key, draft.language))
        self.pad.setAccessibleName(self.i18n.text("sig.pad", draft.language))
        self.clear_button.setText(self.i18n.text("sig.clear", draft.language))
        self.guardian_box.setVisible(draft.needs_guardian)
        self.paper.setVisible(draft.decision == "granted")  # the core takes paper consents only
        if draft.decision != "granted":
            self.paper.setChecked(False)
        self.in_name.setText(self.i18n.text("sig.refusal_in_name", draft.language))
        self.in_name.setAccessibleName(self.i18n.text("sig.refusal_in_name", draft.language))
        self.in_name.setVisible(draft.decision == "refused")
        self.in_name.setChecked(draft.refusal_in_name)
        self.message.clear()
        self.pad.setFocus()

    def _paper_toggled(self, on: bool) -> None:
        self.paper_box.setVisible(on)
        self.pad.setEnabled(not on)
        self.clear_button.setEnabled(not on)
        self.guardian_pad.setVisible(not on)
        self.guardian_clear.setVisible(not on)
        self.guardian_paper_hint.setVisible(on)
        # Without its pad the guardian's box needs no more room than its name field.
        self._layout.setStretchFactor(self.guardian_box, 0 if on else 2)

    def _choose_scan(self) -> None:
        path = self.ctx.prompts.open_path(self, self.i18n.tr("sig.paper.filter"))
        if not path:
            return
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            self.message.setText(str(exc.strerror or exc))
            return
        self.paper_scan = (Path(path).name, data)
        self.paper_scan_label.setText(Path(path).name)

    def commit(self, draft: Draft) -> str | None:
        if self.paper.isVisible() and self.paper.isChecked():
            return self._commit_paper(draft)
        draft.paper_signed_on = None
        draft.paper_scan = None
        signature = self.pad.signature()
        required = draft.decision == "granted"
        if signature is None and required:
            return self.i18n.tr("sig.need")
        if signature is not None:
            try:
                validate_signature(signature)
            except SignatureError as exc:
                return str(exc)
        guardian = None
        if draft.needs_guardian and (required or signature is not None):
            gsig = self.guardian_pad.signature()
            gname = self.guardian_name.text().strip()
            if gsig is None or not gname:
                return self.i18n.tr("sig.need_guardian")
            try:
                validate_signature(gsig)
            except SignatureError as exc:
                return str(exc)
            from app.models import Guardian

            guardian = Guardian(gname, gsig)
        draft.signature = signature
        draft.guardian = guardian
        draft.refusal_in_name = draft.decision == "refused" and self.in_name.isChecked()
        return None

    def _commit_paper(self, draft: Draft) -> str | None:
        if self.paper_scan is None:
            return self.i18n.tr("sig.paper.need")
        date = self.paper_date.date()
        draft.paper_signed_on = dt.date(date.year(), date.month(), date.day())
        draft.paper_scan = self.paper_scan
        # The strokes are on paper; the core stores an empty pad for the record.
        draft.signature = Signature(
            strokes=(), width=max(1, self.pad.width()), height=max(1, self.pad.height())
        )
        draft.guardian = None
        if draft.needs_guardian:
            # The guardian signed the paper too (its scan is kept): the core needs their name
            # only, and the record holds an empty pad for them, like the person's.
            gname = self.guardian_name.text().strip()
            if not gname:
                return self.i18n.tr("sig.need_guardian_name")
            from app.models import Guardian

            draft.guardian = Guardian(
                gname,
                Signature(
                    strokes=(),
                    width=max(1, self.guardian_pad.width()),
                    height=max(1, self.guardian_pad.height()),
                ),
            )
        return None

    def clear(self) -> None:
        self.in_name.setChecked(False)
        self.paper.setChecked(False)
        self.paper_scan = None
        self.paper_scan_label.clear()
        self.pad.clear()
        self.guardian_pad.clear()
        self.guardian_name.clear()
        self.message.clear()
