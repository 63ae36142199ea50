"""A signature pad for mouse, pen (QTabletEvent) and finger (QTouchEvent).

Why strokes and not a bitmap: the core stores the pen strokes with timing (``app.models.Signature``)
so the signature can be redrawn at any resolution on the consent PDF and inspected later. Points
are kept in the pad's own pixel coordinates along with the pad size, as the model expects.

Pen and touch events are accepted here and their synthesised mouse events are ignored, so a
stroke is never recorded twice.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QTabletEvent,
    QTouchEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.models import Signature, SignaturePoint


class SignaturePad(QWidget):
    """Collects strokes; ``changed`` fires whenever a stroke is added or the pad is cleared."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._strokes: list[list[SignaturePoint]] = []
        self._current: list[SignaturePoint] | None = None
        self._t0: float | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(400, 160)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def sizeHint(self) -> QSize:
        return QSize(700, 240)

    # -- public API ---------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not any(len(s) >= 2 for s in self._strokes)

    def clear(self) -> None:
        self._strokes.clear()
        self._current = None
        self._t0 = None
        self.update()
        self.changed.emit()

    def signature(self) -> Signature | None:
        """The strokes so far, or ``None`` when nothing (or only dots) was drawn."""
        if self.is_empty():
            return None
        strokes = tuple(tuple(s) for s in self._strokes if len(s) >= 2)
        return Signature(strokes=strokes, width=self.width(), height=self.height())

    def add_stroke(self, points: list[tuple[float, float]]) -> None:
        """Append a whole stroke at once (used by tests and scripted demos)."""
        self._begin(QPointF(*points[0]))
        for x, y in points[1:]:
            self._extend(QPointF(x, y))
        self._end()

    # -- stroke building ---------------------------------------------------------------------
    def _now_ms(self) -> int:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        return int((now - self._t0) * 1000)

    def _point(self, pos: QPointF) -> SignaturePoint:
        x = min(max(pos.x(), 0.0), float(self.width()))
        y = min(max(pos.y(), 0.0), float(self.height()))
        return SignaturePoint(round(x, 1), round(y, 1), self._now_ms())

    def _begin(self, pos: QPointF) -> None:
        self._current = [self._point(pos)]
        self._strokes.append(self._current)
        self.update()

    def _extend(self, pos: QPointF) -> None:
        if self._current is None:
            return
        self._current.append(self._point(pos))
        self.update()

    def _end(self) -> None:
        if self._current is not None:
            self._current = None
            self.changed.emit()
            self.update()

    # -- input ---------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.source() != Qt.MouseEventSource.MouseEventNotSynthesized:
            event.ignore()  # already handled as a tablet or touch event
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.source() == Qt.MouseEventSource.MouseEventNotSynthesized and (
            event.buttons() & Qt.MouseButton.LeftButton
        ):
            self._extend(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.source() == Qt.MouseEventSource.MouseEventNotSynthesized:
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self._begin(event.position())
        elif kind == QEvent.Type.TabletMove and self._current is not None:
            self._extend(event.position())
        elif kind == QEvent.Type.TabletRelease:
            self._end()
        event.accept()

    def event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd):
            assert isinstance(event, QTouchEvent)
            points = event.points()
            if points:
                pos = points[0].position()
                if kind == QEvent.Type.TouchBegin:
                    self._begin(pos)
                elif kind == QEvent.Type.TouchUpdate:
                    self._extend(pos)
                else:
                    self._end()
            event.accept()
            return True
        return super().event(event)

    # -- drawing -------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        painter.setPen(QPen(Qt.GlobalColor.lightGray, 1, Qt.PenStyle.DashLine))
        baseline = int(self.height() * 0.75)
        painter.drawLine(20, baseline, self.width() - 20, baseline)
        painter.setPen(QPen(Qt.GlobalColor.darkGray, 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.drawText(24, baseline - 6, "✕")
        pen = QPen(
            Qt.GlobalColor.black,
            2.5,
            Qt.PenStyle.SolidLine,
            Qt.PenCapStyle.RoundCap,
            Qt.PenJoinStyle.RoundJoin,
        )
        painter.setPen(pen)
        for stroke in self._strokes:
            if not stroke:
                continue
            path = QPainterPath(QPointF(stroke[0].x, stroke[0].y))
            for p in stroke[1:]:
                path.lineTo(p.x, p.y)
            if len(stroke) == 1:
                painter.drawPoint(QPointF(stroke[0].x, stroke[0].y))
            else:
                painter.drawPath(path)
        painter.end()
