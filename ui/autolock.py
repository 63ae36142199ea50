"""Inactivity auto-lock.

Why an application-wide event filter: the workstation sits at a public counter. If the operator
walks away, the screen must lock itself no matter which widget has focus or which dialog is open,
so every keyboard, mouse, pen and touch event anywhere restarts one timer.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.TabletMove,
    }
)


class AutoLock(QObject):
    """Install on the QApplication; emits :attr:`expired` after ``minutes`` without input."""

    expired = Signal()

    def __init__(self, minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.expired)
        self.set_minutes(minutes)
        self._armed = False

    def set_minutes(self, minutes: float) -> None:
        self.timer.setInterval(max(1, int(minutes * 60_000)))

    def arm(self) -> None:
        """Start counting (after sign-in)."""
        self._armed = True
        self.timer.start()

    def disarm(self) -> None:
        """Stop counting (on the unlock screen there is nothing to protect)."""
        self._armed = False
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._armed and event.type() in _ACTIVITY:
            self.timer.start()
        return False
