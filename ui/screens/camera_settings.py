"""Settings → camera: a camera device by number, or a video or photo file, with a preview.

Why a file: a desk without a webcam, a demo or a training session still needs the capture page
and the withdrawal desk (issue 14, point 9). The choice is stored as two settings the core
checks (``camera_index``; ``camera_file``, empty or an existing video/photo file under a size
cap), and every camera screen opens it through :meth:`ui.context.UiContext.desk_camera`.
The preview shows what is chosen on screen, before it is applied.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings_schema import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from ui.camera import CameraThread, dispose
from ui.context import UiContext
from ui.screens.capture_page import PreviewWidget
from ui.theme import set_role


class CameraChoice(QWidget):
    """Device or file, the number or the path, Browse... and Preview."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        i18n = ctx.i18n
        self.camera: CameraThread | None = None
        self.mode = QComboBox()
        self.mode.addItem(i18n.tr("set.camera.device"), "device")
        self.mode.addItem(i18n.tr("set.camera.file"), "file")
        i18n.bind(self.mode.setAccessibleName, "set.camera")
        i18n.changed.connect(self._retranslate)
        self.index = QSpinBox()
        i18n.bind(self.index.setAccessibleName, "set.camera.index")
        self.file = QLineEdit()
        i18n.bind(self.file.setAccessibleName, "set.camera.file")
        i18n.bind(self.file.setPlaceholderText, "set.camera.file.placeholder")
        self.browse_button = QPushButton()
        i18n.bind(self.browse_button.setText, "set.camera.browse")
        self.browse_button.clicked.connect(self.browse)
        self.preview_button = QPushButton()
        self.preview_button.setCheckable(True)
        i18n.bind(self.preview_button.setText, "set.camera.preview")
        self.preview_button.toggled.connect(self.toggle_preview)
        self.preview = PreviewWidget(mirrored=False)  # the admin checks the camera's own view
        self.preview.setMinimumSize(320, 200)
        self.preview.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()  # no empty line under the row until there is something to say
        self.index.setMaximumWidth(90)
        self.file.setMinimumWidth(320)
        row = QHBoxLayout()
        for widget in (self.mode, self.index, self.file, self.browse_button, self.preview_button):
            row.addWidget(widget)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.preview)
        lay.addWidget(self.status)
        self.mode.currentIndexChanged.connect(lambda _i: self._show_mode())
        self._show_mode()

    def _retranslate(self, _lang: str) -> None:
        for i, key in enumerate(("set.camera.device", "set.camera.file")):
            self.mode.setItemText(i, self.ctx.i18n.tr(key))

    def _show_mode(self) -> None:
        from_file = self.mode.currentData() == "file"
        self.index.setVisible(not from_file)
        self.file.setVisible(from_file)
        self.browse_button.setVisible(from_file)
        if self.camera is not None:  # the preview follows the choice
            self.toggle_preview(True)

    def load(self, camera_file: str, index: int) -> None:
        self.index.setValue(index)
        self.file.setText(camera_file)
        self.mode.setCurrentIndex(1 if camera_file else 0)

    def values(self) -> dict[str, str | int]:
        """The two settings as chosen on screen (a file is only kept in "file" mode)."""
        from_file = self.mode.currentData() == "file"
        return {
            "camera_index": self.index.value(),
            "camera_file": self.file.text().strip() if from_file else "",
        }

    def browse(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
        path = self.ctx.prompts.open_path(
            self, f"{self.ctx.i18n.tr('set.camera.filter')} ({patterns})"
        )
        if path:
            self.file.setText(path)

    def toggle_preview(self, on: bool) -> None:
        self.stop_camera()
        if not on:
            return
        values = self.values()
        if self.mode.currentData() == "file" and not values["camera_file"]:
            self._say("set.camera.file.needed")
            self.preview_button.setChecked(False)
            return
        self.preview.show()
        self.status.clear()
        self.status.hide()
        opener, pace = self.ctx.camera_for(str(values["camera_file"]), int(values["camera_index"]))
        self.camera = CameraThread(opener, None, pace_fps=pace)
        self.camera.frame_ready.connect(self.preview.set_frame)
        self.camera.unavailable.connect(self._camera_missing)
        self.camera.start()

    def _camera_missing(self, _why: str) -> None:
        self.preview_button.setChecked(False)
        self._say("cap.no_camera")

    def _say(self, key: str) -> None:
        self.status.setText(self.ctx.i18n.tr(key))
        set_role(self.status, "error")
        self.status.show()

    def stop_camera(self) -> None:
        camera, self.camera = self.camera, None
        dispose(camera)
        self.preview.clear()
        self.preview.hide()
