"""Issue 13, point 7: a person reading Chinese documents meets the purpose's Chinese texts in
every one of them (withdrawal receipt, erasure certificate, retention notice, access report),
read back from the PDFs with ``pdftotext``; purposes created before Chinese texts existed
still get their documents, English per missing field."""

from __future__ import annotations

from app.desk import Desk
from app.models import Purpose
from app.purpose_texts import localized_all
from tests.core.test_documents import pdftotext, squash
from tests.core.vaultkit import PURPOSE_ZH, enroll

ENGLISH = {
    "title": "Building entrance",
    "alternative": "Access card from the front desk",
    "recipients": "Front-desk staff only",
    "regulator": "The data protection authority",
}


def assert_chinese_only(pdf: bytes, what: str) -> None:
    text = squash(pdftotext(pdf))
    assert squash(PURPOSE_ZH["title_zh"]) in text, what
    for field, english in ENGLISH.items():
        assert squash(english) not in text, (what, field)


def test_every_chinese_document_uses_the_purposes_chinese_texts(
    desk: Desk, purpose: Purpose
) -> None:
    person = enroll(desk, purpose, name="王小明", language="zh").person.id
    report = desk.access_report_pdf(person)
    assert_chinese_only(report, "access report")
    text = squash(pdftotext(report))
    for key in ("recipients_zh", "regulator_zh", "controller_zh"):
        assert squash(PURPOSE_ZH[key]) in text, key
    assert_chinese_only(desk.retention_notice(purpose.id, "zh"), "retention notice")
    notice = squash(pdftotext(desk.retention_notice(purpose.id, "zh")))
    assert squash(PURPOSE_ZH["alternative_zh"]) in notice
    withdrawn = desk.withdraw(person, "不再需要")
    assert withdrawn.receipt is not None
    assert_chinese_only(desk.document_pdf(withdrawn.receipt.id), "withdrawal receipt")
    erased = desk.erase(person)
    assert erased.certificate_pdf is not None
    assert_chinese_only(erased.certificate_pdf, "erasure certificate")


def test_a_purpose_without_chinese_texts_falls_back_per_field(desk: Desk) -> None:
    """An English-only purpose (made before Chinese texts existed) cannot be shown in Chinese,
    but documents about its consents still render: English for each missing field only."""
    old = desk.add_purpose(
        title="Gym door", controller="Acme", contact="c@x", retention_days=30,
        alternative="Show the membership card",
    )  # fmt: skip
    (zh,) = localized_all([old], "zh")
    assert (zh.title, zh.alternative) == ("Gym door", "Show the membership card")
    half = desk.edit_purpose(old.id, material=False, title_zh="健身房门")
    (zh,) = localized_all([half], "zh")
    assert (zh.title, zh.alternative) == ("健身房门", "Show the membership card")
