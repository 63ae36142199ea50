"""The one font every ConsentDesk PDF embeds: WenQuanYi Micro Hei.

Documents must print the same on any machine, so no PDF may rely on fonts the viewer happens to
have. Micro Hei covers Latin and CJK, which matters because an English document can still carry
a Chinese name (and vice versa); a single font also means no glyph ever falls back to a viewer
font. reportlab embeds only the glyphs used (a subset), so the 5 MB collection costs a few KB
per document.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

_PACKAGE = "paperang_p2_fonts_cjk"
_FILE = "wqy-microhei.ttc"


def default_font_path() -> Path:
    """Locate ``wqy-microhei.ttc`` inside the installed ``paperang_p2_fonts_cjk`` package.

    Works from a source checkout and from a PyInstaller bundle, provided the bundle collects
    the package's data files (``collect_data_files("paperang_p2_fonts_cjk")``).
    """
    try:
        root = importlib.resources.files(_PACKAGE)
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "the CJK font package paperang-p2-fonts-cjk is not installed"
        ) from exc
    path = Path(str(root.joinpath("fonts", _FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"font file {_FILE} is missing from {_PACKAGE}")
    return path


def register_font(path: Path, subfont_index: int = 0) -> str:
    """Register a TrueType font (or one face of a collection) and return its reportlab name.

    reportlab's font registry is process-wide; the name is derived from the path and index so
    two makers with different fonts never overwrite each other, and re-registering the same
    font is a cheap no-op.
    """
    tag = hashlib.sha256(f"{path.resolve()}#{subfont_index}".encode()).hexdigest()[:10]
    name = f"CD-{tag}"
    if name not in pdfmetrics.getRegisteredFontNames():
        font = TTFont(name, str(path), subfontIndex=subfont_index)
        pdfmetrics.registerFont(font)
        # Map bold/italic to the same face so a stray <b> never asks for an unembedded font.
        pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    return name
