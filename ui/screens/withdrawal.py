"""The withdrawal desk: find the person, withdraw with one clear action, hand over the receipt.

Why it is this short: withdrawing must be no harder than consenting. The person chooses how to
be found (name/reference, or their face, since some people prefer not to say their name aloud
at a counter); then one button withdraws every active consent and deletes the face templates at
once, after one confirmation. Erasure of everything is a separate, admin-only action guarded by
typing a word, because it cannot be undone.

Face search uses the live camera (or a photo) only to compute a probe template; the probe is
matched by the core (``Desk.identify_embedding``, task "withdrawal": against everyone's own
templates, only the best match comes back, to confirm the person) and never stored; the core
audits the search.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.camera import CameraThread, dispose
from ui.context import UiContext
from ui.dialogs import error_text
from ui.document_view import DocumentView
from ui.screens.capture_page import PreviewWidget
from ui.theme import scrolled, set_role

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.bio.engine import BioEngine, PhotoAnalysis
    from app.bio.sources import Frame
    from app.desk import Desk
    from app.desk_types import IdentifyResult
    from app.models import ErasureResult, WithdrawalResult

DEFAULT_REASON = "request of the person"
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1
CAMERA_TRIES = 8  # frames tried before "nobody matches" is shown
# The camera gives up after this long without a usable face (it once scanned forever).
CAMERA_SEARCH_SECONDS = 30


class WithdrawalScreen(QWidget):
    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        i18n = ctx.i18n
        self.selected_id: str | None = None
        self.camera: CameraThread | None = None
        self._identifying = False
        self._camera_tries = 0
        # Every new search (name, photo, camera) bumps this; a result from an older search is
        # dropped, so a late face match can never replace a person chosen by name.
        self._search_generation = 0
        self._camera_deadline = QTimer(self)
        self._camera_deadline.setSingleShot(True)
        self._camera_deadline.setInterval(CAMERA_SEARCH_SECONDS * 1000)
        self._camera_deadline.timeout.connect(self._camera_gave_up)

        title = QLabel()
        set_role(title, "title")
        i18n.bind(title.setText, "wd.title")
        intro = QLabel()
        intro.setWordWrap(True)
        set_role(intro, "hint")
        i18n.bind(intro.setText, "wd.intro")

        # find by name
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        i18n.bind(self.search.setPlaceholderText, "wd.by_name")
        i18n.bind(self.search.setAccessibleName, "wd.by_name")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.find_by_name)
        self.search.textChanged.connect(self._name_typed)
        self.search.returnPressed.connect(self.find_by_name)

        # find by face
        self.face_camera_button = QPushButton()
        i18n.bind(self.face_camera_button.setText, "wd.face.capture")
        self.face_camera_button.clicked.connect(self.identify_with_camera)
        self.face_stop_button = QPushButton()
        i18n.bind(self.face_stop_button.setText, "wd.face.stop")
        self.face_stop_button.clicked.connect(self.stop_face_search)
        self.face_stop_button.hide()
        self.face_photo_button = QPushButton()
        i18n.bind(self.face_photo_button.setText, "wd.face.photo")
        self.face_photo_button.clicked.connect(self.identify_with_photo)
        self.preview = PreviewWidget()
        self.preview.setMinimumSize(320, 200)
        self.preview.hide()

        self.results = QListWidget()
        i18n.bind(self.results.setAccessibleName, "wd.results")
        self.results.currentItemChanged.connect(lambda cur, _p: self._select(cur))
        self.face_status = QLabel()
        self.face_status.setWordWrap(True)

        # act
        self.selected_label = QLabel()
        self.selected_label.setWordWrap(True)
        set_role(self.selected_label, "title")
        self.reason = QLineEdit()
        i18n.bind(self.reason.setPlaceholderText, "wd.reason")
        i18n.bind(self.reason.setAccessibleName, "wd.reason")
        self.withdraw_button = QPushButton()
        set_role(self.withdraw_button, "primary")
        self.withdraw_button.setMinimumHeight(56)
        i18n.bind(self.withdraw_button.setText, "wd.withdraw")
        self.withdraw_button.clicked.connect(self.withdraw)
        self.erase_button = QPushButton()
        set_role(self.erase_button, "danger")
        i18n.bind(self.erase_button.setText, "wd.erase")
        self.erase_button.clicked.connect(self.erase)
        self.erase_button.setVisible(desk.can_erase)
        # An operator is told whom to fetch, instead of finding no button at all.
        self.erase_hint = QLabel()
        self.erase_hint.setWordWrap(True)
        set_role(self.erase_hint, "hint")
        i18n.bind(self.erase_hint.setText, "wd.erase.operator")
        self.erase_hint.setVisible(not desk.can_erase)
        # A certificate the person lost is issued again from the erasure record (admin only).
        self.reissue_button = QPushButton()
        i18n.bind(self.reissue_button.setText, "wd.reissue")
        self.reissue_button.clicked.connect(self.reissue_certificate)
        self.reissue_button.setVisible(desk.can_erase)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.document = DocumentView(ctx)

        find = QVBoxLayout()
        find.addWidget(self.search)
        face_row = QHBoxLayout()
        face_row.addWidget(self.face_camera_button)
        face_row.addWidget(self.face_stop_button)
        face_row.addWidget(self.face_photo_button)
        find.addLayout(face_row)
        find.addWidget(self.preview)
        find.addWidget(self.face_status)
        find.addWidget(self.results, 1)
        # The action column (person, buttons, the document shown) scrolls on its own, so a
        # receipt on screen never makes the window taller than a 1366x768 display.
        act_panel = QWidget()
        act = QVBoxLayout(act_panel)
        act.setContentsMargins(0, 0, 0, 0)
        act.addWidget(self.selected_label)
        act.addWidget(self.reason)
        act.addWidget(self.withdraw_button)
        act.addWidget(self.erase_button, 0, Qt.AlignmentFlag.AlignLeft)
        act.addWidget(self.reissue_button, 0, Qt.AlignmentFlag.AlignLeft)
        act.addWidget(self.erase_hint)
        act.addWidget(self.message)
        act.addWidget(self.document, 1)
        body = QHBoxLayout()
        body.addLayout(find, 2)
        body.addWidget(scrolled(act_panel), 3)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(intro)
        lay.addLayout(body, 1)
        i18n.changed.connect(self._retranslate)
        self._select(None)

    def _retranslate(self, _lang: str) -> None:
        """Status words in the results follow a language switch; the selection is kept."""
        if not self.search.text().strip():
            return
        keep = self.selected_id
        self._timer.stop()
        self.find_by_name()
        if keep is not None:
            self.select_person(keep)

    # -- finding -------------------------------------------------------------------------------
    def _name_typed(self, text: str) -> None:
        """Typing a name takes over from a face search still running."""
        if text.strip():
            self.stop_face_search()
        self._timer.start()

    def find_by_name(self) -> None:
        query = self.search.text().strip()
        self.results.clear()
        if not query:
            return
        try:
            page = self.desk.find_people(query=query, limit=50)
        except Exception as exc:
            self.ctx.prompts.error(self, exc)
            return
        for summary in page.items:
            self._add_result(
                summary.person.id, summary.person.name, summary.person.reference, summary.status
            )
        if self.results.count() == 1:
            self.results.setCurrentRow(0)

    def _add_result(
        self,
        person_id: str,
        name: str,
        reference: str | None,
        status: str | None = None,
        distance: float | None = None,
    ) -> None:
        text = name + (f"  ({reference})" if reference else "")
        if status and status != "none":
            text += f"  — {self.ctx.i18n.tr('status.' + status)}"
        if distance is not None:
            level = self.ctx.i18n.similarity(distance, self.desk.get_float("match_threshold"))
            text += f"  ({level})"
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, person_id)
        # Face matches only come from active consents.
        item.setData(STATUS_ROLE, status or "active")
        self.results.addItem(item)

    def _select(self, item: QListWidgetItem | None) -> None:
        self.selected_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        has = self.selected_id is not None
        active = has and item.data(STATUS_ROLE) == "active"  # type: ignore[union-attr]
        self.withdraw_button.setEnabled(active)
        self.erase_button.setEnabled(has)
        self.document.clear()
        if not has:
            self.selected_label.setText(self.ctx.i18n.tr("wd.nothing"))
            set_role(self.selected_label, "hint")
            self.message.clear()
            return
        self.selected_label.setText(item.text())  # type: ignore[union-attr]
        set_role(self.selected_label, "title")
        if active:
            self.message.clear()
        else:
            self.message.setText(self.ctx.i18n.tr("wd.no_active"))
            set_role(self.message, "hint")

    def select_person(self, person_id: str) -> None:
        """Select a person by ID (tests, and the registry's hand-over)."""
        for i in range(self.results.count()):
            if self.results.item(i).data(Qt.ItemDataRole.UserRole) == person_id:
                self.results.setCurrentRow(i)
                return

    # -- by face -------------------------------------------------------------------------------
    def identify_with_photo(self) -> None:
        path = self.ctx.prompts.open_path(self, self.ctx.i18n.tr("cap.photo_filter"))
        if not path:
            return
        desk = self.desk
        self._forget_name_search()
        self._identify(lambda: desk.identify_photo(Path(path), task="withdrawal", origin="ui"))

    def _forget_name_search(self) -> None:
        """Searching by face replaces a name search (a pending one must not fire later)."""
        self._search_generation += 1
        self._timer.stop()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.results.clear()

    def identify_with_camera(self) -> None:
        self.stop_camera()
        self._forget_name_search()
        self.preview.show()
        self.face_status.setText(self.ctx.i18n.tr("cap.starting"))
        self._identifying = False
        self._camera_tries = 0
        opener, pace = self.ctx.desk_camera(self.desk)  # a device, or a video/photo file
        desk = self.desk

        def analyse(frame: Frame) -> PhotoAnalysis:
            engine: BioEngine = desk.face_engine
            return engine.analyse_frame(frame.image)

        self.camera = CameraThread(opener, analyse, pace_fps=pace)
        self.camera.frame_ready.connect(self.preview.set_frame)
        self.camera.analysed.connect(self._camera_analysis)
        self.camera.unavailable.connect(self._camera_missing)
        self.camera.start()
        self.face_stop_button.show()
        self._camera_deadline.start()

    def stop_face_search(self) -> None:
        """Stop button, another tab, a name typed: the camera stops and late results are void."""
        if self.camera is None and not self.face_stop_button.isVisible():
            return
        self._search_generation += 1
        self.stop_camera()
        self.face_status.clear()

    def _camera_gave_up(self) -> None:
        if self.camera is None:
            return
        self.stop_face_search()
        self.face_status.setText(self.ctx.i18n.tr("wd.face.timeout", seconds=CAMERA_SEARCH_SECONDS))
        set_role(self.face_status, "warning")

    def _camera_missing(self, _why: str) -> None:
        self.stop_camera()
        self.preview.hide()
        self.face_status.setText(self.ctx.i18n.tr("cap.no_camera"))
        set_role(self.face_status, "error")

    def _camera_analysis(self, analysis: PhotoAnalysis, frame: Frame) -> None:
        if self._identifying:
            return
        box = analysis.faces[0].box.css() if analysis.face_count == 1 else None
        self.preview.set_box(box, box is not None)
        hint = (
            "cap.title"
            if analysis.face_count == 1
            else ("hint.no_face" if analysis.face_count == 0 else "hint.one_person_only")
        )
        self.face_status.setText(self.ctx.i18n.tr(hint))
        set_role(self.face_status, "hint")
        if analysis.face_count != 1:
            return
        self._identifying = True
        image = frame.image
        desk = self.desk
        self._identify(
            lambda: desk.identify_image(image, task="withdrawal", origin="ui"), from_camera=True
        )

    def _identify(self, run: Callable[[], IdentifyResult], from_camera: bool = False) -> None:
        """``run`` returns the core's ``IdentifyResult``; it runs in the background."""
        generation = self._search_generation

        def done(result: IdentifyResult) -> None:
            if generation != self._search_generation:
                return  # another search (or Stop) came since: this result is void
            if from_camera and self.camera is None:
                return  # stopped meanwhile
            retry = result.decision in ("no_face", "several_faces", "error") or (
                result.decision == "no_match" and self._camera_tries < CAMERA_TRIES
            )
            if from_camera and retry:
                self._camera_tries += 1
                self._identifying = False  # the person moved, or a poor frame: try again
                return
            if from_camera:
                self.stop_camera()
            self.results.clear()
            if result.decision != "match":
                key = {
                    "no_match": "wd.face.none",
                    "no_face": "cap.no_face",
                    "several_faces": "cap.many_faces",
                }.get(result.decision)
                self.face_status.setText(self.ctx.i18n.tr(key) if key else result.message)
                set_role(self.face_status, "warning")
                return
            self.face_status.clear()
            for m in result.candidates:
                self._add_result(m.person_id, m.name, m.reference, distance=m.distance)
            self.results.setCurrentRow(0)

        def failed(exc: BaseException) -> None:
            if generation != self._search_generation:
                return
            if from_camera:
                self._identifying = False  # try again on a later frame
                return
            self.face_status.setText(error_text(exc, self.ctx.i18n))
            set_role(self.face_status, "error")

        self.ctx.runner.submit(run, on_done=done, on_error=failed)

    def stop_camera(self) -> None:
        camera, self.camera = self.camera, None
        dispose(camera)
        self._camera_deadline.stop()
        self.face_stop_button.hide()
        self.preview.clear()
        self.preview.hide()

    # -- acting --------------------------------------------------------------------------------
    def withdraw(self) -> None:
        person_id = self.selected_id
        if person_id is None:
            return
        i18n = self.ctx.i18n
        name = self.selected_label.text()
        if not self.ctx.prompts.confirm(self, i18n.tr("wd.confirm", name=name)):
            return
        reason = self.reason.text().strip() or DEFAULT_REASON
        self.withdraw_button.setEnabled(False)

        def done(result: WithdrawalResult) -> None:
            self.reason.clear()
            self._refresh_selected(person_id)
            self.message.setText(i18n.tr("wd.done", n=result.templates_deleted))
            set_role(self.message, "ok")
            receipt = result.receipt
            if receipt is not None:
                self.ctx.runner.submit(
                    self.desk.document_pdf,
                    receipt.id,
                    on_done=lambda pdf: self.document.set_document(pdf, receipt.filename),
                )

        self.ctx.runner.submit(
            self.desk.withdraw, person_id, reason, on_done=done, on_error=self._failed
        )

    def erase(self) -> None:
        person_id = self.selected_id
        if person_id is None:
            return
        i18n = self.ctx.i18n
        word = i18n.tr("wd.erase.word")  # typed in the operator's language (删除 in Chinese)
        if not self.ctx.prompts.typed_confirm(
            self, i18n.tr("wd.erase.title"), i18n.tr("wd.erase.body", word=word), word
        ):
            return
        reason = self.reason.text().strip() or DEFAULT_REASON

        def done(result: ErasureResult) -> None:
            self._timer.stop()
            self.results.clear()
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.reason.clear()
            self.message.setText(i18n.tr("wd.erase.done"))
            set_role(self.message, "ok")
            if result.certificate_pdf:
                self.document.set_document(
                    result.certificate_pdf, f"erasure-certificate-{result.person_id}.pdf"
                )

        self.ctx.runner.submit(
            self.desk.erase, person_id, reason, on_done=done, on_error=self._failed
        )

    def reissue_certificate(self) -> None:
        """Ask for the erased person's ID (printed on the certificate and the receipt) and show
        the re-issued certificate, ready to print or save."""
        i18n = self.ctx.i18n
        person_id = self.ctx.prompts.text(self, i18n.tr("wd.reissue"), i18n.tr("wd.reissue.id"))
        if not person_id or not person_id.strip():
            return
        wanted = person_id.strip().upper()
        language = i18n.language

        def done(pdf: bytes) -> None:
            self.message.setText(i18n.tr("wd.reissue.done"))
            set_role(self.message, "ok")
            self.document.set_document(pdf, f"erasure-certificate-{wanted}-reissue.pdf")

        self.ctx.runner.submit(
            self.desk.reissue_erasure_certificate,
            wanted,
            language,
            on_done=done,
            on_error=self._failed,
        )

    def open_person(self, person_id: str) -> None:
        """Show one person ready to withdraw (hand-over from the registry)."""
        self.stop_camera()
        self._forget_name_search()
        self.message.clear()
        self._refresh_selected(person_id)

    def _refresh_selected(self, person_id: str) -> None:
        """Show the person's new status (withdrawn) and keep them selected."""
        self._timer.stop()
        try:
            person = self.desk.get_person(person_id)
            status = self.desk.find_people(query=person_id, limit=1).items
        except Exception:  # erased meanwhile: nothing to show
            self.results.clear()
            return
        self.results.blockSignals(True)
        self.results.clear()
        self._add_result(
            person.id, person.name, person.reference, status[0].status if status else None
        )
        self.results.blockSignals(False)
        self.results.setCurrentRow(0)
        self._select(self.results.item(0))

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(error_text(exc, self.ctx.i18n))
        set_role(self.message, "error")
        self.withdraw_button.setEnabled(self.selected_id is not None)
        from app.errors import InvalidInput, NotFound

        if isinstance(exc, NotFound | InvalidInput):  # changed in another window meanwhile?
            self.changed_elsewhere()

    def changed_elsewhere(self) -> None:
        """Another session changed the vault: the person shown is refreshed, or, erased
        there, dropped with a word saying so (their documents leave the screen too)."""
        person_id = self.selected_id
        if person_id is None:
            if self.search.text().strip():
                self.find_by_name()
            return
        from app.errors import NotFound

        was_active = self.withdraw_button.isEnabled()
        try:
            self.desk.get_person(person_id)
        except NotFound:
            self.results.clear()
            self.selected_id = None
            self.withdraw_button.setEnabled(False)
            self.erase_button.setEnabled(False)
            self.document.clear()
            self.selected_label.setText(self.ctx.i18n.tr("wd.nothing"))
            set_role(self.selected_label, "hint")
            self.message.setText(self.ctx.i18n.tr("person.gone_elsewhere"))
            set_role(self.message, "warning")
            return
        except Exception:  # the next look will try again; never a dialog from a timer
            return
        self._refresh_selected(person_id)
        if was_active and not self.withdraw_button.isEnabled():
            self.message.setText(self.ctx.i18n.tr("wd.changed_elsewhere"))
            set_role(self.message, "warning")

    def activated(self) -> None:
        self.message.clear()

    def deactivated(self) -> None:
        """Another tab was chosen: the camera must not go on watching the desk."""
        self.stop_face_search()

    def shutdown(self) -> None:
        self.stop_camera()
        self.results.clear()
        self.document.clear()
