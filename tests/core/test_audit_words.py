"""Issue 15: the audit pages of documents say what happened in sentences, in the document's
language: actions in words, every detail key the code writes as a translated phrase, no JSON."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from app.documents import DocumentMaker
from app.documents.audit_words import COUNT, DETAIL, sentence
from app.i18n import shipped_catalog
from app.models import AuditEvent, Language
from app.rooms.people import PERSON_TABLES
from tests.core import test_documents_fixtures as fx
from tests.core.test_documents import pdftotext, squash

ROOT = Path(__file__).resolve().parents[2]
# Keys that are not fixed: ``settings.set`` writes {setting name: value} (no person's document
# shows it; the setting's own name is the clearest word for it).
DYNAMIC = {"settings.set"}


def _detail_keys() -> dict[str, set[str]]:
    """Every literal key of a details dict passed to an audit append, by action."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "append" or len(node.args) < 2:
                continue
            action = node.args[1]
            if not (isinstance(action, ast.Constant) and isinstance(action.value, str)):
                continue
            if action.value in DYNAMIC or "." not in action.value:
                continue
            for arg in [*node.args[2:], *(k.value for k in node.keywords if k.arg == "details")]:
                for inner in ast.walk(arg):
                    if isinstance(inner, ast.Dict):
                        for key in inner.keys:
                            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                                found.setdefault(key.value, set()).add(action.value)
    return found


def test_every_detail_key_the_code_writes_has_a_phrase_in_both_languages() -> None:
    keys = _detail_keys()
    assert {"consent", "templates_deleted", "text_sha256", "liveness"} <= set(keys)
    catalog = shipped_catalog()
    missing = sorted(k for k in keys if DETAIL + k not in catalog)
    assert not missing, f"add with tools/catalog.py set pdf.audit.detail.KEY ...: {missing}"
    for table in PERSON_TABLES:  # erasure before/after counts
        assert COUNT + table in catalog


EVENTS = [
    (
        "consent.grant",
        {
            "consent": fx.CONSENT_ID,
            "purpose": 3,
            "purpose_version": 2,
            "templates": 3,
            "liveness": True,
            "paper": False,
            "paper_signed_on": None,
            "age_basis": "id_document_seen",
            "warnings_acknowledged": ["lookalike"],
        },
    ),
    (
        "consent.withdraw",
        {"consents": [fx.CONSENT_ID], "templates_deleted": 3, "reason_given": True},
    ),
    (
        "document.reissue",
        {"document_id": "d1", "why": "photo destroyed at withdrawal", "photos_removed": 1},
    ),
    ("person.erase", {"before": {"templates": 3, "documents": 4}, "certificate_sha256": "cc"}),
    ("document.create", {"document": "d2", "kind": "withdrawal_receipt", "sha256": "dd"}),
]
WORDS = {
    "en": [
        "Consent given: consent record c0ffee",
        "purpose #3; version 2; 3 face templates; liveness check passed: yes; signed on paper: no",
        "age shown by: adult, identity document seen; warnings acknowledged: lookalike.",
        "3 face templates deleted; reason recorded: yes.",
        "reason: the photo was destroyed at withdrawal",
        "held before: 3 face templates, 4 documents",
        "kind: Withdrawal receipt",
    ],
    "zh": [
        "已同意：同意记录 c0ffee",
        "目的 #3；第 2 版；人脸模板 3 个；活体检测通过：是；纸质签署：否",
        "年龄依据：成年，已查验身份证件；已确认的提醒：相似人员。",
        "删除了 3 个人脸模板；已记录原因：是。",
        "原因：撤回时照片已销毁",
        "删除前保存：人脸模板 3 个，文件 4 份",
        "类型：撤回回执",
    ],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sentences_read_as_words_in_the_documents_language(lang: Language) -> None:
    text = " ".join(
        sentence(AuditEvent(1, fx.T0, "desk.jones", action, "p-1", details), lang)
        for action, details in EVENTS
    )
    for words in WORDS[lang]:
        assert words in text, (words, text)
    for raw in ("{", "}", '"', "templates_deleted", "id_document_seen", "reason_given", "None"):
        assert raw not in text, raw


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_printed_audit_page_has_sentences_not_json(lang: Language) -> None:
    events = tuple(
        dataclasses.replace(e, action=a, details=d)
        for e, (a, d) in zip(fx.audit_events(len(EVENTS)), EVENTS, strict=True)
    )
    maker = DocumentMaker(None, clock=lambda: fx.T0)
    result, withdrawn = fx.withdrawal(lang)
    pdf = maker.withdrawal_receipt(
        org=fx.org(lang),
        person=fx.person(lang),
        result=result,
        consents=[withdrawn],
        purposes=[fx.purpose(lang)],
        operator="desk.patel",
        audit_events=events,
        document_id="doc-audit-sentences",
    )
    flat = squash(pdftotext(pdf))
    page = flat[flat.rfind(squash("What happened" if lang == "en" else "发生了什么")) :]
    assert squash(WORDS[lang][3]) in page
    assert squash(WORDS[lang][4]) in page
    assert not re.search(r'\{"|":', page), page[:300]
    assert "templates_deleted" not in page and "consent.withdraw" not in page
