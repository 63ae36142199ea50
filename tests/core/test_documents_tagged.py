"""Issue 15, point 9: every document is a tagged PDF a screen reader can follow.

Checked from outside the code that wrote the tags: poppler's ``pdfinfo`` (``Tagged: yes`` and
the structure tree with its text, ``-struct-text``), pypdf for the catalog keys and XMP, pikepdf
for the marked content of each page, and ``pdfsig`` for the signature made after tagging.
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from app.documents import DocumentMaker
from app.models import Language
from app.pdfsign import PdfSigner, create_workstation_identity
from tests.core import test_documents_fixtures as fx
from tests.core.pdftools import poppler
from tests.core.test_documents import KINDS, LANGS, _pdfsig, _run, build, squash

TITLES = {  # the first heading of each kind, as printed
    ("consent_form", "en"): "Consent to face recognition",
    ("consent_form", "zh"): "人脸识别同意书",
}


@pytest.fixture(scope="module")
def tagged() -> dict[tuple[str, Language], bytes]:
    maker = DocumentMaker(PdfSigner(*create_workstation_identity(fx.ORG.name)), clock=lambda: fx.T0)
    return {(k, lang): build(maker, k, lang) for k in KINDS for lang in LANGS}


def _struct_text(pdf: bytes) -> str:
    proc = _run(poppler("pdfinfo"), "-struct-text", "-", data=pdf)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_catalog_says_tagged_language_and_title(
    tagged: dict[tuple[str, Language], bytes], kind: str, lang: Language
) -> None:
    pdf = tagged[kind, lang]
    proc = _run(poppler("pdfinfo"), "-", data=pdf)
    info = proc.stdout.decode("utf-8")
    assert "Tagged:          yes" in info, info
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == ("zh-CN" if lang == "zh" else "en")
    assert root["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    title = reader.metadata.title if reader.metadata else None
    assert title and title == reader.xmp_metadata.dc_title["x-default"]  # type: ignore[union-attr]
    # The title a viewer shows is the first heading a screen reader reads.
    tree = _struct_text(pdf).splitlines()
    assert tree[0] == "Document" and tree[1].strip() == "H1 (block)", tree[:3]
    assert tree[2].strip() == f'"{title}"'
    if (kind, lang) in TITLES:
        assert title == TITLES[kind, lang]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_page_has_its_marked_content_in_the_parent_tree(
    tagged: dict[tuple[str, Language], bytes], kind: str, lang: Language
) -> None:
    pdf = pikepdf.open(io.BytesIO(tagged[kind, lang]))
    tree = pdf.Root.StructTreeRoot
    nums = list(tree.ParentTree.Nums)
    parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    assert int(tree.ParentTreeNextKey) == len(pdf.pages)
    for page in pdf.pages:
        key = int(page.obj.StructParents)
        mcids = []
        artifacts = 0
        text_outside = 0
        depth = 0
        for operands, op in pikepdf.parse_content_stream(page):
            name = str(op)
            if name == "BDC" and "/MCID" in operands[1]:
                mcids.append(int(operands[1].MCID))
            if name in ("BDC", "BMC"):
                depth += 1
                artifacts += str(operands[0]) == "/Artifact"
            elif name == "EMC":
                depth -= 1
            elif name == "BT" and depth == 0:
                text_outside += 1
        assert text_outside == 0  # no text a screen reader could not place
        assert artifacts >= 1  # the header and footer at least
        assert mcids == list(range(len(mcids))) and mcids
        elements = parents[key]
        assert len(elements) == len(mcids)
        for mcid, element in zip(mcids, elements, strict=True):
            assert int(element.K) == mcid and element.Pg.objgen == page.obj.objgen
            assert str(element.S) in ("/H1", "/H2", "/H3", "/P", "/Figure")
            if str(element.S) == "/Figure":
                assert len(str(element.Alt)) > 5


@pytest.mark.parametrize("lang", LANGS)
def test_consent_form_reads_in_order_without_page_furniture(
    tagged: dict[tuple[str, Language], bytes], lang: Language
) -> None:
    text = _struct_text(tagged["consent_form", lang])
    flat = squash(text)
    if lang == "en":
        order = [
            "Consent to face recognition",
            "Name",
            "Decision",
            "1. Why we ask",
            "4. How long we keep it",
            "6. Your rights",
            "7. The legal basis and who to contact",
            "8. Your decision",
            "Signature of",
        ]
        furniture = "Page1of"
    else:
        order = [
            "人脸识别同意书",
            "姓名",
            "决定",
            "一、为什么需要人脸识别",
            "四、保存期限",
            "六、您的权利",
            "七、法律依据和联系方式",
            "八、您的决定",
            "签名",
        ]
        furniture = "第1页，共"
    at = -1
    for needle in order:
        found = flat.find(squash(needle), at + 1)
        assert found > at, (needle, at)
        at = found
    assert furniture not in flat  # header and footer are artifacts, read once by nobody
    # sections are headings a screen reader can jump between
    assert text.count("H2 (block)") >= 3 and text.count("H3 (block)") >= 9


@pytest.mark.parametrize("lang", LANGS)
def test_tagged_and_signed_still_verifies_with_pdfsig(
    tagged: dict[tuple[str, Language], bytes], lang: Language, tmp_path: Path
) -> None:
    for kind in ("consent_form", "withdrawal_receipt", "erasure_certificate"):
        report = _pdfsig(tagged[kind, lang], tmp_path)
        assert "Signature is Valid." in report and "Total document signed" in report, report
