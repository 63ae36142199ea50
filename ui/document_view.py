"""Show a generated PDF (consent form, receipt, certificate) and save or print a copy.

Why poppler's command-line tools and not QPdfDocument: QtPdf is not part of
PySide6-Essentials. ``pdftoppm`` renders a page to PNG; the PDF is piped through stdin and the
image comes back on stdout, so the document (personal data) never touches the disk unless the
operator saves a copy. Without poppler the preview says so and Save still works; Print then
needs poppler too, because Qt cannot rasterise a PDF by itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui.context import UiContext
from ui.layouts import clear_layout, widgets_in
from ui.theme import set_role

MAX_PREVIEW_PAGES = 4


def poppler_available() -> bool:
    return bool(shutil.which("pdftoppm") and shutil.which("pdfinfo"))


def page_count(pdf: bytes) -> int:
    out = subprocess.run(
        ["pdfinfo", "-"], input=pdf, capture_output=True, timeout=30, check=True
    ).stdout.decode("utf-8", "replace")
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    return int(match.group(1)) if match else 1


def render_pages(
    pdf: bytes,
    dpi: int = 110,
    max_pages: int = MAX_PREVIEW_PAGES,
    progress: Callable[[int, int], None] | None = None,
) -> list[bytes]:
    """PNG bytes of the first ``max_pages`` pages (runs in the background runner)."""
    pages = min(page_count(pdf), max_pages)
    images = []
    for n in range(1, pages + 1):
        png = subprocess.run(
            ["pdftoppm", "-png", "-r", str(dpi), "-f", str(n), "-l", str(n), "-singlefile", "-"],
            input=pdf,
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
        images.append(png)
        if progress is not None:
            progress(n, pages)
    return images


class DocumentView(QWidget):
    """Preview pages plus *Save a copy* and *Print*."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.pdf: bytes | None = None
        self.filename = "document.pdf"
        i18n = ctx.i18n
        self.status = QLabel()
        self.status.setWordWrap(True)
        set_role(self.status, "hint")
        self.pages = QWidget()
        self.pages_layout = QVBoxLayout(self.pages)
        self.pages_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.scroll_area = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.pages)
        scroll.setMinimumHeight(320)
        self.save_button = QPushButton()
        self.print_button = QPushButton()
        i18n.bind(self.save_button.setText, "doc.save")
        i18n.bind(self.print_button.setText, "doc.print")
        self.save_button.clicked.connect(self.save_copy)
        self.print_button.clicked.connect(self.print_document)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.print_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(scroll, 1)
        self.rendered: list[QImage] = []
        self._token: object = None
        self.set_document(None)

    def clear(self) -> None:
        self.set_document(None)

    def set_document(self, pdf: bytes | None, filename: str = "document.pdf") -> None:
        self.pdf = pdf
        self.filename = Path(filename).name or "document.pdf"
        self.rendered = []
        clear_layout(self.pages_layout)
        has = pdf is not None
        # Nothing to show: no empty frame and no dead buttons.
        for widget in (self.save_button, self.print_button, self.scroll_area):
            widget.setVisible(has)
        self.save_button.setEnabled(has)
        self.print_button.setEnabled(has and poppler_available())
        if not has:
            self.status.clear()
            return
        if not poppler_available():
            self.status.setText(self.ctx.i18n.tr("doc.no_preview"))
            return
        self.status.setText(self.ctx.i18n.tr("doc.rendering"))
        token = object()
        self._token = token
        self.ctx.runner.submit(
            render_pages,
            pdf,
            on_done=lambda pngs: self._show(token, pngs),
            on_error=lambda _e: self.status.setText(self.ctx.i18n.tr("doc.no_preview")),
        )

    def _show(self, token: object, pngs: list[bytes]) -> None:
        if not shiboken6.isValid(self.status) or token is not self._token:
            return  # deleted (locked), or a newer document replaced this one meanwhile
        self.status.clear()
        for n, png in enumerate(pngs, 1):
            image = QImage.fromData(png)
            self.rendered.append(image)
            label = QLabel()
            label.setPixmap(self._fit(image))
            label.setAccessibleName(self.ctx.i18n.tr("doc.page", n=n, total=len(pngs)))
            label.setStyleSheet("border: 1px solid #aab7b8; background: white;")
            self.pages_layout.addWidget(label)

    def _fit(self, image: QImage) -> QPixmap:
        """The page scaled down to the visible width (never up: it would only blur)."""
        width = max(200, self.scroll_area.viewport().width() - 24)
        pixmap = QPixmap.fromImage(image)
        if pixmap.width() > width:
            pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        return pixmap

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        labels = widgets_in(self.pages_layout)
        for label, image in zip(labels, self.rendered, strict=False):
            if isinstance(label, QLabel):
                label.setPixmap(self._fit(image))

    def save_copy(self) -> None:
        if self.pdf is None:
            return
        path = self.ctx.prompts.save_path(self, self.filename, self.ctx.i18n.tr("doc.filter"))
        if not path:
            return
        try:
            Path(path).write_bytes(self.pdf)
        except OSError as exc:
            self.ctx.prompts.error(self, exc)
            return
        self.status.setText(self.ctx.i18n.tr("doc.saved"))

    def print_document(self) -> None:
        if self.pdf is None:
            return
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if QPrintDialog(printer, self).exec() != QPrintDialog.DialogCode.Accepted:
            return
        pdf = self.pdf

        def paint(pngs: list[bytes]) -> None:
            painter = QPainter(printer)
            for n, png in enumerate(pngs):
                if n:
                    printer.newPage()
                image = QImage.fromData(png)
                area = painter.viewport()
                scaled = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.setViewport(area.x(), area.y(), scaled.width(), scaled.height())
                painter.setWindow(image.rect())
                painter.drawImage(0, 0, image)
                painter.setViewport(area)
            painter.end()

        self.ctx.runner.submit(
            render_pages,
            pdf,
            300,
            50,
            on_done=paint,
            on_error=lambda e: self.ctx.prompts.error(self, e),
        )
