"""Fonts, type sizes and the style sheet.

Why the CJK font is loaded by hand: the workstations (and the CI machine) have no system CJK
font, so Chinese text would render as empty boxes. The font ships in the Python package
``paperang_p2_fonts_cjk``; it is registered with Qt at start-up and put in the fallback chain
of the UI font so Latin text keeps the platform font and Chinese text finds its glyphs.

Type is large on purpose: people read the disclosure standing at a counter, often without their
glasses, and operators work at arm's length from a touch screen.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QApplication, QFrame, QScrollArea, QWidget

log = logging.getLogger(__name__)

BASE_POINT_SIZE = 12
READING_POINT_SIZE = 16  # disclosure text and person-facing prompts
TITLE_POINT_SIZE = 18

# Equal visual weight for "consent" and "refuse": same size, same border, same neutral colour.
DECISION_STYLE = (
    "QPushButton { font-size: 20pt; padding: 18px; border: 2px solid #34495e; "
    "border-radius: 8px; background: #ecf0f1; color: #1b2631; }"
    "QPushButton:checked { background: #34495e; color: white; }"
    "QPushButton:focus { border: 3px solid #2e86c1; }"
)

STYLE_SHEET = """
QWidget { font-size: %(base)dpt; }
QLabel[role="title"] { font-size: %(title)dpt; font-weight: 600; }
QLabel[role="hint"] { color: #34495e; }
QLabel[role="error"] { color: #b03a2e; font-weight: 600; }
QLabel[role="ok"] { color: #1e8449; font-weight: 600; }
QLabel[role="warning"] { color: #7e5109; background: #fdebd0; padding: 8px; border-radius: 4px; }
QLabel[role="reading"], QTextBrowser[role="reading"] { font-size: %(reading)dpt; }
QPushButton { padding: 6px 14px; }
QPushButton[role="primary"] { font-weight: 600; }
QPushButton[role="danger"] { color: #922b21; font-weight: 600; }
"""


def _cjk_font_file() -> Path | None:
    try:
        import paperang_p2_fonts_cjk
    except ImportError:
        return None
    path = Path(paperang_p2_fonts_cjk.__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"
    return path if path.is_file() else None


def load_fonts() -> list[str]:
    """Register the bundled CJK font; return the family names it provides (empty if missing)."""
    path = _cjk_font_file()
    if path is None:
        log.warning("CJK font package missing: Chinese text may not render")
        return []
    font_id = QFontDatabase.addApplicationFont(str(path))
    if font_id < 0:
        log.warning("CJK font could not be loaded")
        return []
    return list(QFontDatabase.applicationFontFamilies(font_id))


def apply_theme(app: QGuiApplication) -> None:
    """Large base font with the CJK family as fallback, plus the shared style sheet."""
    cjk = load_fonts()
    font = QFont(app.font())
    families = [f for f in font.families() if f] or [font.family()]
    font.setFamilies(families + [f for f in cjk if f not in families])
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    if isinstance(app, QApplication):  # style sheets are for widgets; a GUI-only app has none
        app.setStyleSheet(
            STYLE_SHEET
            % {"base": BASE_POINT_SIZE, "title": TITLE_POINT_SIZE, "reading": READING_POINT_SIZE}
        )


def set_role(widget: QWidget, role: str) -> None:
    """Tag a widget for the style sheet (``QLabel[role="error"]``) and re-polish it."""
    widget.setProperty("role", role)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that grows with the window.

    Why: a screen's minimum size must never exceed a 1366x768 display (the most common desk PC
    screen); when the content is taller, it scrolls instead of pushing buttons off the screen.
    """
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setWidget(widget)
    return area
