"""Tagged PDF: the structure a screen reader follows (issue 15, point 9).

reportlab writes untagged PDFs: a screen reader then guesses the reading order from glyph
positions and reads the running header and footer on every page as if they were text. This
module adds the structure after layout and before signing (the signature must cover it):

* every text object (one reportlab paragraph or table cell) becomes a marked-content sequence
  with its own MCID and a structure element: ``H1`` for the title, ``H2`` for section headings,
  ``P`` otherwise, in the order reportlab drew them, which is the story's reading order;
* images become ``Figure`` elements with alternative text in the document's language;
* rules, table backgrounds, the QR code's squares and the page header and footer (already
  marked ``/Artifact`` by :func:`app.documents.layout.page_canvas`) are artifacts, skipped;
* the catalog gets ``/MarkInfo << /Marked true >>``, the ``/StructTreeRoot`` with its parent
  tree, ``/Lang`` (``en`` or ``zh-CN``), and ``DisplayDocTitle`` so viewers show the title from
  the document information and the XMP metadata instead of a file name.

Headings are told apart by font size (``TITLE_SIZE``, ``H2_SIZE``, ``H3_SIZE`` in
:mod:`app.documents.layout`, sizes no other style uses); nothing else about the content is
guessed.
"""

from __future__ import annotations

import io
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator

from app.documents.labels import label
from app.documents.layout import H2_SIZE, H3_SIZE, TITLE_SIZE

_PATH_START = {"m", "re"}
_PATH_PAINT = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"}


def _role(ops: list[Any], start: int) -> str:
    """The structure type of the text object starting at ``ops[start]`` (a ``BT``)."""
    for operands, op in ops[start:]:
        name = str(op)
        if name == "ET":
            break
        if name == "Tf" and len(operands) == 2:
            size = float(operands[1])
            for role, heading in (("/H1", TITLE_SIZE), ("/H2", H2_SIZE), ("/H3", H3_SIZE)):
                if abs(size - heading) < 0.01:
                    return role
            return "/P"
    return "/P"


def _bdc(tag: str, props: Dictionary | None = None) -> tuple[list[Any], Operator]:
    if props is None:
        return [Name(tag)], Operator("BMC")
    return [Name(tag), props], Operator("BDC")


def _emc() -> tuple[list[Any], Operator]:
    return [], Operator("EMC")


def tag_pdf(raw: bytes) -> bytes:
    """Return ``raw`` with a structure tree, marked content and the accessibility keys.

    The language is reportlab's catalog ``/Lang`` (``en`` or ``zh-CN``, set from the document's
    language), the title its information ``/Title`` (the title printed on the first page).
    """
    pdf = pikepdf.open(io.BytesIO(raw))
    root = pdf.Root
    language = str(root.get("/Lang", "en")) or "en"
    title = str(pdf.docinfo.get("/Title", ""))
    figure_alt = label("zh" if language.startswith("zh") else "en", "figure_alt")
    struct_root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = pdf.make_indirect(
        Dictionary(Type=Name.StructElem, S=Name.Document, P=struct_root, K=Array())
    )
    struct_root.K = document
    nums = Array()
    for index, page in enumerate(pdf.pages):
        elements = _tag_page(pdf, page, document, figure_alt)
        page.obj.StructParents = index
        page.obj.Tabs = Name.S
        nums.append(index)
        nums.append(pdf.make_indirect(elements))
    struct_root.ParentTree = pdf.make_indirect(Dictionary(Nums=nums))
    struct_root.ParentTreeNextKey = len(pdf.pages)
    root.StructTreeRoot = struct_root
    root.MarkInfo = Dictionary(Marked=True)
    root.Lang = pikepdf.String(language)
    root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
    pdf.docinfo[Name.Title] = pikepdf.String(title)
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = title
        meta["dc:language"] = [language]
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


def _tag_page(pdf: pikepdf.Pdf, page: pikepdf.Page, document: Dictionary, alt: str) -> Array:
    """Mark one page's content (see module) and return its structure elements by MCID."""
    ops: list[Any] = list(pikepdf.parse_content_stream(page))
    out: list[Any] = []
    by_mcid: list[Any] = []
    depth = 0  # inside marked content already there (the header/footer artifacts)
    in_path = False

    def open_element(role: str, alt_text: str | None = None) -> None:
        element = Dictionary(
            Type=Name.StructElem, S=Name(role), P=document, Pg=page.obj, K=len(by_mcid)
        )
        if alt_text is not None:
            element.Alt = pikepdf.String(alt_text)
        element = pdf.make_indirect(element)
        document.K.append(element)
        out.append(_bdc(role, Dictionary(MCID=len(by_mcid))))
        by_mcid.append(element)

    i = 0
    while i < len(ops):
        operands, op = ops[i]
        name = str(op)
        if name in ("BDC", "BMC"):
            depth += 1
        elif name == "EMC":
            depth -= 1
        if depth or name in ("BDC", "BMC", "EMC"):
            out.append((operands, op))
            i += 1
            continue
        if name == "BT":
            open_element(_role(ops, i))
            while i < len(ops):
                out.append(ops[i])
                if str(ops[i][1]) == "ET":
                    break
                i += 1
            out.append(_emc())
        elif name in ("Do", "INLINE IMAGE"):
            open_element("/Figure", alt)
            out.append((operands, op))
            out.append(_emc())
        elif name in _PATH_START and not in_path:
            in_path = True
            out.append(_bdc("/Artifact"))
            out.append((operands, op))
        elif name in _PATH_PAINT and in_path:
            in_path = False
            out.append((operands, op))
            out.append(_emc())
        else:
            out.append((operands, op))
        i += 1
    if in_path:
        out.append(_emc())
    page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(out))
    return Array(by_mcid)
