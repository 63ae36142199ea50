"""What GDPR Art. 15(1) and PIPL Art. 45 require an access report to state, per purpose.

The access report listed the data held but not *why*, *who sees it*, *how long*, *where it came
from* and *what the person can do about it*. This block adds, for every purpose the person has a
consent record for: the purpose (Art. 15(1)(a)), the categories of data (b), the recipients (c),
the retention period (d), the source (g), automated processing (h); then the rights (e, and
PIPL's 查阅、复制、更正、补充、删除、解释说明、转移) and the complaint channel (f).

Kept as its own module with its own two-language table so the move of the document labels to
a message catalog can take it over as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable, Spacer

from app.documents.labels import _FIELD
from app.documents.layout import Styles, clean, kv_table, para
from app.models import Consent, Language, Purpose

ACCESS_LABELS: dict[str, tuple[str, str]] = {
    "access.section": (
        "Why we hold your data, who sees it, how long, and your rights",
        "我们为何持有您的数据、谁能看到、保存多久以及您的权利",
    ),
    "access.purpose": ("Purpose", "处理目的"),
    "access.categories": ("Data held", "所持数据类别"),
    "access.categories_value": (
        "Your name{reference}{dob}; your decision and its date; your handwritten signature "
        "(image and stroke timings); face templates (numbers computed from your face){photos}; "
        "liveness-check results; the audit log of actions on your record.",
        "您的姓名{reference}{dob}；您的决定及其时间；您的手写签名（图像及笔画时间数据）；"
        "人脸模板（根据您的面部计算出的数值）{photos}；活体检测结果；与您的记录相关的操作审计日志。",
    ),
    "access.reference": (", reference", "、编号"),
    "access.dob": (", date of birth", "、出生日期"),
    "access.photos": ("; the photos you agreed we keep", "；您同意保存的照片"),
    "access.recipients": ("Recipients", "接收方"),
    "access.recipients_none": (
        "Staff of the controller only; no data is sent to anyone else.",
        "仅限控制者的工作人员；不向任何其他方提供数据。",
    ),
    "access.retention": ("How long it is kept", "保存期限"),
    "access.retention_value": (
        "Face templates: until you withdraw, or {days} days after your last visit at most. "
        "Name, signed forms, signature and audit log: kept as evidence of your decision while "
        "your record exists; erased with everything else when you ask for erasure (the audit log "
        "keeps only a random ID).",
        "人脸模板：直至您撤回同意，最长为您最后一次到访后 {days} 天。姓名、签署的文件、签名及审计日志："
        "在您的记录存在期间作为您决定的证据保存；您要求删除时与其他数据一并删除"
        "（审计日志仅保留随机编号）。",
    ),
    "access.source": ("Where the data came from", "数据来源"),
    "access.source_desk": (
        "From you, at the front desk: you entered or gave the details, signed, and the camera "
        "took the face images.",
        "来自您本人，在前台收集：您提供信息并签名，摄像头采集人脸图像。",
    ),
    "access.source_paper": (
        "From you: a consent form you signed on paper on {date}, and photos provided with it, "
        "imported by staff.",
        "来自您本人：您于 {date} 签署的纸质同意书及随附照片，由工作人员录入。",
    ),
    "access.automated": ("Automated processing", "自动化处理"),
    "access.automated_value": (
        "Face matching decides automatically whether a camera image is you; it only grants the "
        "access described above, and the alternative is always open to you. No profiling.",
        "人脸比对自动判断摄像头图像是否为您本人；仅用于上述通行目的，您始终可以选择替代方式。不进行用户画像。",
    ),
    "access.controller": ("Controller and contact", "个人信息处理者及联系方式"),
    "access.rights_title": ("Your rights", "您的权利"),
    "access.rights": (
        "You may: get access to and a copy of your data (this report); have it corrected or "
        "completed; have it erased; restrict its use; object to its use; receive it in a "
        "portable form or have it transferred; withdraw consent at any time, without affecting "
        "what was done before; and ask us to explain these rules. Ask at the front desk or "
        "write to the contact above.",
        "您有权：查阅、复制您的个人信息（即本报告）；要求更正、补充；要求删除；限制处理；"
        "拒绝处理；获取可携带的副本或要求转移；随时撤回同意（不影响撤回前的处理）；"
        "要求我们对处理规则进行解释说明。请在前台提出，或联系上述联系方式。",
    ),
    "access.complaint": ("Complaints", "投诉渠道"),
    "access.complaint_value": (
        "If you are unhappy with how your data is handled, you may complain to {regulator}.",
        "如对个人信息的处理方式不满，您可以向{regulator}投诉。",
    ),
    "access.regulator_default": (
        "the data protection supervisory authority",
        "履行个人信息保护职责的部门",
    ),
    "access.none_given": ("Not stated", "未说明"),
}


def access_label(language: Language, key: str, **values: object) -> str:
    en, zh = ACCESS_LABELS[key]
    text = zh if language == "zh" else en
    return _FIELD.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def access_rights_block(
    *,
    consents: Sequence[Consent],
    purposes: Sequence[Purpose],
    has_reference: bool,
    has_date_of_birth: bool,
    styles: Styles,
) -> list[Flowable]:
    """Per purpose the Art. 15(1)(a)-(d), (g), (h) facts, then the rights and complaint channel."""
    lang = styles.language
    s = styles
    out: list[Flowable] = [para(access_label(lang, "access.section"), s.h2)]
    by_version = {p.version_id: p for p in purposes}
    seen: set[int] = set()
    regulators: list[str] = []
    for consent in consents:
        purpose = by_version.get(consent.purpose_version_id)
        if purpose is None or purpose.version_id in seen:
            continue
        seen.add(purpose.version_id)
        categories = access_label(
            lang,
            "access.categories_value",
            reference=access_label(lang, "access.reference") if has_reference else "",
            dob=access_label(lang, "access.dob") if has_date_of_birth else "",
            photos=access_label(lang, "access.photos") if purpose.keep_photos else "",
        )
        if consent.paper_signed_on is not None:
            source = access_label(
                lang, "access.source_paper", date=consent.paper_signed_on.isoformat()
            )
        else:
            source = access_label(lang, "access.source_desk")
        purpose_text = clean(purpose.title, 300)
        if purpose.description:
            purpose_text += " — " + clean(purpose.description, 1000)
        rows: list[tuple[str, object]] = [
            (access_label(lang, "access.purpose"), purpose_text),
            (access_label(lang, "access.categories"), categories),
            (
                access_label(lang, "access.recipients"),
                clean(purpose.recipients, 1000) or access_label(lang, "access.recipients_none"),
            ),
            (
                access_label(lang, "access.retention"),
                access_label(lang, "access.retention_value", days=purpose.retention_days),
            ),
            (access_label(lang, "access.source"), source),
            (access_label(lang, "access.automated"), access_label(lang, "access.automated_value")),
            (
                access_label(lang, "access.controller"),
                f"{clean(purpose.controller, 300)} · {clean(purpose.contact, 300)}",
            ),
        ]
        out += [kv_table(rows, s), Spacer(1, 6)]
        if purpose.regulator and purpose.regulator not in regulators:
            regulators.append(clean(purpose.regulator, 300))
    regulator = "; ".join(regulators) or access_label(lang, "access.regulator_default")
    out += [
        para(access_label(lang, "access.rights_title"), s.h3),
        para(access_label(lang, "access.rights"), s.body),
        para(access_label(lang, "access.complaint"), s.h3),
        para(access_label(lang, "access.complaint_value", regulator=regulator), s.body),
        Spacer(1, 6),
    ]
    return out
