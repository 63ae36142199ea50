"""Small layout helpers shared by screens that rebuild part of themselves."""

from __future__ import annotations

from PySide6.QtWidgets import QLayout, QWidget


def clear_layout(layout: QLayout) -> None:
    """Remove every item; widgets are deleted once control returns to the event loop."""
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()


def widgets_in(layout: QLayout) -> list[QWidget]:
    """The widgets a layout holds directly, in order (spacers and sub-layouts left out)."""
    out: list[QWidget] = []
    for index in range(layout.count()):
        item = layout.itemAt(index)
        widget = item.widget() if item is not None else None
        if widget is not None:
            out.append(widget)
    return out
