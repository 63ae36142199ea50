"""The access report states every item GDPR Art. 15(1) and PIPL Art. 45 ask for, read back from
the PDF with ``pdftotext`` in both languages."""

from __future__ import annotations

import pytest

from app.documents import DocumentMaker
from app.documents.labels import label as access_label
from app.models import Language
from tests.core import test_documents_fixtures as fx
from tests.core.test_documents import build, pdftotext, squash


@pytest.fixture(scope="module")
def reports() -> dict[Language, str]:
    maker = DocumentMaker(None, clock=lambda: fx.T0)
    return {lang: squash(pdftotext(build(maker, "access_report", lang))) for lang in ("en", "zh")}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_art_15_item_is_stated(reports: dict[Language, str], lang: Language) -> None:
    text = reports[lang]
    purpose = fx.purpose(lang)
    expected = {
        "(a) purposes": [access_label(lang, "access.purpose"), purpose.title, purpose.description],
        "(b) categories": [access_label(lang, "access.categories")],
        "(c) recipients": [access_label(lang, "access.recipients")],
        "(d) retention": [
            access_label(lang, "access.retention"),
            access_label(lang, "access.retention_value", days=purpose.retention_days),
        ],
        "(e) rights": [
            access_label(lang, "access.rights_title"),
            access_label(lang, "access.rights"),
        ],
        "(f) complaint": [
            access_label(lang, "access.complaint_value", regulator=purpose.regulator),
        ],
        "(g) source": [access_label(lang, "access.source")],
        "(h) automated": [access_label(lang, "access.automated_value")],
        "controller": [purpose.controller, purpose.contact],
    }
    for item, needles in expected.items():
        for needle in needles:
            assert squash(needle) in text, (item, needle)
    if purpose.recipients:
        assert squash(purpose.recipients) in text
    else:
        assert squash(access_label(lang, "access.recipients_none")) in text


def test_rights_name_every_gdpr_and_pipl_right() -> None:
    en = access_label("en", "access.rights")
    for word in (
        "access",
        "copy",
        "corrected",
        "completed",
        "erased",
        "restrict",
        "object",
        "portable",
        "withdraw",
        "explain",
    ):
        assert word in en, word
    zh = access_label("zh", "access.rights")
    for word in ("查阅", "复制", "更正", "补充", "删除", "解释说明", "转移", "撤回"):
        assert word in zh, word
