"""Every static word printed on a ConsentDesk document, in English and Simplified Chinese.

Documents are printed in the *person's* language, which may differ from the operator's, so the
builders never hard-code a label: they look it up here. Keeping both languages side by side in
one table makes a missing translation obvious in review and lets a test check that every key has
both.
"""

from __future__ import annotations

import re

from app.models import Language

_FIELD = re.compile(r"\{(\w+)\}")

LABELS: dict[str, tuple[str, str]] = {
    # document titles
    "title.consent_form": ("Consent to face recognition", "人脸识别同意书"),
    "title.refusal_record": ("Record of refusal of face recognition", "拒绝人脸识别记录"),
    "title.withdrawal_receipt": ("Receipt: consent withdrawn", "撤回同意回执"),
    "title.erasure_certificate": ("Certificate of erasure", "数据删除证明"),
    "title.access_report": ("Your data: access report", "个人数据查阅报告"),
    "title.retention_notice": (
        "Notice: face recognition and how long data is kept",
        "告示：人脸识别及数据保存期限",
    ),
    "title.paper_consent_record": ("Record of a consent signed on paper", "纸质同意书记录"),
    "title.paper_scan": ("Scan of a paper consent form", "纸质同意书扫描件"),
    # common fields
    "organisation": ("Organisation", "机构"),
    "controller": ("Responsible organisation", "个人信息处理者"),
    "contact": ("Contact", "联系方式"),
    "purpose": ("Purpose", "用途"),
    "purpose_value": ("{title} (version {version})", "{title}（第{version}版）"),
    "person": ("Name", "姓名"),
    "reference": ("Reference", "编号"),
    "person_id": ("Record number", "记录号"),
    "date_of_birth": ("Date of birth", "出生日期"),
    "language": ("Language", "语言"),
    "language.en": ("English", "英文"),
    "language.zh": ("Chinese (Simplified)", "简体中文"),
    "decision": ("Decision", "决定"),
    "decision.granted": ("I consent", "我同意"),
    "decision.refused": ("I do not consent — use the alternative", "我不同意——使用替代方式"),
    "outcome.granted": ("Consent given", "已同意"),
    "outcome.refused": ("Refused (alternative used)", "已拒绝（使用替代方式）"),
    "file_sha256": ("File SHA-256", "文件 SHA-256"),
    "consent_heading": ("{purpose}: {outcome}", "{purpose}：{outcome}"),
    "signed_at": ("Date and time", "日期和时间"),
    "operator": ("Staff member", "经办工作人员"),
    "consent_id": ("Consent ID", "同意记录编号"),
    "text_sha256": ("Disclosure text SHA-256", "告知文本 SHA-256"),
    "expires_at": ("Automatic deletion on", "自动删除日期"),
    "retention": ("Retention", "保存期限"),
    "retention_value": ("{days} days, then deleted automatically", "{days}天，期满自动删除"),
    "collected": ("What is kept", "保存的内容"),
    "collected.template": (
        "Face template (numbers, not a photo)",
        "人脸模板（一组数字，不是照片）",
    ),
    "collected.template_and_photo": (
        "Face template (numbers) and one photo, as agreed separately",
        "人脸模板（数字）以及经单独同意的一张照片",
    ),
    "alternative": ("Alternative", "替代方式"),
    "alternative_chosen": ("Alternative chosen", "选择的替代方式"),
    "status": ("Status", "状态"),
    "status.active": ("Active", "有效"),
    "status.withdrawn": ("Withdrawn", "已撤回"),
    "status.expired": ("Expired", "已过期"),
    "status.refused": ("Refused", "已拒绝"),
    "issued_at": ("Issued", "出具时间"),
    "document_id": ("Document ID", "文件编号"),
    "content_sha256": ("Content SHA-256", "内容 SHA-256"),
    "page_of": ("Page {page} of {pages}", "第 {page} 页，共 {pages} 页"),
    "not_given": ("—", "—"),
    "yes": ("Yes", "是"),
    "no": ("No", "否"),
    "truncated": (" … (shortened)", " ……（已截断）"),
    # sections
    "section.summary": ("Summary", "概要"),
    "section.disclosure": ("The information shown before the decision", "做出决定前展示的告知内容"),
    "disclosure.intro": (
        "This is the full text that was shown, word for word. Its SHA-256 fingerprint is "
        "printed above; any change to the text would change the fingerprint.",
        "以下为当时展示的告知内容全文，一字未改。其 SHA-256 指纹印于上方；"
        "文本的任何改动都会使指纹发生变化。",
    ),
    "section.signature": ("Decision and signature", "决定与签名"),
    "signature": ("Signature", "签名"),
    "signature_of": ("Signature of {name}", "{name} 的签名"),
    "signature_missing": ("Not signed", "未签名"),
    "signature_sha256": ("Signature data SHA-256", "签名数据 SHA-256"),
    "guardian": ("Parent or guardian", "父母或监护人"),
    "guardian_signature": ("Signature of parent or guardian {name}", "父母或监护人 {name} 的签名"),
    "photo": ("Photo kept (agreed separately)", "保存的照片（经单独同意）"),
    "section.liveness": ("Liveness check", "活体检测"),
    "liveness.result": ("Result", "结果"),
    "liveness.passed": ("Passed", "通过"),
    "liveness.failed": ("Not passed", "未通过"),
    "liveness.none": ("No liveness check recorded", "未记录活体检测"),
    "liveness.method": ("Method", "方法"),
    "liveness.identity_distance": ("Face match distance", "人脸比对距离"),
    "liveness.note": ("Note", "备注"),
    "liveness.skip_reason": (
        "Why the check was skipped (operator's words)",
        "未进行检测的原因（操作员填写）",
    ),
    "liveness.approved_by": ("Skipping approved by", "跳过检测的批准人"),
    "liveness.step": ("Prompt", "提示动作"),
    "liveness.elapsed": ("Time taken", "用时"),
    "liveness.ms": ("{ms} ms", "{ms} 毫秒"),
    "prompt.blink": ("Blink", "眨眼"),
    "prompt.turn_left": ("Turn head left", "向左转头"),
    "prompt.turn_right": ("Turn head right", "向右转头"),
    "section.verify": ("Checking this document", "核验本文件"),
    "verify.text": (
        "This PDF is digitally signed by the ConsentDesk workstation of {org}. Any change to "
        "the file after it was issued makes the signature invalid. The QR code carries the "
        "consent ID and the content fingerprint, so a printed copy can be checked against the "
        "workstation's records.",
        "本 PDF 由{org}的 ConsentDesk 工作站进行了数字签名。文件出具后的任何改动都会使签名失效。"
        "二维码包含同意记录编号和内容指纹，打印件也可以与工作站的记录进行核对。",
    ),
    "verify.text_no_signer": (
        "The QR code carries the document ID and the content fingerprint, so a printed copy "
        "can be checked against the workstation's records.",
        "二维码包含文件编号和内容指纹，打印件可以与工作站的记录进行核对。",
    ),
    "section.audit": ("Audit trail", "审计记录"),
    "audit.intro": (
        "Every action on this record, in order, as logged by the workstation.",
        "工作站按时间顺序记录的、与本记录相关的全部操作。",
    ),
    "audit.none": ("No audit events were supplied.", "没有提供审计记录。"),
    "audit.seq": ("No.", "序号"),
    "audit.at": ("Time", "时间"),
    "audit.actor": ("By", "操作人"),
    "audit.action": ("Action", "操作"),
    "audit.subject": ("Subject", "对象"),
    "audit.details": ("Details", "详情"),
    # refusal
    "refusal.statement": (
        "{name} chose not to consent to face recognition. No image of the face was captured, "
        "no face template was created and nothing biometric is stored. The alternative below "
        "is used instead, with no penalty of any kind.",
        "{name}选择不同意人脸识别。未拍摄任何面部图像，未生成人脸模板，也未保存任何生物识别信息。"
        "将改用下列替代方式，不会带来任何不利后果。",
    ),
    # withdrawal
    "withdrawal.statement": (
        "{name} withdrew consent to face recognition in person. The face templates were "
        "destroyed at that moment; they cannot be recovered and are no longer used.",
        "{name}本人到场撤回了人脸识别同意。人脸模板已于当时销毁，无法恢复，也不再使用。",
    ),
    "withdrawn_at": ("Withdrawn at", "撤回时间"),
    "withdrawn_by": ("Recorded by", "经办人"),
    "withdraw_reason": ("Reason given", "撤回原因"),
    "reason_none": ("No reason needed or given", "无需也未提供原因"),
    "templates_destroyed": ("Face templates destroyed", "已销毁的人脸模板数量"),
    "photos_destroyed": ("Photos destroyed", "已销毁的照片数量"),
    "section.consents_withdrawn": ("Consents withdrawn", "已撤回的同意"),
    "withdrawal.after": (
        "You may still ask for a copy of your records or for their complete erasure.",
        "您仍可以要求获取您的记录副本，或要求彻底删除这些记录。",
    ),
    # erasure
    "erasure.statement": (
        "All data held about {name} by {org} on this workstation was erased at the person's "
        "request. The table shows how many records of each kind existed before and after.",
        "应本人要求，{org}已删除本工作站上保存的关于{name}的全部数据。下表列出了删除前后各类记录的数量。",
    ),
    "erased_at": ("Erased at", "删除时间"),
    "erased_by": ("Erased by", "执行人"),
    "section.counts": ("Records before and after", "删除前后的记录数量"),
    "counts.kind": ("Kind of record", "记录类型"),
    "counts.before": ("Before", "删除前"),
    "counts.after": ("After", "删除后"),
    "count.people": ("Person record", "人员记录"),
    "count.persons": ("Person record", "人员记录"),
    "count.consents": ("Consent records", "同意记录"),
    "count.templates": ("Face templates", "人脸模板"),
    "count.photos": ("Photos", "照片"),
    "count.documents": ("Documents", "文件"),
    "count.signatures": ("Signatures", "签名"),
    "section.consents_erased": ("Consents covered", "涉及的同意记录"),
    "erasure.kept": (
        "A count of 0 after erasure means that nothing of that kind is left on the "
        "workstation. Keep this certificate: it is your proof that the erasure took place.",
        "删除后数量为 0，表示本工作站上已不再保存该类记录。请妥善保管本证明，它是删除已经执行的凭证。",
    ),
    # access report
    "access.intro": (
        "This report lists everything the workstation of {org} holds about {name}. Face "
        "templates are numbers that only the software can compare; they are counted here but "
        "not printed.",
        "本报告列出{org}的工作站保存的关于{name}的全部信息。人脸模板是只有软件才能比对的数字，"
        "此处只列出数量，不打印其内容。",
    ),
    "section.person": ("Personal details", "个人信息"),
    "created_at": ("Recorded since", "登记时间"),
    "last_interaction_at": ("Last interaction", "最近一次办理"),
    "section.biometrics": ("Biometric data held", "保存的生物识别数据"),
    "templates_held": ("Face templates held", "保存的人脸模板数量"),
    "templates_note": (
        "{count} face template(s) exist. Their values are not printed.",
        "共有 {count} 个人脸模板，其数值不予打印。",
    ),
    "photos_held": ("Photos held", "保存的照片数量"),
    "section.consents": ("Consents and refusals", "同意与拒绝记录"),
    "consents.none": ("No consent records.", "没有同意记录。"),
    "section.documents": ("Documents issued", "已出具的文件"),
    "documents.none": ("No documents.", "没有文件。"),
    "doc.kind": ("Kind", "类型"),
    "doc.created": ("Created", "创建时间"),
    "doc.file": ("File", "文件"),
    "kind.consent_form": ("Consent form", "同意书"),
    "kind.refusal_record": ("Refusal record", "拒绝记录"),
    "kind.withdrawal_receipt": ("Withdrawal receipt", "撤回回执"),
    "kind.erasure_certificate": ("Erasure certificate", "删除证明"),
    "kind.access_report": ("Access report", "查阅报告"),
    "kind.retention_notice": ("Retention notice", "保存期限告示"),
    "kind.paper_scan": ("Paper consent scan", "纸质同意书扫描件"),
    "kind.paper_consent_record": ("Paper consent record", "纸质同意书记录"),
    "templates_count": ("Templates", "模板数"),
    "photos_count": ("Photos", "照片数"),
    "paper_signed_on": ("Signed on paper on", "纸质签署日期"),
    # retention notice
    "notice.lead": (
        "{org} uses face recognition for the purpose below, only with the written consent of "
        "each person. Nobody has to take part: the alternative is always available.",
        "{org}仅在每个人书面同意的前提下，将人脸识别用于下列用途。任何人都可以不参加，替代方式始终可用。",
    ),
    "notice.retention": (
        "Face data is kept for {days} days from the day of signing and then deleted "
        "automatically, or earlier when the person withdraws.",
        "人脸数据自签署之日起保存{days}天，期满自动删除；本人撤回同意的，提前删除。",
    ),
    "notice.withdraw": (
        "To withdraw, see your data or have it erased, come to this desk in person. "
        "Withdrawing is as easy as consenting.",
        "如需撤回同意、查阅或删除您的数据，请本人到本服务台办理。撤回与同意一样简单。",
    ),
    "regulator": ("Complaints", "投诉渠道"),
    "section.full_text": ("Full text given to each person", "向每位当事人提供的告知全文"),
    # paper consent
    "paper.statement": (
        "{name} gave consent by signing a paper form on {date}. The signed paper was scanned "
        "and imported into ConsentDesk; the original scan is reproduced or attached below, "
        "unchanged.",
        "{name}于{date}在纸质表格上签字表示同意。该纸质文件经扫描后导入 ConsentDesk；"
        "原始扫描件在下方原样呈现或作为附件附上。",
    ),
    "imported_at": ("Imported at", "导入时间"),
    "imported_by": ("Imported by", "导入人"),
    "scan": ("Original scan", "原始扫描件"),
    "scan_sha256": ("Scan SHA-256", "扫描件 SHA-256"),
    "scan_type": ("Scan format", "扫描件格式"),
    "scan.attached": (
        "The original scan is a PDF. It is attached to this document unchanged as "
        "\"{filename}\" (open the attachments panel of your PDF viewer).",
        "原始扫描件为 PDF 文件，已原样作为附件“{filename}”附于本文件"
        "（请在 PDF 阅读器的附件面板中打开）。",
    ),
    "scan.page": (
        "Original scan, page {page} of {pages}",
        "原始扫描件，第 {page} 页，共 {pages} 页",
    ),
}


def label(language: Language, key: str, **values: object) -> str:
    """The label ``key`` in ``language``, with ``{name}``-style values filled in.

    Substitution is a single regex pass rather than ``str.format`` so that braces inside a
    person's name or a purpose title are printed as they are, never read as fields.
    """
    en, zh = LABELS[key]
    text = zh if language == "zh" else en

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _FIELD.sub(fill, text)
