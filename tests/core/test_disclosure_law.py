"""Issue 15, point 7: the disclosure states the legal basis, every right, how long each kind of
data is kept and whom to contact or complain to, per jurisdiction, in both languages; and it is
never issued (on screen or printed) while a field the law requires is missing."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pypdf import PdfReader

from app.desk import Desk
from app.disclosure import render_text
from app.disclosure_law import law_of
from app.errors import InvalidInput
from app.i18n import error_message
from app.models import Language, Organisation, Purpose
from tests.core import test_documents_fixtures as fx
from tests.core.test_documents import pdftotext, squash

LANGS: list[Language] = ["en", "zh"]
EU = dict(jurisdiction="DE", dpo_contact="Dr. Ada Weiss, dpo@acme.example", regulator="")


def org(language: Language, **changes: object) -> Organisation:
    return dataclasses.replace(fx.org(language), **changes)  # type: ignore[arg-type]


def text(language: Language, keep_photos: bool = False, **changes: object) -> str:
    return render_text(fx.purpose(language, keep_photos), org(language, **changes), language)


def test_jurisdictions_map_to_their_law() -> None:
    assert law_of("CN") == "pipl"
    assert law_of("EU") == law_of("DE") == law_of("FR") == "gdpr"
    assert law_of("GB") == "uk_gdpr"
    assert law_of("US") == "other"


@pytest.mark.parametrize(
    ("language", "needles"),
    [
        (
            "en",
            [
                "7. The legal basis and who to contact",
                "Legal basis: your separate consent, given in writing (Personal Information "
                "Protection Law, Art. 13(1)(1), Art. 14 and Art. 29)",
                "sensitive personal information",
                "ask to see everything we hold about you and to have a copy of it",
                "correct or complete your name or other details",
                "erase all your data",
                "withdraw your consent at any time",
                "No penalty".lower(),
                "explain how your personal information is processed",
                "restrict or refuse its processing",
                "transfer your personal information to another organisation you name",
                "Responsible for your data: Harbourside Property Management Ltd",
                "Questions and requests: the front desk or privacy@harbourside.example",
                "Supervisory authority: the Information Commissioner's Office (ico.org.uk)",
                "8. Your decision",
            ],
        ),
        (
            "zh",
            [
                "七、法律依据和联系方式",
                "法律依据：您的单独书面同意（《个人信息保护法》第十三条第一款第（一）项、第十四条、第二十九条）",
                "敏感个人信息",
                "查阅、复制",
                "更正、补充",
                "删除您的全部数据",
                "随时撤回同意",
                "解释说明",
                "限制或者拒绝",
                "转移至您指定的其他个人信息处理者",
                "负责处理您个人信息的单位：海港物业管理有限公司",
                "咨询和申请：前台或 privacy@harbourside.example",
                "监管机构：市网信办个人信息保护投诉渠道",
                "八、您的决定",
            ],
        ),
    ],
)
def test_pipl_text_has_legal_basis_every_right_and_contacts(
    language: Language, needles: list[str]
) -> None:
    body = text(language)
    for needle in needles:
        assert needle in body, needle
    # GDPR-only rights are not promised under PIPL
    assert "machine-readable" not in body and "机器可读" not in body


@pytest.mark.parametrize("language", LANGS)
def test_gdpr_text_names_dpo_regulator_basis_and_portability(language: Language) -> None:
    # the settings' regulator stands in where the purpose names none
    purpose = dataclasses.replace(fx.purpose(language), regulator="")
    the_org = org(language, **{**EU, "regulator": "Der Hessische Datenschutzbeauftragte"})
    body = render_text(purpose, the_org, language)
    for needle in (
        "Dr. Ada Weiss, dpo@acme.example",
        "Der Hessische Datenschutzbeauftragte",
        *(
            [
                "your explicit consent (GDPR Art. 6(1)(a) and Art. 9(2)(a))",
                "Data protection officer: Dr. Ada Weiss",
                "restrict the use of your data",
                "structured, machine-readable file",
                "(data portability)",
            ]
            if language == "en"
            else [
                "您的明确同意（《通用数据保护条例》（GDPR）第6条第1款(a)项和第9条第2款(a)项）",
                "数据保护官：Dr. Ada Weiss",
                "限制对您数据的使用",
                "结构化、机器可读的文件",
                "（数据可携带权）",
            ]
        ),
    ):
        assert needle in body, needle
    assert "PIPL" not in body and "个人信息保护法" not in body


@pytest.mark.parametrize("language", LANGS)
def test_retention_is_stated_for_every_kind_of_data(language: Language) -> None:
    body = text(language, inactivity_days=730, backup_days=45)
    section = body.split("5. " if language == "en" else "五、")[0].split(
        "4. " if language == "en" else "四、"
    )[1]
    if language == "en":
        kinds = [
            "Your face template: 365 days from the day you sign (never more than 730 days)",
            "Your name, your date of birth (if given), your signature with its timing, the "
            "results of the liveness check and this signed form",
            "at most 730 days after your last visit",
            "If you say no: we keep no name. We keep only the purpose version",
            "Only if you ask for a record in your name",
            "The log of what is done with your record",
            "Encrypted backups on this workstation: at most 45 days",
        ]
        photo = "Your photo, if you agreed to keep one"
    else:
        kinds = [
            "人脸模板：自签字之日起保存365天（最长不超过730天）",
            "您的姓名、出生日期（如提供）、签名及其书写时间、活体检测结果和本签字文件",
            "最长不超过您最后一次到访后730天",
            "如您拒绝：我们不保存您的姓名",
            "仅当您要求以您的名义保存记录时",
            "对您的记录所做操作的日志",
            "本工作站上的加密备份：最长保存45天",
        ]
        photo = "面部照片（仅在您同意保存时）"
    for kind in kinds:
        assert kind in section, kind
    assert photo not in section
    with_photo = text(language, keep_photos=True)
    assert photo in with_photo


def test_missing_required_fields_block_the_disclosure() -> None:
    purpose = dataclasses.replace(fx.purpose("en"), regulator="")
    for changes, code in (
        ({"jurisdiction": "FR"}, "disclosure_dpo_missing"),
        ({"jurisdiction": "EU", "dpo_contact": "dpo@x.example"}, "disclosure_regulator_missing"),
        ({"jurisdiction": "GB"}, "disclosure_dpo_missing"),
        ({"name": ""}, None),
    ):
        bad = org("en", **changes)
        if code is None:  # the purpose names a controller: an empty organisation name is fine
            render_text(purpose, bad, "en")
            continue
        with pytest.raises(InvalidInput) as caught:
            render_text(purpose, bad, "en")
        assert caught.value.code == code
        for language in LANGS:  # a clear sentence in both languages, naming the law
            message = error_message(caught.value, language)
            assert ("GDPR" in message) and "{" not in message, message
    no_contact = dataclasses.replace(purpose, contact=" ")
    with pytest.raises(InvalidInput) as caught:
        render_text(no_contact, fx.ORG, "en")
    assert caught.value.code == "disclosure_contact_missing"
    # the purpose's own regulator is enough; GB has the ICO as its default
    render_text(fx.purpose("en"), org("en", jurisdiction="EU", dpo_contact="dpo"), "en")
    assert "ico.org.uk" in render_text(purpose, org("en", jurisdiction="GB", dpo_contact="d"), "en")


def test_the_desk_blocks_issuing_until_an_admin_sets_the_fields(
    desk: Desk, purpose: Purpose
) -> None:
    """Through the settings, on screen (``desk.disclosure``) and printed (the notice PDF)."""
    pid = purpose.id
    gym = desk.add_purpose(  # a purpose without its own regulator
        title="Gym entry",
        controller="Acme Property Management",
        contact="privacy@acme.example",
        retention_days=90,
        alternative="Show the gym card",
    )
    desk.set_setting("guardian_age", 15)
    desk.set_setting("jurisdiction", "FR")
    with pytest.raises(InvalidInput) as caught:
        desk.disclosure(pid, "en")
    assert caught.value.code == "disclosure_dpo_missing"
    with pytest.raises(InvalidInput):
        desk.retention_notice(pid, "zh")
    desk.set_setting("dpo_contact", "Mme Claire Dupont, dpo@acme.example")
    for language in LANGS:
        shown = desk.disclosure(pid, language).text
        assert "Mme Claire Dupont, dpo@acme.example" in shown
        assert ("GDPR Art. 6(1)(a)" in shown) if language == "en" else ("第9条第2款(a)项" in shown)
        pdf = desk.retention_notice(pid, language)
        printed = squash(pdftotext(pdf))
        assert squash("Mme Claire Dupont, dpo@acme.example") in printed
        assert squash("GDPR") in printed
        assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    with pytest.raises(InvalidInput) as caught:
        desk.disclosure(gym.id, "en")
    assert caught.value.code == "disclosure_regulator_missing"
    desk.set_setting("regulator", "CNIL (cnil.fr)")
    assert "complain to CNIL (cnil.fr)" in desk.disclosure(gym.id, "en").text
