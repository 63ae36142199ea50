"""Face capture: live preview, quality hints, liveness prompts, auto-capture, manual fallback.

How the pieces fit (all biometric decisions are the core's, in ``app.bio``):

* :class:`ui.camera.CameraThread` owns the frame source and emits every frame for the preview
  and, for the latest frame the engine had time for, an analysis: faces with landmarks
  (``BioEngine.analyse_frame``) and the quality report (``app.bio.quality.assess``).
* On the GUI thread each analysis is fed to the liveness challenge
  (``app.bio.liveness.LivenessChallenge``) and to ``app.bio.capture.AutoCapture``. When both
  are finished the best frames are encoded in the background and the page reports completion.
* The operator can always *Capture now*: that stores the latest single-face frames and records
  the liveness result as **not passed** (operator-attested), never as a pass.
* No camera, a busy one, or one unplugged mid-capture shows a clear panel with *Retry* and
  *Use a photo file* (also recorded as liveness not passed). Nothing here raises to the user.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.models import Language, LivenessResult
from ui.camera import CameraThread, dispose, rgb_to_qimage
from ui.context import UiContext
from ui.screens.draft import Draft
from ui.screens.wizard_pages import Page
from ui.theme import set_role

if TYPE_CHECKING:
    from app.bio.engine import BioEngine, Embedding, FaceObservation, PhotoAnalysis
    from app.bio.images import RGBImage
    from app.bio.liveness import LivenessState
    from app.bio.quality import QualityReport
    from app.bio.sources import Frame
    from app.desk import Desk

log = logging.getLogger(__name__)

RECENT_FRAMES = 6


def jpeg_bytes(rgb: RGBImage, quality: int = 90) -> bytes:
    """A camera frame as JPEG, with Qt only (safe on a worker thread: no widgets involved)."""
    from PySide6.QtCore import QBuffer, QIODevice

    from ui.camera import rgb_to_qimage

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # The stubs say bytes, the binding accepts only str here: the stub is wrong.
    rgb_to_qimage(rgb).save(buffer, "JPG", quality)  # type: ignore[call-overload]
    return bytes(buffer.data().data())


def _flip(image: QImage) -> QImage:
    """Left-right flip (``QImage.flipped``: Qt 6.9+, which pyproject requires)."""
    return image.flipped(Qt.Orientation.Horizontal)


THUMB = 160  # px, the review page's picture of what was captured


def face_thumbnail(rgb: object, box: tuple[int, int, int, int]) -> QImage:
    """The captured face with some margin, small: shown on the review page, never stored."""
    import numpy as np

    image = np.asarray(rgb)
    top, right, bottom, left = box
    margin = int(0.35 * max(bottom - top, right - left))
    crop = image[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
    if crop.size == 0:
        crop = image
    return rgb_to_qimage(np.ascontiguousarray(crop)).scaled(
        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class PreviewWidget(QWidget):
    """Paints the latest camera frame scaled to fit, with the face box on top.

    ``mirrored`` shows the picture like a mirror, which is how people expect to see themselves
    when asked to turn left or right. Only the display is flipped: the analysis (and so the
    liveness check's idea of left and right) always works on the camera's own frames.
    """

    def __init__(self, parent: QWidget | None = None, mirrored: bool = True) -> None:
        super().__init__(parent)
        self.mirrored = mirrored
        self.image: QImage | None = None
        self.box: tuple[int, int, int, int] | None = None  # top, right, bottom, left
        self.box_ok = False
        # The face-oval guide of enrollment stations: where to put the face, green once right.
        self.guide = False
        self.setMinimumSize(480, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_frame(self, image: QImage) -> None:
        self.image = image
        self.update()

    def set_box(self, box: tuple[int, int, int, int] | None, ok: bool) -> None:
        self.box, self.box_ok = box, ok
        self.update()

    def clear(self) -> None:
        self.image, self.box = None, None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b2631"))
        if self.image is not None and not self.image.isNull():
            size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = (self.width() - size.width()) / 2
            y = (self.height() - size.height()) / 2
            target = QRectF(x, y, size.width(), size.height())
            shown = _flip(self.image) if self.mirrored else self.image
            painter.drawImage(target, shown)
            if self.box is not None:
                scale = size.width() / max(1, self.image.width())
                top, right, bottom, left = self.box
                if self.mirrored:
                    width = self.image.width()
                    left, right = width - right, width - left
                colour = QColor("#27ae60") if self.box_ok else QColor("#f39c12")
                painter.setPen(QPen(colour, 3))
                painter.drawRect(
                    QRectF(
                        x + left * scale,
                        y + top * scale,
                        (right - left) * scale,
                        (bottom - top) * scale,
                    )
                )
        if self.guide:
            self._paint_guide(painter)
        painter.end()

    def _paint_guide(self, painter: QPainter) -> None:
        """A dashed oval in the middle: one place to put the face, whatever the hint says."""
        height = self.height() * 0.62
        width = height * 0.74
        oval = QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)
        colour = QColor("#27ae60") if self.box is not None and self.box_ok else QColor("#ecf0f1")
        pen = QPen(colour, 3)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(oval)


class CapturePage(Page):
    """Emits :attr:`completed` once templates (and the liveness record) are in the draft."""

    title_key = "wiz.capture"
    completed = Signal()

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(desk, ctx, parent)
        i18n = self.i18n
        self.draft: Draft | None = None
        self.camera: CameraThread | None = None
        self.language: Language = "en"
        self._recent: deque[tuple[Frame, FaceObservation]] = deque(maxlen=RECENT_FRAMES)
        self._encoding = False
        self._done = False
        self._attempt = 0
        # True between enter() and leave()/shutdown(): only then may a camera start. Retry on
        # the page of a workspace already locked away once started a camera nobody would stop,
        # and Qt aborted the program at exit when that running thread was destroyed.
        self._live = False

        # live panel
        self.preview = PreviewWidget()
        self.preview.guide = True
        i18n.bind(self.preview.setAccessibleName, "cap.preview")
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        set_role(self.prompt, "title")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # One instruction at a time, in a box of fixed height: the hint once jumped between one
        # and three lines and moved every button below it while the person was trying to comply.
        self.hints = QLabel()
        self.hints.setWordWrap(True)
        self.hints.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        set_role(self.hints, "reading")
        self.checks = QLabel()
        self.checks.setWordWrap(True)
        self.checks.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        set_role(self.checks, "hint")
        # Auto-capture progress: shown only while the person holds still for it.
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.liveness_label = QLabel()
        self.liveness_label.setWordWrap(True)
        self.manual_button = QPushButton()
        i18n.bind(self.manual_button.setText, "cap.manual")
        i18n.bind(self.manual_button.setToolTip, "cap.manual.hint")
        self.manual_button.clicked.connect(self.manual_capture)
        self.photo_button = QPushButton()
        i18n.bind(self.photo_button.setText, "cap.photo")
        self.photo_button.clicked.connect(self.use_photo)
        self.retry_live_button = QPushButton()
        i18n.bind(self.retry_live_button.setText, "common.retry")
        self.retry_live_button.clicked.connect(self.restart)
        side = QVBoxLayout()
        side.addWidget(self.prompt)
        side.addWidget(self.hints)
        side.addWidget(self.checks)
        side.addWidget(self.liveness_label)
        for label, lines in ((self.hints, 2), (self.checks, 3), (self.liveness_label, 2)):
            label.setFixedHeight(label.fontMetrics().lineSpacing() * lines + 8)
        side.addStretch(1)
        side.addWidget(self.progress)
        side.addWidget(self.manual_button)
        side.addWidget(self.photo_button)
        side.addWidget(self.retry_live_button)
        live = QWidget()
        live_lay = QHBoxLayout(live)
        live_lay.addWidget(self.preview, 3)
        live_lay.addLayout(side, 2)

        # no-camera panel
        missing = QWidget()
        self.missing_label = QLabel()
        self.missing_label.setWordWrap(True)
        set_role(self.missing_label, "title")
        i18n.bind(self.missing_label.setText, "cap.no_camera")
        self.retry_button = QPushButton()
        i18n.bind(self.retry_button.setText, "common.retry")
        self.retry_button.clicked.connect(self.restart)
        self.missing_photo_button = QPushButton()
        i18n.bind(self.missing_photo_button.setText, "cap.photo")
        self.missing_photo_button.clicked.connect(self.use_photo)
        mlay = QVBoxLayout(missing)
        mlay.addStretch(1)
        mlay.addWidget(self.missing_label)
        row = QHBoxLayout()
        row.addWidget(self.retry_button)
        row.addWidget(self.missing_photo_button)
        row.addStretch(1)
        mlay.addLayout(row)
        mlay.addStretch(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(live)
        self.stack.addWidget(missing)
        self.status = QLabel()
        self.status.setWordWrap(True)
        set_role(self.status, "error")
        lay = QVBoxLayout(self)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.status)

    # -- lifecycle -----------------------------------------------------------------------------
    def enter(self, draft: Draft) -> None:
        self._live = True
        self.draft = draft
        self.language = draft.language
        if draft.embeddings:
            self._show_complete()
            return
        self.restart()

    def leave(self) -> None:
        self._live = False
        self.stop_camera()

    def commit(self, draft: Draft) -> str | None:
        return None if draft.embeddings else self.i18n.tr("cap.title")

    def clear(self) -> None:
        self._live = False
        self.stop_camera()
        self._attempt += 1
        self._encoding = False
        self.preview.clear()
        self._recent.clear()
        self.draft = None
        for label in (self.prompt, self.hints, self.checks, self.liveness_label, self.status):
            label.clear()

    def shutdown(self) -> None:
        self._live = False
        self.stop_camera()

    def stop_camera(self) -> None:
        camera, self.camera = self.camera, None
        dispose(camera)

    def restart(self) -> None:
        """(Re)start the camera, the liveness challenge and auto-capture from scratch.

        Does nothing on a page that is not shown (left, cleared, or shut down by a lock)."""
        from app.bio.capture import AutoCapture
        from app.bio.liveness import LivenessChallenge

        self.stop_camera()
        if not self._live:
            return
        if self.draft is not None:
            self.draft.embeddings = []
            self.draft.liveness = None
            self.draft.photo_jpeg = None
        self._done = False
        self._encoding = False
        self._attempt += 1  # results of an earlier attempt still encoding are dropped
        self._recent.clear()
        self.challenge = LivenessChallenge()
        self.autocapture = AutoCapture()
        self.progress.setValue(0)
        self.status.clear()
        self.liveness_label.clear()
        self.hints.clear()
        self.checks.clear()
        self.prompt.setText(self.i18n.text("cap.starting", self.language))
        self.manual_button.setEnabled(False)
        self.stack.setCurrentIndex(0)
        opener, pace = self.ctx.desk_camera(self.desk)  # a device, or a video/photo file
        self.camera = CameraThread(opener, self._analyse, pace_fps=pace)
        self.camera.frame_ready.connect(self.preview.set_frame)
        self.camera.analysed.connect(self._on_analysis)
        self.camera.unavailable.connect(self._on_unavailable)
        self.camera.analysis_failed.connect(self._on_analysis_failed)
        self.camera.start()

    # -- analysis (side thread) ----------------------------------------------------------------
    def _analyse(self, frame: Frame) -> tuple[PhotoAnalysis, QualityReport]:
        """Runs on the camera thread's analysis executor: no widget access here."""
        from app.bio.quality import assess

        engine: BioEngine = self.desk.face_engine
        challenge = self.challenge
        encode = challenge.wants_embedding
        analysis = engine.analyse_frame(frame.image, encode=encode)
        return analysis, assess(frame.image, analysis)

    # -- GUI thread ------------------------------------------------------------------------------
    def _on_unavailable(self, _why: str) -> None:
        self.stop_camera()
        if self._done:
            return
        self.preview.clear()
        self.stack.setCurrentIndex(1)

    def _on_analysis_failed(self, exc: BaseException) -> None:
        """The face engine cannot analyse frames (models missing, say): say so plainly; the
        photo-file route will report the same problem if it persists."""
        from ui.dialogs import error_text

        self.status.setText(error_text(exc, self.i18n))

    def _on_analysis(self, result: tuple[PhotoAnalysis, QualityReport], frame: Frame) -> None:
        from app.bio.liveness import observe

        if self._done or self._encoding or self.draft is None:
            return
        analysis, report = result
        box = analysis.faces[0].box.css() if analysis.face_count == 1 else None
        self.preview.set_box(box, report.acceptable)
        if analysis.face_count == 1:
            self._recent.append((frame, analysis.faces[0]))
            self.manual_button.setEnabled(True)
        # liveness
        if not self.challenge.finished:
            state = self.challenge.feed(observe(analysis, frame.timestamp))
            self._show_liveness(state)
        # quality and auto-capture
        progress = self.autocapture.feed(frame, report)
        self.progress.setValue(int(progress.fraction * 100))
        self.progress.setVisible(0 < progress.held < progress.needed)
        self._show_quality(report)
        # Auto-capture completes only with a passed liveness check; a failed one waits for
        # the operator (Retry, or Capture now recorded as not passed).
        liveness = self.challenge.result() if self.challenge.finished else None
        if self.autocapture.done and liveness is not None and liveness.passed:
            # Auto-capture keeps only frames with one acceptable face: report.face is set.
            frames = [(c.frame, c.report.face) for c in self.autocapture.frames if c.report.face]
            self._encode(frames, liveness)

    def _show_liveness(self, state: LivenessState) -> None:
        lang = self.language
        if state.phase == "passed":
            self.liveness_label.setText(self.i18n.text("live.passed", lang))
            set_role(self.liveness_label, "ok")
            self.prompt.setText(self.i18n.text("hint.ok", lang))
        elif state.phase == "failed":
            reason = self.i18n.text(f"live.reason.{state.reason}", lang)
            self.prompt.setText(self.i18n.text("live.failed", lang))
            self.liveness_label.setText(
                (reason if not reason.startswith("live.reason.") else "")
                + "\n"
                + self.i18n.tr("live.retry_hint")
            )
            set_role(self.liveness_label, "error")
        else:
            key = f"live.{state.hint}" if state.hint else "cap.title"
            self.prompt.setText(self.i18n.text(key, lang))
            self.liveness_label.setText(
                self.i18n.text(
                    "live.step", lang, n=min(state.step + 1, state.total), total=state.total
                )
            )
            set_role(self.liveness_label, "hint")

    def _show_quality(self, report: QualityReport) -> None:
        lang = self.language
        # The most important instruction only (the report orders them); the rest follow.
        hint = report.hints[0] if report.hints else "ok"
        self.hints.setText(self.i18n.text(f"hint.{hint}", lang))
        marks = {"pass": "✓", "warn": "!", "fail": "✗"}
        self.checks.setText(
            "   ".join(
                f"{marks[c.verdict]} {self.i18n.text('check.' + c.name, lang)}"
                for c in report.checks
            )
        )

    # -- finishing -------------------------------------------------------------------------------
    def _encode(
        self, frames: list[tuple[Frame, FaceObservation]], liveness: LivenessResult
    ) -> None:
        """Templates for the chosen frames, in the background; then the page is complete."""
        if self._encoding or not frames:
            return
        self._encoding = True
        self.manual_button.setEnabled(False)
        self.prompt.setText(self.i18n.tr("common.busy"))
        desk = self.desk
        images = [(f.image, face) for f, face in frames]
        keep_photo = bool(self.draft and self.draft.purpose and self.draft.purpose.keep_photos)

        def encode() -> tuple[list[Embedding], bytes | None]:
            engine: BioEngine = desk.face_engine
            embeddings = [engine.encode_face(image, face) for image, face in images]
            # Only for purposes that keep photos, and stored only if the person agrees on the
            # review page; otherwise the frames are dropped with this closure.
            photo = jpeg_bytes(images[0][0]) if keep_photo else None
            return embeddings, photo

        attempt = self._attempt
        if self.draft is not None:
            self.draft.thumbnail = face_thumbnail(images[0][0], images[0][1].box.css())
        self.ctx.runner.submit(
            encode,
            on_done=lambda out: self._finish(out[0], liveness, attempt, out[1]),
            on_error=self._failed,
        )

    def _failed(self, exc: BaseException) -> None:
        self._encoding = False
        from ui.dialogs import error_text

        self.status.setText(error_text(exc, self.i18n))
        self.manual_button.setEnabled(bool(self._recent))

    def _finish(
        self,
        embeddings: list[Embedding],
        liveness: LivenessResult,
        attempt: int | None = None,
        photo: bytes | None = None,
    ) -> None:
        if attempt is not None and attempt != self._attempt:
            return  # restarted meanwhile
        self._encoding = False
        if self.draft is None:
            return
        self.draft.embeddings = list(embeddings)
        self.draft.photo_jpeg = photo
        self.draft.liveness = liveness
        self.stop_camera()
        self._show_complete()
        self.completed.emit()

    def _show_complete(self) -> None:
        self._done = True
        self.stack.setCurrentIndex(0)
        self.progress.hide()
        self.prompt.setText(self.i18n.text("cap.complete", self.language))
        self.manual_button.setEnabled(False)

    def _skip_liveness(self) -> tuple[str, str | None] | None:
        """The operator's reason for skipping the liveness check and, where the setting asks
        for it, an admin's approval token from the core; None when either is not given.

        Why ask here and not only in the core: the reason is typed while the person is still at
        the desk; the core checks it again and prints it on the consent form."""
        tr = self.i18n.tr
        reason = self.ctx.prompts.text(self, tr("cap.skip.title"), tr("cap.skip.reason"))
        if reason is None:
            return None
        reason = reason.strip()
        if len(reason) < 10:
            self.status.setText(tr("err.liveness_reason_required", min=10))
            return None
        token: str | None = None
        needs_admin = self.desk.get_setting("liveness_skip_needs_admin") not in ("0", "0.0")
        if needs_admin and self.desk.user.role != "admin":
            admin = self.ctx.prompts.text(self, tr("cap.skip.title"), tr("cap.skip.admin"))
            if not admin:
                return None
            password = self.ctx.prompts.text(
                self, tr("cap.skip.title"), tr("unlock.password"), secret=True
            )
            if not password:
                return None
            try:
                token = self.desk.approve_liveness_skip(admin.strip(), password)
            except Exception as exc:
                from ui.dialogs import error_text

                self.status.setText(error_text(exc, self.i18n))
                return None
        self.status.clear()
        return reason, token

    def manual_capture(self) -> None:
        """Operator-attested capture: the latest single-face frames, liveness NOT passed."""
        if not self._recent:
            return
        skip = self._skip_liveness()
        if skip is None:
            return
        challenge = self.challenge.abort("operator_manual_capture")
        liveness = LivenessResult(
            passed=False,
            steps=challenge.steps,
            identity_distance=challenge.identity_distance,
            method="operator-attested",
            note=f"manual capture by operator {self.desk.user.username}; {challenge.note}",
            skip_reason=skip[0],
        )
        if self.draft is not None:
            self.draft.liveness_approval = skip[1]
        frames = list(self._recent)[-3:]
        self._encode(frames, liveness)

    def use_photo(self) -> None:
        """Templates from a photo file (no camera, or the person brought a photo)."""
        path = self.ctx.prompts.open_path(self, self.i18n.tr("cap.photo_filter"))
        if not path:
            return
        skip = self._skip_liveness()
        if skip is None:
            return
        self.stop_camera()
        desk = self.desk
        if self.draft is not None:
            self.draft.liveness_approval = skip[1]

        def analyse() -> Embedding:
            analysis: PhotoAnalysis = desk.analyse_photo(Path(path))
            return analysis.single_encoding()

        if self.draft is not None:
            photo = QImage(path)
            self.draft.thumbnail = (
                None
                if photo.isNull()
                else photo.scaled(
                    THUMB,
                    THUMB,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )

        liveness = LivenessResult(
            passed=False,
            method="photo-file",
            note="enrolled from a photo file; no liveness check possible",
            skip_reason=skip[0],
        )
        self._encoding = True
        self._attempt += 1
        attempt = self._attempt
        self.prompt.setText(self.i18n.tr("common.busy"))
        self.ctx.runner.submit(
            analyse,
            on_done=lambda emb: self._finish([emb], liveness, attempt),
            on_error=self._failed,
        )
