"""The fonts every ConsentDesk PDF embeds: WenQuanYi Micro Hei, then a per-glyph fallback chain.

Documents must print the same on any machine, so no PDF may rely on fonts the viewer happens to
have. Micro Hei covers Latin and common CJK, which matters because an English document can still
carry a Chinese name (and vice versa). Names arrive in every script, though, and Micro Hei has no
rare CJK (Extensions A/B: 䶮, 𠮷, 㛃), Arabic, Hebrew or Devanagari: those printed as "�". So each
character that the primary font lacks is set in the first font of a fallback chain that has it:

1. Noto Sans (Latin extended, Greek, Cyrillic), 2. Noto Sans Arabic, 3. Noto Sans Hebrew,
4. Noto Sans Devanagari: TrueType fonts from PyPI packages (``fontpkg-noto-sans``,
   ``fontpkg-noto-sans-arabic``, ``pylopdf-fonts-he``, ``fontpkg-noto-sans-devanagari``).
5. Noto Sans CJK SC (``noto-cjk-sans-otc``) for rare ideographs. It has PostScript (CFF)
   outlines, which reportlab cannot embed, so the few glyphs a document needs are cut out with
   fontTools and converted to TrueType outlines in memory (cached per set of characters).

Only fonts shipped by PyPI dependencies are used: the workstation's own fonts differ from one
machine to the next. reportlab embeds only the glyphs used (subsets), so a fallback costs a few
KB and nothing when a document needs none.

Arabic is shaped (contextual letter forms via ``arabic-reshaper``) and put in visual order
(``python-bidi``) before layout, because reportlab only shapes and reorders with optional native
libraries. That is correct for names and short runs inside a left-to-right document; a run of
right-to-left text that wraps over two lines keeps its visual order per line, not across lines.
Devanagari conjuncts need OpenType shaping that reportlab does without HarfBuzz only partly:
every character has a glyph (no "�"), but some conjuncts print as their component letters.

reportlab's font registry is process-wide; this module keeps the matching per-primary chains and
converted fonts in caches next to it so that a maker never re-parses a font.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import io
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.documents import slim_fonts

_PACKAGE = "paperang_p2_fonts_cjk"
_FILE = "wqy-microhei.ttc"
# (package, file inside the package) in the order they are tried, after the primary font.
_TRUETYPE_FALLBACKS: tuple[tuple[str, str], ...] = (
    ("fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf"),
    ("fontpkg_noto_sans_arabic", "files/NotoSansArabic[wdth,wght].ttf"),
    ("pylopdf_fonts_he", "NotoSansHebrew-Variable.ttf"),
    ("fontpkg_noto_sans_devanagari", "files/NotoSansDevanagari[wdth,wght].ttf"),
)
_CJK_PACKAGE = ("noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc")
_CJK_FACE = 2  # Noto Sans CJK SC: simplified Chinese glyph shapes, the workstation's audience
_REPLACEMENT = "\ufffd"
_LOCK = threading.RLock()


def _package_file(package: str, name: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(f"the font package {package} is not installed") from exc
    path = Path(str(root.joinpath(*name.split("/"))))
    if not path.is_file():
        raise FileNotFoundError(f"font file {name} is missing from {package}")
    return path


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


def _font_name(key: str) -> str:
    return "CD-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _utf16_hex(code_point: int) -> str:
    return chr(code_point).encode("utf-16-be", "surrogatepass").hex().upper()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap with one fix: a character outside the Basic Multilingual
    Plane (𠮷 U+20BB7) is written as its UTF-16 surrogate pair, as the PDF spec requires;
    reportlab writes five hex digits, so copying or searching such a name yields garbage."""
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{_utf16_hex(v)}>" for i, v in enumerate(subset)),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(lines)


def _install_cmap_fix() -> None:
    from reportlab.pdfbase import ttfonts

    if ttfonts.makeToUnicodeCMap is not _to_unicode_cmap:
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap


def _register(name: str, source: str | io.BytesIO, subfont_index: int = 0) -> str:
    _install_cmap_fix()
    with _LOCK:
        if name not in pdfmetrics.getRegisteredFontNames():
            # shapable=False: reportlab would otherwise try HarfBuzz when it is installed and
            # shape text we already shaped.
            font = TTFont(name, source, subfontIndex=subfont_index, shapable=False)
            slim_fonts.install(font.face)  # issue 12: subsets embedded without hinting
            pdfmetrics.registerFont(font)
            # Map bold/italic to the same face so a stray <b> never asks for an unembedded font.
            pdfmetrics.registerFontFamily(
                name, normal=name, bold=name, italic=name, boldItalic=name
            )
    return name


def register_font(path: Path, subfont_index: int = 0) -> str:
    """Register a TrueType font (or one face of a collection) and return its reportlab name.

    reportlab's font registry is process-wide; the name is derived from the path and index so
    two makers with different fonts never overwrite each other, and re-registering the same
    font is a cheap no-op. The name gets the fallback chain (see :func:`glyph_markup`).
    """
    return _register(_font_name(f"{path.resolve()}#{subfont_index}"), str(path), subfont_index)


@functools.lru_cache(maxsize=32)
def coverage(font_name: str) -> frozenset[int]:
    """Code points a registered font has glyphs for."""
    face = getattr(pdfmetrics.getFont(font_name), "face", None)
    return frozenset(getattr(face, "charToGlyph", {}) or ())


@functools.lru_cache(maxsize=1)
def _truetype_chain() -> tuple[str, ...]:
    """The TrueType fallbacks that are installed, registered on first need (never at import)."""
    names = []
    for package, file in _TRUETYPE_FALLBACKS:
        try:
            path = _package_file(package, file)
        except FileNotFoundError:
            continue  # a missing fallback degrades to "�" for its script, never to a crash
        names.append(_register_static(path))
    return tuple(names)


def _register_static(path: Path) -> str:
    """Register a fallback font at its Regular instance.

    The PyPI packages ship *variable* fonts; reportlab embeds a variable font's default
    outlines, which for some (Noto Sans Hebrew) is the Thin weight. fontTools' instancer pins
    weight 400 / width 100 in memory (only where the default differs: instancing is slow); a
    static font is registered as it is.
    """
    name = _font_name(f"{path.resolve()}#regular")
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    from fontTools.ttLib import TTFont as FtFont

    font = FtFont(str(path))
    if "fvar" not in font:
        font.close()
        return _register(name, str(path))
    from fontTools.varLib import instancer

    axes = {a.axisTag: a for a in font["fvar"].axes}
    if all(
        axes[tag].defaultValue == value
        for tag, value in (("wght", 400.0), ("wdth", 100.0))
        if tag in axes
    ):  # already Regular by default: instancing a large font costs seconds for nothing
        font.close()
        return _register(name, str(path))
    pins = {
        tag: min(max(value, axes[tag].minValue), axes[tag].maxValue)
        for tag, value in (("wght", 400.0), ("wdth", 100.0))
        if tag in axes
    }
    static = instancer.instantiateVariableFont(font, pins)
    out = io.BytesIO()
    static.save(out)
    out.seek(0)
    return _register(name, out)


@functools.lru_cache(maxsize=1)
def _cjk_source() -> tuple[Path, frozenset[int]] | None:
    """The CFF CJK font and its coverage, or None when the package is not installed."""
    try:
        path = _package_file(*_CJK_PACKAGE)
    except FileNotFoundError:
        return None
    from fontTools.ttLib import TTFont as FtFont

    font = FtFont(str(path), fontNumber=_CJK_FACE, lazy=True)
    try:
        return path, frozenset(font.getBestCmap())
    finally:
        font.close()


@functools.lru_cache(maxsize=64)
def _cjk_subset_font(chars: frozenset[str]) -> str:
    """A TrueType font holding just ``chars`` from the CJK fallback, registered with reportlab.

    Cut (fontTools subsetter) and converted from cubic CFF to quadratic TrueType outlines
    (cu2qu, 1 unit tolerance: invisible at print sizes) in memory; nothing touches the disk.
    """
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont as FtFont
    from fontTools.ttLib import newTable

    source = _cjk_source()
    assert source is not None
    font = FtFont(str(source[0]), fontNumber=_CJK_FACE)
    options = subset.Options()
    options.desubroutinize = True
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.layout_features = []
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for gname in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[gname].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[gname] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "VORG", "GSUB", "GPOS", "GDEF", "BASE"):
        if tag in font:
            del font[tag]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for gname, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[gname] = (hmtx[gname][0], glyph.xMin)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in [
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ]:
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"
    out = io.BytesIO()
    font.save(out)
    out.seek(0)
    return _register(_font_name("cjk:" + "".join(sorted(chars))), out)


@dataclass(frozen=True)
class Run:
    """A stretch of text set in one font."""

    font: str
    text: str


def _visual(text: str) -> str:
    """Shape Arabic letters and put right-to-left runs in visual order (see module docstring)."""
    if not any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text):
        return text
    try:
        import arabic_reshaper
        from bidi import get_display
    except ImportError:  # without the helpers the letters still print, in logical order
        return text
    lines = []
    for line in text.split("\n"):
        shaped = arabic_reshaper.reshape(line)
        lines.append(str(get_display(shaped, base_dir="L")))
    return "\n".join(lines)


def font_runs(text: str, primary: str) -> list[Run]:
    """Split ``text`` into runs, each in the first font of the chain that has its glyphs.

    Characters no font has become U+FFFD (so a reader sees that something could not be
    printed, instead of a silently shortened name); invisible format characters (marks,
    joiners) that no font draws are dropped.
    """
    text = _visual(text)
    primary_cover = coverage(primary)
    picks: list[tuple[str | None, str]] = []
    cjk_needed: set[str] = set()
    chain: tuple[str, ...] | None = None
    cjk = None
    for ch in text:
        cp = ord(ch)
        if ch == "\n" or cp in primary_cover or not primary_cover:
            picks.append((primary, ch))
            continue
        if chain is None:
            chain = _truetype_chain()
        font = next((f for f in chain if cp in coverage(f)), None)
        if font is not None:
            picks.append((font, ch))
            continue
        if cjk is None:
            cjk = _cjk_source() or (Path(), frozenset())
        if cp in cjk[1]:
            cjk_needed.add(ch)
            picks.append((None, ch))  # resolved below, once the whole set is known
        elif unicodedata.category(ch) == "Cf":
            continue
        else:
            picks.append((primary, _REPLACEMENT))
    cjk_font = _cjk_subset_font(frozenset(cjk_needed)) if cjk_needed else None
    runs: list[Run] = []
    for font, ch in picks:
        name = font or cjk_font or primary
        if runs and runs[-1].font == name:
            runs[-1] = Run(name, runs[-1].text + ch)
        else:
            runs.append(Run(name, ch))
    return runs


def glyph_markup(text: str, primary: str) -> str:
    """reportlab Paragraph markup for already-cleaned ``text``: XML-escaped, line breaks as
    ``<br/>``, and every run the primary font lacks wrapped in ``<font name=...>``."""
    parts = []
    for run in font_runs(text, primary):
        body = "<br/>".join(escape(line) for line in run.text.split("\n"))
        parts.append(body if run.font == primary else f'<font name="{run.font}">{body}</font>')
    return "".join(parts)


def covered_text(text: str, primary: str) -> str:
    """Plain text for single-font drawing (page headers): characters outside the primary font
    become U+FFFD, format characters are dropped."""
    cover = coverage(primary)
    if not cover:
        return text
    out = []
    for ch in text:
        if ch == "\n" or ord(ch) in cover:
            out.append(ch)
        elif unicodedata.category(ch) != "Cf":
            out.append(_REPLACEMENT)
    return "".join(out)
