"""Issue 15, point 7, the rest: the purpose's own legal basis, DPO contact and regulator override
the jurisdiction's defaults and the settings; the disclosure lists date of birth, stroke timings
and liveness metrics as collected, states why face recognition is needed and that the
alternative is equal, names the right to object under GDPR and the risks of deepfakes and
fraud, inference of sensitive attributes and linkage to identity numbers. Checked in both
languages, on screen (the rendered text) and printed (text extracted from the PDF)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.desk import Desk
from app.disclosure import render_text
from app.documents.maker import DocumentMaker
from app.errors import InvalidInput
from app.models import Language, Purpose
from app.rooms.materiality import material_fields_in
from tests.core import test_documents_fixtures as fx
from tests.core.test_cli import cli_home, ok_json  # noqa: F401 (a fixture)
from tests.core.test_documents import build, pdftotext, squash, unsigned_maker  # noqa: F401

LANGS: list[Language] = ["en", "zh"]

NEW_TEXTS: dict[Language, dict[str, list[str]]] = {
    "en": {
        "collected": [
            "Your date of birth, if you give it",
            "Your handwritten signature with the timing of its strokes",
            "The results of the liveness check (measurements such as whether you blinked",
        ],
        "necessity": [
            "Why face recognition is needed:",
            "the alternative gives you the same service with no disadvantage",
        ],
        "risks": [
            "Deepfakes and fraud:",
            "Revealing sensitive things:",
            "Linkage to your identity:",
            "identity card or passport numbers",
        ],
    },
    "zh": {
        "collected": [
            "您的出生日期（如您提供）",
            "您的手写签名及其笔画书写时间",
            "活体检测的结果（例如是否眨眼、头部转动幅度等测量值）",
        ],
        "necessity": [
            "使用人脸识别的必要性：",
            "替代方式提供同样的服务，不会给您带来任何不利",
        ],
        "risks": [
            "深度伪造和诈骗：",
            "推断敏感信息：",
            "与身份号码关联：",
            "身份证号、护照号",
        ],
    },
}
OBJECT = {"en": "You may object at any time", "zh": "您可以随时反对为本事项使用您的数据"}


def section(body: str, language: Language, number: int) -> str:
    """The text of section ``number`` (1-8) of a disclosure."""
    zh = "一二三四五六七八九"
    start = f"{number}. " if language == "en" else f"{zh[number - 1]}、"
    end = f"{number + 1}. " if language == "en" else f"{zh[number]}、"
    return body.split(start, 1)[1].split(end, 1)[0]


@pytest.mark.parametrize("language", LANGS)
def test_new_items_are_in_their_sections_on_screen(language: Language) -> None:
    body = render_text(fx.purpose(language), fx.org(language), language)
    texts = NEW_TEXTS[language]
    for needle in texts["collected"]:
        assert needle in section(body, language, 2), needle
    for needle in texts["necessity"]:
        assert needle in section(body, language, 1), needle
    # the controller is named in the necessity statement and the risk of inference
    assert fx.purpose(language).controller in section(body, language, 1).strip().split("\n")[-1]
    for needle in texts["risks"]:
        assert needle in section(body, language, 5), needle
    # objection is a GDPR right: not under PIPL (which has "restrict or refuse" instead)
    assert OBJECT[language] not in body
    gdpr = dataclasses.replace(fx.org(language), jurisdiction="FR", dpo_contact="dpo@x.example")
    assert OBJECT[language] in section(
        render_text(fx.purpose(language), gdpr, language), language, 6
    )


@pytest.mark.parametrize("language", LANGS)
def test_new_items_are_printed_on_the_consent_form(
    unsigned_maker: DocumentMaker,  # noqa: F811
    language: Language,
) -> None:
    pdf = build(unsigned_maker, "consent_form", language)
    printed = squash(pdftotext(pdf))
    for needles in NEW_TEXTS[language].values():
        for needle in needles:
            assert squash(needle) in printed, needle
    # the added lines cost at most a page (the form was 3 pages with its audit page)
    assert len(PdfReader(io.BytesIO(pdf)).pages) <= 5


def _own_purpose(desk: Desk) -> Purpose:
    return desk.add_purpose(
        title="Gym entry",
        controller="Acme Property Management",
        contact="privacy@acme.example",
        retention_days=90,
        alternative="Show the gym card",
        regulator="CNIL (cnil.fr)",
        regulator_zh="法国国家信息与自由委员会（cnil.fr）",
        title_zh="健身房入口",
        controller_zh="Acme 物业管理",
        alternative_zh="出示健身房会员卡",
        legal_basis="your explicit consent under GDPR Art. 9(2)(a), given for this gym only",
        legal_basis_zh="您依据 GDPR 第9条第2款(a)项仅为本健身房给予的明确同意",
        dpo_contact="Mme Claire Dupont, dpo-gym@acme.example",
    )


def test_the_purpose_overrides_legal_basis_dpo_and_regulator(desk: Desk) -> None:
    """On screen and printed: the purpose's own values win over the jurisdiction's defaults and
    the settings; under GDPR the purpose's DPO is enough (the setting may stay empty)."""
    desk.set_setting("guardian_age", 15)
    desk.set_setting("jurisdiction", "FR")
    gym = _own_purpose(desk)
    expected = {
        "en": [
            "Legal basis: your explicit consent under GDPR Art. 9(2)(a), given for this gym only.",
            "Data protection officer: Mme Claire Dupont, dpo-gym@acme.example.",
            "Supervisory authority: CNIL (cnil.fr).",
            OBJECT["en"],
        ],
        "zh": [
            "法律依据：您依据 GDPR 第9条第2款(a)项仅为本健身房给予的明确同意。",
            "数据保护官：Mme Claire Dupont, dpo-gym@acme.example。",
            "监管机构：法国国家信息与自由委员会（cnil.fr）。",
            OBJECT["zh"],
        ],
    }
    for language in LANGS:
        shown = desk.disclosure(gym.id, language).text
        for needle in expected[language]:
            assert needle in shown, needle
        assert "Art. 6(1)(a)" not in shown and "第6条第1款" not in shown  # the default is gone
        printed = squash(pdftotext(desk.retention_notice(gym.id, language)))
        for needle in expected[language]:
            assert squash(needle) in printed, needle
    # the settings' DPO is used where the purpose names none; the purpose's still wins here
    desk.set_setting("dpo_contact", "Central DPO, dpo@acme.example")
    assert "Mme Claire Dupont" in desk.disclosure(gym.id, "en").text
    plain = desk.edit_purpose(gym.id, True, dpo_contact="", legal_basis="", legal_basis_zh="")
    shown = desk.disclosure(plain.id, "en").text
    assert "Central DPO, dpo@acme.example" in shown and "GDPR Art. 6(1)(a)" in shown
    assert plain.version == 2 and desk.get_purpose(gym.id, 1).legal_basis.startswith("your")


def test_the_purpose_fields_persist_and_changing_the_basis_is_material(desk: Desk) -> None:
    gym = _own_purpose(desk)
    again = desk.get_purpose(gym.id)
    assert again.dpo_contact == "Mme Claire Dupont, dpo-gym@acme.example"
    assert again.legal_basis_zh.startswith("您依据")
    # a Chinese legal basis is required in Chinese once an English one is given
    bare = desk.edit_purpose(gym.id, True, legal_basis_zh="")
    with pytest.raises(InvalidInput) as caught:
        desk.disclosure(bare.id, "zh")
    assert caught.value.code == "purpose_language_missing" and "legal_basis" in str(caught.value)
    assert material_fields_in(["legal_basis_zh"]) == ["legal_basis_zh"]
    assert material_fields_in(["dpo_contact"]) == []


def test_cli_purpose_flags(cli_home: Path) -> None:  # noqa: F811
    p = ok_json(
        cli_home,
        "purpose",
        "add",
        "--title",
        "Gym",
        "--controller",
        "Acme",
        "--contact",
        "privacy@acme.example",
        "--retention-days",
        "30",
        "--alternative",
        "Gym card",
        "--legal-basis",
        "consent for the gym",
        "--dpo-contact",
        "dpo@acme.example",
        "--regulator",
        "CNIL",
    )
    assert (p["legal_basis"], p["dpo_contact"], p["regulator"]) == (
        "consent for the gym",
        "dpo@acme.example",
        "CNIL",
    )
    edited = ok_json(
        cli_home,
        "purpose",
        "edit",
        str(p["id"]),
        "--legal-basis",
        "consent, gym only",
        "--legal-basis-zh",
        "仅为健身房的同意",
        "--dpo-contact",
        "dpo2@acme.example",
    )
    assert edited["version"] == 2 and edited["legal_basis"] == "consent, gym only"
    assert edited["legal_basis_zh"] == "仅为健身房的同意"
    assert edited["dpo_contact"] == "dpo2@acme.example"
