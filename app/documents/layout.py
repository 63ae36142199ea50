"""Page furniture and small flowable builders shared by all ConsentDesk documents.

Everything that decides how a document *looks* lives here (styles, tables, header and footer,
QR code, time formatting) so the builders in :mod:`app.documents.maker` read as a list of what
each document says. Every piece of text passes through :func:`clean` and is XML-escaped before
reportlab sees it: names and purpose titles come from people, and reportlab's paragraph parser
would otherwise treat ``<`` or ``&`` in them as markup.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib import textsplit as _rl_textsplit
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, Spacer, Table, TableStyle
from reportlab.platypus import paragraph as _rl_paragraph

from app.documents.fonts import Run, font_runs, glyph_markup  # issue-15
from app.documents.labels import label
from app.models import Language

# issue 12: stored documents are a vault's bulk (100,000 consent forms). Streams are written as
# binary Flate, not ASCII85 text (a quarter larger): the PDF stays byte-exact once signed.
rl_config.useA85 = 0

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 24 * mm
MARGIN_BOTTOM = 20 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
# Any single value is capped so one absurd field cannot grow a table row taller than a page
# (reportlab cannot split a row and would fail the whole document).
MAX_FIELD_CHARS = 1000

# Heading sizes: used by no other style, so the tagger (app/documents/tagging.py) can tell the
# title (H1), section (H2) and sub-section (H3) headings from body text by size alone.
TITLE_SIZE = 17.0
H2_SIZE = 12.0
H3_SIZE = 10.5

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#5c6370")
ACCENT = colors.HexColor("#1f4e79")
RULE = colors.HexColor("#c8ccd2")
SHADE = colors.HexColor("#f1f3f6")

# reportlab's CJK line breakers only know Japanese no-break-before punctuation; Chinese
# full-width commas etc. would otherwise start a line, which reads as a typesetting error.
# Both breakers (single-fragment and multi-fragment) read their own module's copy.
_ZH_CANNOT_START = "，、；：！？）》」』】〕…"
for _module in (_rl_textsplit, _rl_paragraph):
    _missing = "".join(ch for ch in _ZH_CANNOT_START if ch not in _module.ALL_CANNOT_START)
    if _missing:
        _module.ALL_CANNOT_START += _missing

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HEADING = re.compile(r"^(\d+\.|[一二三四五六七八九十]+、)\s*\S")


def clean(value: object, limit: int | None = MAX_FIELD_CHARS, language: Language = "en") -> str:
    """Printable text: NFC, no control characters or lone surrogates, length-capped."""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    text = _CONTROL.sub("", text.replace("\t", " "))
    if limit is not None and len(text) > limit:
        text = text[:limit] + label(language, "truncated")
    return text


def markup(value: object, limit: int | None = MAX_FIELD_CHARS, language: Language = "en") -> str:
    """:func:`clean` + XML escaping + line breaks, ready for a reportlab Paragraph."""
    lines = escape(clean(value, limit, language)).split("\n")
    return "<br/>".join(lines)


@dataclass(frozen=True)
class Styles:
    """Paragraph styles for one language. Chinese needs ``wordWrap='CJK'`` (no spaces to break
    at) and a little more leading for legibility."""

    language: Language
    font: str
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    title: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    bullet: ParagraphStyle
    cell_label: ParagraphStyle
    cell: ParagraphStyle
    mono: ParagraphStyle
    statement: ParagraphStyle

    @classmethod
    def make(cls, font: str, language: Language) -> Styles:
        wrap = "CJK" if language == "zh" else None
        lead = 1.5 if language == "zh" else 1.32

        def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
            kw.setdefault("textColor", INK)
            kw.setdefault("leading", size * lead)
            return ParagraphStyle(name, fontName=font, fontSize=size, wordWrap=wrap, **kw)

        return cls(
            language=language,
            font=font,
            body=style("body", 9.5, spaceAfter=2),
            small=style("small", 8),
            muted=style("muted", 8, textColor=MUTED),
            title=style("title", TITLE_SIZE, textColor=ACCENT, spaceAfter=6, leading=22),
            h2=style("h2", H2_SIZE, textColor=ACCENT, spaceBefore=10, spaceAfter=4, keepWithNext=1),
            h3=style("h3", H3_SIZE, textColor=ACCENT, spaceBefore=6, spaceAfter=2, keepWithNext=1),
            bullet=style("bullet", 9.5, leftIndent=12, firstLineIndent=-8, spaceAfter=1),
            cell_label=style("cell_label", 8.5, textColor=MUTED),
            cell=style("cell", 9),
            mono=style("mono", 8),
            statement=style(
                "statement",
                10,
                backColor=SHADE,
                borderPadding=(6, 6, 6, 6),
                spaceBefore=6,
                spaceAfter=10,
            ),
        )


def table_style(styles: Styles, commands: list[tuple[Any, ...]]) -> TableStyle:
    """A TableStyle whose cell font is ours: reportlab's default cell font is Helvetica, which
    would be referenced (unembedded) even when every cell holds a Paragraph."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), styles.font), *commands])


def para(text: object, style: ParagraphStyle, limit: int | None = MAX_FIELD_CHARS) -> Paragraph:
    # issue-15: per-glyph font fallback (rare CJK, Arabic, Hebrew, Devanagari...) instead of "�"
    return Paragraph(glyph_markup(clean(str(text), limit), style.fontName), style)


def kv_table(
    rows: Sequence[tuple[str, object]],
    styles: Styles,
    label_width: float = 130,
    width: float = FRAME_WIDTH,
) -> Table:
    """Two-column label/value table; values may be strings or ready-made flowables."""
    data: list[list[Any]] = []
    for key, value in rows:
        cell = value if isinstance(value, Flowable) else para(value, styles.cell)
        data.append([para(key, styles.cell_label), cell])
    table = Table(data, colWidths=[label_width, width - label_width], hAlign="LEFT")
    table.setStyle(
        table_style(
            styles,
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ],
        )
    )
    return table


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    styles: Styles,
    widths: Sequence[float],
) -> Table:
    """A table with a shaded header row that repeats on every page it spans."""
    scale = FRAME_WIDTH / sum(widths)
    data: list[list[Any]] = [[para(h, styles.cell_label) for h in header]]
    for row in rows:
        data.append([c if isinstance(c, Flowable) else para(c, styles.small) for c in row])
    table = Table(data, colWidths=[w * scale for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        table_style(
            styles,
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ],
        )
    )
    return table


def disclosure_flowables(text: str, styles: Styles) -> list[Flowable]:
    """The disclosure text, line by line, with headings and bullets styled but no word changed.

    The text is printed verbatim (only line breaks are the renderer's), so what a reader sees can
    be compared with the hash on the form.
    """
    out: list[Flowable] = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            out.append(Spacer(1, 3))
        elif index == 0 or _HEADING.match(line):
            out.append(para(line, styles.h3, limit=None))
        elif line.startswith("- "):
            out.append(para(line, styles.bullet, limit=None))
        else:
            out.append(para(line, styles.body, limit=None))
    return out


def image_flowable(data: bytes, max_width: float, max_height: float) -> Image:
    """An in-memory image scaled to fit the box, aspect ratio kept."""
    width, height = ImageReader(io.BytesIO(data)).getSize()
    scale = min(max_width / width, max_height / height)
    return Image(io.BytesIO(data), width=width * scale, height=height * scale, hAlign="LEFT")


class QrCode(Flowable):  # type: ignore[misc]
    """A vector QR code drawn as filled rectangles.

    reportlab's own QR widget renders through its graphics layer, which opens in Helvetica and
    so drags an unembedded font into the file; drawing the modules directly avoids that.
    """

    def __init__(self, payload: str, size: float = 34 * mm) -> None:
        super().__init__()
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
        code.add_data(payload)
        code.make(fit=True)
        self._matrix: list[list[bool]] = code.get_matrix()
        self.width = self.height = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        """One path in module units, filled once (issue 12): a rectangle per run of dark
        modules with whole-number coordinates, instead of one painted (and, once tagged, one
        artifact-marked) rectangle per run in points: about a fifth of the bytes per form."""
        cells = len(self._matrix)
        module = self.width / cells
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.black)
        canvas.transform(module, 0, 0, module, 0, 0)
        path = canvas.beginPath()
        for row, line in enumerate(self._matrix):
            y = cells - (row + 1)
            col = 0
            while col < cells:
                if not line[col]:
                    col += 1
                    continue
                start = col
                while col < cells and line[col]:
                    col += 1
                path.rect(start, y, col - start, 1)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


def format_datetime(at: dt.datetime | None, tz_name: str, language: Language) -> str:
    """Local wall time with the zone name and UTC offset, e.g. ``2026-11-26 09:15:02 Europe/Paris
    (UTC+01:00)``; a naive value is taken as UTC, an unknown zone falls back to UTC."""
    if at is None:
        return label(language, "not_given")
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(tz_name)
        zone_label = tz_name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone, zone_label = dt.UTC, "UTC"
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    stamp = local.strftime("%Y-%m-%d %H:%M:%S")
    if language == "zh":
        return f"{stamp}（{zone_label}，{offset}）"
    return f"{stamp} {zone_label} ({offset})"


def format_date(day: dt.date | None, language: Language) -> str:
    if day is None:
        return label(language, "not_given")
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


def _fit(text: str, font: str, size: float, width: float) -> list[Run]:
    """Header/footer text as font runs on one line, shortened with "…" when too wide: they are
    labels, the body has the full value. Each run is in the first embedded font of the chain
    that has its glyphs, so a rare CJK or Arabic organisation name prints in the header as it
    does in the body instead of as "\ufffd"."""

    def width_of(runs: list[Run]) -> float:
        return float(sum(stringWidth(r.text, r.font, size) for r in runs))

    runs = font_runs(text, font)
    if width_of(runs) <= width:
        return runs
    while text and width_of(font_runs(text + "…", font)) > width:
        text = text[:-1]
    return font_runs(text + "…", font)


def _draw_runs(
    canvas: Canvas, x: float, y: float, runs: list[Run], size: float, right: bool
) -> None:
    """Draw runs left-aligned at ``x`` or, with ``right``, ending at ``x``."""
    if right:
        x -= float(sum(stringWidth(r.text, r.font, size) for r in runs))
    for run in runs:
        canvas.setFont(run.font, size)
        canvas.drawString(x, y, run.text)
        x += stringWidth(run.text, run.font, size)


def page_canvas(
    font: str,
    header_left: str,
    header_right: str,
    footer_left: str,
    page_label: Callable[[int, int], str],
    seed: str = "",
) -> type[Canvas]:
    """A canvas class that draws the running header and a "page N of M" footer.

    The total page count is only known at the end, so pages are buffered and decorated in
    ``save`` (the usual reportlab two-pass pattern, done in memory).

    ``seed`` (issue 12): reportlab numbers a font's characters in the order a document first
    uses them and cuts the embedded subsets (256 characters each) in that order, so a person's
    name early on page 1 reorders every subset after it. Characters of ``seed`` (the disclosure
    text, the same for everyone who signs it) are numbered first, in code point order: the
    subsets they fill come out byte-identical in every form of that text, and the vault keeps
    such a font program once (``app.stored``).
    """
    header_left = clean(header_left, 200)
    header_right = clean(header_right, 200)
    footer_left = clean(footer_left, 200)

    class _PageCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if not kwargs.get("initialFontName"):
                # Without this every page starts in Helvetica, an unembedded base-14 font.
                kwargs["initialFontName"] = font
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []
            if seed:
                chars = "".join(sorted({ch for ch in seed if ch.isprintable() and ch != " "}))
                pdfmetrics.getFont(font).splitString(chars, self._doc)

        def showPage(self) -> None:  # reportlab's method name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            # A pagination artifact: screen readers skip the header and footer, which repeat on
            # every page (app/documents/tagging.py leaves marked content as it is).
            self._code.append("/Artifact <</Type /Pagination>> BDC")
            self.saveState()
            top = PAGE_HEIGHT - 14 * mm
            half = FRAME_WIDTH / 2 - 6
            self.setFillColor(ACCENT)
            _draw_runs(self, MARGIN_X, top, _fit(header_left, font, 8.5, half), 8.5, False)
            self.setFillColor(MUTED)
            right = _fit(header_right, font, 8.5, half)
            _draw_runs(self, PAGE_WIDTH - MARGIN_X, top, right, 8.5, True)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.6)
            self.line(MARGIN_X, top - 4, PAGE_WIDTH - MARGIN_X, top - 4)
            bottom = 11 * mm
            self.line(MARGIN_X, bottom + 10, PAGE_WIDTH - MARGIN_X, bottom + 10)
            footer = _fit(footer_left, font, 7.5, FRAME_WIDTH - 90)
            _draw_runs(self, MARGIN_X, bottom, footer, 7.5, False)
            pages = _fit(page_label(number, total), font, 7.5, 86)
            _draw_runs(self, PAGE_WIDTH - MARGIN_X, bottom, pages, 7.5, True)
            self.restoreState()
            self._code.append("EMC")

    return _PageCanvas
