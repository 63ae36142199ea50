"""Font subsets without hinting: the largest part of a consent form, halved (issue 12).

reportlab embeds the glyphs a document uses exactly as the font has them, TrueType hinting
instructions included, plus the font's hinting programs (``fpgm``, ``prep``, ``cvt ``) and its
full ``name`` table in every language. Hinting fits outlines to a screen's pixel grid at small
sizes; PDF viewers and printers render without it (or with their own auto-hinter), so it is
dead weight in a document: for WenQuanYi Micro Hei it was half of the embedded subset (16 KB of
a 41 KB form). The outlines, metrics and character map are kept unchanged, so the text prints,
copies and searches the same.

The result is deterministic (no timestamp is recalculated): the same subset always gives the
same bytes, which keeps documents reproducible and lets identical subsets compress together.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

_HINT_TABLES = ("cvt ", "fpgm", "prep", "hdmx", "VDMX", "LTSH")
_NAME_IDS = {1, 2, 3, 4, 5, 6}  # family, style, unique ID, full name, version, PostScript name
_MAXP_HINT_FIELDS = (
    "maxTwilightPoints",
    "maxStorage",
    "maxFunctionDefs",
    "maxInstructionDefs",
    "maxStackElements",
    "maxSizeOfInstructions",
)


def slim_subset(data: bytes) -> bytes:
    """``data`` (a TrueType subset) without hinting and with a minimal ``name`` table; the
    input unchanged if fontTools cannot read it (a font reportlab embeds must still embed)."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(io.BytesIO(data), recalcTimestamp=False)
        if "glyf" not in font:
            return data
        for tag in _HINT_TABLES:
            if tag in font:
                del font[tag]
        glyf = font["glyf"]
        for name in font.getGlyphOrder():
            glyf[name].removeHinting()
        if "maxp" in font and font["maxp"].tableVersion >= 0x00010000:
            for field in _MAXP_HINT_FIELDS:
                setattr(font["maxp"], field, 0)
        if "name" in font:
            table = font["name"]
            kept = [r for r in table.names if r.nameID in _NAME_IDS and r.platformID == 3]
            if kept:
                table.names = kept
        out = io.BytesIO()
        font.save(out)
        font.close()
        return out.getvalue()
    except Exception:  # a font fontTools cannot rewrite is embedded as reportlab made it
        return data


def install(face: Any) -> None:
    """Make a reportlab ``TTFontFace`` embed slim subsets (once per face)."""
    if getattr(face, "_consentdesk_slim", False):
        return
    original: Callable[[Any], bytes] = face.makeSubset

    def make_subset(subset: Any) -> bytes:
        return slim_subset(original(subset))

    face.makeSubset = make_subset
    face._consentdesk_slim = True
