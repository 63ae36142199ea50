"""The UI's own translation table (English / Simplified Chinese).

Why a dict and not Qt's .ts/.qm files: the Qt linguist tools are not part of PySide6-Essentials,
and one module that holds every visible string in both languages is easy to review side by side.

Two languages are in play at the same time: the *operator's* language (the whole UI, switchable
at any moment) and the *enrollee's* language (the disclosure, the decision, the signature and
capture prompts the person reads). :meth:`I18n.tr` gives the former, :meth:`I18n.text` any one.

Widgets do not re-read strings themselves: they :meth:`I18n.bind` a setter to a key once, and a
language switch re-applies every binding. A binding whose widget was deleted is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.models import Language

# key: (English, Simplified Chinese)
STRINGS: dict[str, tuple[str, str]] = {
    # --- application ---------------------------------------------------------------------------
    "app.title": ("ConsentDesk", "ConsentDesk 同意服务台"),
    "app.lock": ("Lock (Ctrl+L)", "锁定 (Ctrl+L)"),
    "app.my_password": ("My password…", "我的密码…"),
    "app.language": ("中文", "English"),
    "app.language.name": ("Switch language", "切换语言"),
    "app.signed_in": ("Signed in: {user} ({role})", "已登录：{user}（{role}）"),
    "role.admin": ("administrator", "管理员"),
    "role.operator": ("operator", "操作员"),
    "tab.enroll": ("Enroll", "登记"),
    "tab.registry": ("Registry", "登记册"),
    "tab.withdraw": ("Withdrawal desk", "撤回服务台"),
    "tab.settings": ("Settings", "设置"),
    "common.ok": ("OK", "确定"),
    "common.cancel": ("Cancel", "取消"),
    "common.close": ("Close", "关闭"),
    "common.back": ("Back", "上一步"),
    "common.next": ("Next", "下一步"),
    "common.retry": ("Retry", "重试"),
    "common.save": ("Save", "保存"),
    "common.busy": ("Working…", "处理中…"),
    "common.error": ("Something went wrong", "出现问题"),
    "common.unexpected": (
        "An unexpected error occurred. Nothing was changed. Please try again.",
        "发生意外错误，未做任何更改。请重试。",
    ),
    "common.yes": ("Yes", "是"),
    "common.no": ("No", "否"),
    "common.none": ("—", "—"),
    # --- unlock / init -------------------------------------------------------------------------
    "unlock.title": ("Sign in to ConsentDesk", "登录 ConsentDesk"),
    "unlock.subtitle": (
        "Each staff member signs in with their own account.",
        "每位工作人员使用自己的账户登录。",
    ),
    "unlock.username": ("Username", "用户名"),
    "unlock.password": ("Password", "密码"),
    "unlock.submit": ("Sign in", "登录"),
    "unlock.recovery": ("Use recovery code…", "使用恢复码…"),
    "unlock.recovery.prompt": ("Enter the recovery code:", "请输入恢复码："),
    "unlock.wait": (
        "Please wait {seconds} s before the next attempt.",
        "请等待 {seconds} 秒后再试。",
    ),
    "unlock.recovery.wrong": ("That recovery code is not correct.", "恢复码不正确。"),
    "unlock.recovered": (
        "Signed in with the recovery code as {user}. Set a new password now (Settings → Staff "
        "accounts) and print a new recovery code.",
        "已使用恢复码以 {user} 身份登录。请立即设置新密码（设置 → 员工账户）并打印新的恢复码。",
    ),
    "unlock.working": ("Checking…", "正在验证…"),
    "unlock.missing": ("Enter your username and password.", "请输入用户名和密码。"),
    "init.title": ("Set up this workstation", "设置此工作站"),
    "init.subtitle": (
        "No vault exists yet. Create one: the organisation that is the data controller and its "
        "first administrator.",
        "尚未创建数据库。请创建：作为数据控制者的组织及其首位管理员。",
    ),
    "init.org": ("Organisation name", "组织名称"),
    "init.admin": ("Administrator username", "管理员用户名"),
    "init.password": ("Password (8+ characters)", "密码（至少 8 个字符）"),
    "init.password2": ("Repeat password", "再次输入密码"),
    "init.submit": ("Create vault", "创建数据库"),
    "init.mismatch": ("The two passwords differ.", "两次输入的密码不一致。"),
    "init.short": ("The password needs at least 8 characters.", "密码至少需要 8 个字符。"),
    "init.fill": ("Fill in every field.", "请填写所有字段。"),
    "password.current": ("Current password", "当前密码"),
    "password.current_needed": (
        "Type your current password first.",
        "请先输入当前密码。",
    ),
    "recovery.title": ("Recovery code — shown only once", "恢复码 — 仅显示一次"),
    "recovery.body": (
        "Write this code down or print it and keep it locked away. It opens the vault if every "
        "password is lost. It will not be shown again.",
        "请抄下或打印此恢复码并妥善锁存。所有密码丢失时可用它打开数据库。此码不会再次显示。",
    ),
    "recovery.print": ("Print recovery sheet…", "打印恢复码页…"),
    "recovery.done": ("I have stored it safely", "我已妥善保存"),
    "recovery.copy": ("Copy", "复制"),
    "recovery.copied": (
        "Copied. The clipboard is cleared again in one minute or when this window closes.",
        "已复制。剪贴板将在一分钟后或关闭此窗口时清除。",
    ),
    "recovery.replaces": (
        "This code replaces the previous recovery code, which stops working now. Destroy the "
        "old sheet.",
        "此恢复码取代之前的恢复码，旧恢复码即刻失效。请销毁旧的恢复码页。",
    ),
    "recovery.confirm_close": (
        "This code will never be shown again. Have you printed it or written it down and "
        "checked it?",
        "此恢复码不会再次显示。您是否已打印或抄下并核对无误？",
    ),
    "recovery.sheet": (
        "ConsentDesk recovery code\n\nOrganisation: {org}\nCreated: {date}\n\n{code}\n\n"
        "What this is: the only way back into the vault when every administrator password is "
        "lost.\n\nHow to use it: on the sign-in screen choose \"Use recovery code…\", type the "
        "code exactly as printed (the dashes are optional), then set a new administrator "
        "password and print a new recovery code at once; this one stops working then.\n\n"
        "Where to keep it: locked away, apart from the workstation (a safe or a sealed envelope "
        "held by the data protection officer). Anyone holding this sheet can open the vault and "
        "every person's data in it. Do not photograph it or store it on a computer.\n\n"
        "If it is lost or seen by someone else: an administrator makes a new code at once "
        "(Settings > New recovery code…); the old one then stops working.",
        "ConsentDesk 恢复码\n\n组织：{org}\n创建日期：{date}\n\n{code}\n\n"
        "这是什么：所有管理员密码丢失时，重新进入数据库的唯一方式。\n\n"
        "如何使用：在登录界面选择“使用恢复码…”，按打印内容准确输入（连字符可省略），"
        "随后立即设置新的管理员密码并打印新的恢复码；此码届时失效。\n\n"
        "保存方式：锁存于工作站以外的地方（保险柜，或由个人信息保护负责人保管的密封信封）。"
        "持有此页者可打开数据库及其中每个人的数据。请勿拍照或存放在电脑中。\n\n"
        "如遗失或被他人看到：管理员应立即生成新的恢复码（设置 > 生成新恢复码…），旧码随即失效。",
    ),
    # --- enrollment wizard ---------------------------------------------------------------------
    "wiz.start": ("Start a new enrollment", "开始新的登记"),
    "wiz.start.hint": (
        "Enrollment needs the person's informed, written consent. They may refuse; refusing "
        "has no consequence beyond the alternative offered.",
        "登记需要本人知情的书面同意。本人可以拒绝；拒绝除采用替代方式外不会有任何后果。",
    ),
    "wiz.cancel": ("Cancel enrollment", "取消登记"),
    "wiz.cancel.confirm": (
        "Cancel this enrollment? Nothing will be stored.",
        "取消此次登记？不会保存任何内容。",
    ),
    "wiz.step": ("Step {n} of {total}: {name}", "第 {n} 步，共 {total} 步：{name}"),
    "wiz.details": ("Person", "个人信息"),
    "wiz.disclosure": ("Information", "告知内容"),
    "wiz.decision": ("Decision", "决定"),
    "wiz.signature": ("Signature", "签名"),
    "wiz.capture": ("Face capture", "人脸采集"),
    "wiz.review": ("Review", "核对"),
    "wiz.done": ("Done", "完成"),
    "details.name": ("Full name", "姓名"),
    "details.reference": (
        "Reference (unit, staff number…) — optional",
        "编号（单元、工号等）— 可选",
    ),
    "details.dob": ("Date of birth — optional", "出生日期 — 可选"),
    "details.dob.placeholder": (
        "YYYY-MM-DD, e.g. 1988-04-12 (leave empty if not given)",
        "年-月-日，例如 1988-04-12（未提供则留空）",
    ),
    "details.dob.format": (
        "The date of birth is not a date: type it as YYYY-MM-DD, e.g. 1988-04-12.",
        "出生日期无效：请按 年-月-日 格式输入，例如 1988-04-12。",
    ),
    "details.dob.future": (
        "The date of birth is in the future: check the year.",
        "出生日期晚于今天：请检查年份。",
    ),
    "details.dob.too_old": (
        "The date of birth is before 1900: check the year.",
        "出生日期早于 1900 年：请检查年份。",
    ),
    "details.language": ("Language the person reads", "本人阅读的语言"),
    "details.purpose": ("Purpose", "目的"),
    "details.no_purpose": (
        "No purpose is set up yet. An administrator must add one in Settings.",
        "尚未设置任何目的。管理员需在“设置”中添加。",
    ),
    "details.similar": (
        "Already in the registry with a similar name: {names}. Check it is not the same person.",
        "登记册中已有相似姓名：{names}。请确认不是同一人。",
    ),
    "details.same_person": ("Is this the same person?", "是否为同一人？"),
    "details.new_person": ("No — a new person", "否 — 新人员"),
    "details.is_same": ("Yes — the same person as {who}", "是 — 与 {who} 为同一人"),
    "details.need_name": ("Enter the person's name.", "请输入本人姓名。"),
    "details.minor": (
        "Under {age}: a parent or guardian must also sign.",
        "未满 {age} 岁：需要父母或监护人一同签名。",
    ),
    "decision.consent": ("I consent", "我同意"),
    "decision.refuse": ("I do not consent", "我不同意"),
    "decision.question": (
        "Do you consent to the use of your face for this purpose?",
        "您是否同意为此目的使用您的面部信息？",
    ),
    "decision.alternative": ("If you do not consent: {alt}", "如您不同意：{alt}"),
    "decision.free": (
        "Either answer is fine. You can withdraw consent later, in person, at any time.",
        "两种回答都可以。您之后可随时亲自前来撤回同意。",
    ),
    "sig.prompt.consent": (
        "Please sign below to confirm your consent.",
        "请在下方签名以确认您的同意。",
    ),
    "sig.prompt.refuse": (
        "Please sign below to confirm you do not consent (optional).",
        "请在下方签名以确认您不同意（可选）。",
    ),
    "sig.clear": ("Clear and sign again", "清除并重新签名"),
    "sig.pad": ("Signature pad", "签名板"),
    "sig.guardian": ("Parent or guardian", "父母或监护人"),
    "sig.guardian.name": ("Guardian's full name", "监护人姓名"),
    "sig.guardian.pad": ("Guardian's signature pad", "监护人签名板"),
    "sig.need": ("A signature is needed to continue.", "需要签名才能继续。"),
    "sig.need_guardian": (
        "The guardian's name and signature are needed.",
        "需要监护人的姓名和签名。",
    ),
    "sig.need_guardian_name": ("The guardian's name is needed.", "需要填写监护人的姓名。"),
    "sig.guardian.paper": (
        "The parent or guardian signed the printed form as well: enter their name.",
        "父母或监护人也已在纸质表格上签名：请填写其姓名。",
    ),
    "sig.paper": (
        "The person signed the printed form instead (attach its scan)",
        "本人改为在纸质表格上签名（附上扫描件）",
    ),
    "sig.paper.date": ("Signed on", "签署日期"),
    "sig.paper.scan": ("Choose scan…", "选择扫描件…"),
    "sig.paper.need": ("Attach the scan of the signed form.", "请附上已签署表格的扫描件。"),
    "sig.paper.filter": ("Scans (*.pdf *.jpg *.jpeg *.png)", "扫描件 (*.pdf *.jpg *.jpeg *.png)"),
    "review.paper": ("Signed on paper", "纸质签署"),
    "sig.record_refusal": ("Record refusal", "记录拒绝"),
    "cap.title": ("Look at the camera", "请看向摄像头"),
    "cap.manual": ("Capture now (operator)", "立即采集（操作员）"),
    "cap.manual.hint": (
        "Manual capture is recorded as operator-attested: the liveness check is marked as not "
        "passed.",
        "手动采集将记录为操作员确认：活体检测标记为未通过。",
    ),
    "cap.photo": ("Use a photo file…", "使用照片文件…"),
    "cap.progress": ("Captured {n} of {total}", "已采集 {n} / {total}"),
    "cap.no_camera": (
        "No camera is available (missing, busy or unplugged).",
        "没有可用的摄像头（未连接、被占用或已拔出）。",
    ),
    "cap.starting": ("Starting the camera…", "正在启动摄像头…"),
    "cap.no_face": (
        "No face found in that photo. Choose another one.",
        "照片中未找到人脸，请另选一张。",
    ),
    "cap.many_faces": (
        "That photo shows more than one face. Choose a photo of the person alone.",
        "照片中有多张人脸，请选择仅有本人的照片。",
    ),
    "bioerr.no_face": ("No face was found in the picture.", "图片中未找到人脸。"),
    "bioerr.several_faces": (
        "More than one face was found; use a picture of the person alone.",
        "找到多张人脸；请使用仅有本人的图片。",
    ),
    "bioerr.image_too_small": ("The picture is too small.", "图片太小。"),
    "bioerr.image_error": (
        "The picture could not be read (damaged or unsupported file).",
        "无法读取图片（文件损坏或格式不支持）。",
    ),
    "bioerr.model_missing": (
        "Face model files were not found; face capture is not available.",
        "未找到人脸模型文件；无法进行人脸采集。",
    ),
    "bioerr.model_corrupt": (
        "Face model files could not be loaded; face capture is not available.",
        "无法加载人脸模型文件；无法进行人脸采集。",
    ),
    "bioerr.camera_unavailable": (
        "No camera is available (missing, busy or unplugged).",
        "没有可用的摄像头（未连接、被占用或已拔出）。",
    ),
    "bioerr.engine_closed": (
        "The face engine has stopped; sign in again.",
        "人脸引擎已停止；请重新登录。",
    ),
    "cap.complete": ("Capture complete.", "采集完成。"),
    "cap.preview": ("Camera preview", "摄像头预览"),
    "cap.photo_filter": ("Images (*.jpg *.jpeg *.png *.bmp)", "图片 (*.jpg *.jpeg *.png *.bmp)"),
    "hint.ok": ("Good — hold still", "很好 — 请保持不动"),
    "hint.no_face": ("No face found: look at the camera.", "未检测到人脸：请看向摄像头。"),
    "hint.one_person_only": (
        "Only one person in front of the camera, please.",
        "摄像头前只能有一个人。",
    ),
    "hint.move_closer": ("Move closer to the camera.", "请靠近摄像头。"),
    "hint.move_back": ("Move back a little.", "请稍微后退。"),
    "hint.center_face": ("Move so your whole face is in the picture.", "请让整个面部都在画面中。"),
    "hint.hold_still": ("Hold still (the picture is blurred).", "请保持不动（画面模糊）。"),
    "hint.more_light": ("More light on the face, please.", "面部光线不足，请增加光线。"),
    "hint.less_light": (
        "Too bright: avoid direct light on the face.",
        "太亮：请避免强光直射面部。",
    ),
    "hint.even_light": (
        "Avoid strong shadows or glare on the face.",
        "请避免面部有强烈阴影或反光。",
    ),
    "hint.face_the_camera": ("Face the camera.", "请正对摄像头。"),
    "hint.level_chin": ("Keep your chin level.", "请保持下巴水平。"),
    "hint.straighten_head": ("Hold your head straight.", "请保持头部端正。"),
    "hint.open_eyes": ("Open your eyes.", "请睁开眼睛。"),
    "hint.close_mouth": ("Close your mouth.", "请闭上嘴。"),
    "check.face_count": ("One face", "单人"),
    "check.face_size": ("Distance", "距离"),
    "check.framing": ("Framing", "构图"),
    "check.sharpness": ("Sharpness", "清晰度"),
    "check.exposure": ("Light", "光线"),
    "check.clipping": ("Even light", "光线均匀"),
    "check.yaw": ("Facing", "正对"),
    "check.pitch": ("Chin level", "下巴水平"),
    "check.roll": ("Head straight", "头部端正"),
    "check.eyes_open": ("Eyes open", "睁眼"),
    "check.mouth_closed": ("Mouth closed", "闭嘴"),
    "live.blink": ("Please blink", "请眨眼"),
    "live.turn_left": ("Turn your head slightly to the left", "请将头稍微转向左侧"),
    "live.turn_right": ("Turn your head slightly to the right", "请将头稍微转向右侧"),
    "live.reason.no_stable_face": (
        "No steady face facing the camera was seen.",
        "未检测到稳定正对摄像头的人脸。",
    ),
    "live.reason.timeout": ("The prompt was not followed in time.", "未能及时完成提示动作。"),
    "live.reason.several_faces": ("More than one face was seen.", "检测到多张人脸。"),
    "live.reason.face_lost": ("The face left the picture.", "人脸离开了画面。"),
    "live.reason.track_broken": (
        "The picture jumped (a different source?).",
        "画面跳变（可能换了来源）。",
    ),
    "live.reason.identity_changed": (
        "The face changed during the check.",
        "检测过程中人脸发生了变化。",
    ),
    "live.reason.identity_mismatch": (
        "The face at the end did not match the start.",
        "结束时的人脸与开始时不一致。",
    ),
    "live.retry_hint": (
        "Operator: press Retry to try again, or Capture now (recorded as not passed).",
        "操作员：按“重试”再试一次，或按“立即采集”（记录为未通过）。",
    ),
    "live.look_at_camera": ("Look straight at the camera", "请正视摄像头"),
    "live.hold_still": ("Hold still", "请保持不动"),
    "live.step": ("Liveness check: step {n} of {total}", "活体检测：第 {n} 步，共 {total} 步"),
    "live.passed": ("Liveness check passed", "活体检测通过"),
    "live.failed": ("Liveness check not passed", "活体检测未通过"),
    "review.title": ("Check before saving", "保存前核对"),
    "review.name": ("Name", "姓名"),
    "review.reference": ("Reference", "编号"),
    "review.purpose": ("Purpose", "目的"),
    "review.decision": ("Decision", "决定"),
    "review.language": ("Language", "语言"),
    "review.templates": ("Face samples", "人脸样本"),
    "review.liveness": ("Liveness", "活体检测"),
    "review.guardian": ("Guardian", "监护人"),
    "review.photo": (
        "The person agrees that a photo is kept as well (this purpose keeps photos)",
        "本人同意同时保留照片（此目的会保留照片）",
    ),
    "review.checking": ("Checking the registry for duplicates…", "正在检查登记册中的重复项…"),
    "review.no_warnings": ("No duplicates or lookalikes found.", "未发现重复或相似人员。"),
    "review.dup": (
        "This face matches {name} already in the registry (distance {d:.2f}). It may be the "
        "same person.",
        "此人脸与登记册中的 {name} 匹配（距离 {d:.2f}），可能是同一人。",
    ),
    "review.look": (
        "This face looks similar to {name} (distance {d:.2f}). Recognition may confuse them.",
        "此人脸与 {name} 相似（距离 {d:.2f}），识别时可能混淆。",
    ),
    "review.ack": ("I have checked this warning", "我已核实此警告"),
    "review.save.consent": ("Save consent", "保存同意书"),
    "review.save.refusal": ("Save refusal", "保存拒绝记录"),
    "review.need_ack": ("Acknowledge every warning first.", "请先确认所有警告。"),
    "review.saving": ("Saving…", "正在保存…"),
    "done.consent": (
        "Consent recorded. Hand the person their copy.",
        "已记录同意。请将副本交给本人。",
    ),
    "done.refusal": (
        "Refusal recorded. Hand the person their copy.",
        "已记录拒绝。请将副本交给本人。",
    ),
    "done.new": ("Next person", "下一位"),
    "decision.granted": ("Consented", "已同意"),
    "decision.refused": ("Refused", "已拒绝"),
    # --- documents ------------------------------------------------------------------------------
    "doc.save": ("Save a copy…", "另存副本…"),
    "doc.print": ("Print…", "打印…"),
    "doc.no_preview": (
        "Preview is not available on this workstation. Save or print the document.",
        "此工作站无法预览。请保存或打印文件。",
    ),
    "doc.rendering": ("Preparing the document…", "正在准备文件…"),
    "doc.saved": ("Saved.", "已保存。"),
    "doc.page": ("Page {n} of {total}", "第 {n} 页，共 {total} 页"),
    "doc.open": ("Open document", "打开文件"),
    "doc.filter": ("PDF documents (*.pdf)", "PDF 文件 (*.pdf)"),
    "kind.consent_form": ("Consent form", "同意书"),
    "kind.refusal_record": ("Refusal record", "拒绝记录"),
    "kind.withdrawal_receipt": ("Withdrawal receipt", "撤回回执"),
    "kind.erasure_certificate": ("Erasure certificate", "删除证明"),
    "kind.access_report": ("Access report", "查阅报告"),
    "kind.retention_notice": ("Retention notice", "保存期限通知"),
    "kind.paper_scan": ("Paper scan", "纸质扫描件"),
    # --- registry -------------------------------------------------------------------------------
    "reg.search": ("Search by name or reference", "按姓名或编号搜索"),
    "reg.status": ("Status", "状态"),
    "reg.purpose": ("Purpose", "目的"),
    "reg.any": ("Any", "全部"),
    "reg.count": ("{shown} of {total} people", "{shown} / {total} 人"),
    "reg.col.name": ("Name", "姓名"),
    "reg.col.reference": ("Reference", "编号"),
    "reg.col.status": ("Status", "状态"),
    "reg.col.last": ("Last visit", "最近到访"),
    "reg.col.language": ("Language", "语言"),
    "reg.open": ("Open person", "打开个人记录"),
    "reg.table": ("People in the registry", "登记册人员"),
    "status.active": ("Active", "有效"),
    "status.withdrawn": ("Withdrawn", "已撤回"),
    "status.expired": ("Expired", "已过期"),
    "status.refused": ("Refused", "已拒绝"),
    "person.title": ("Person record", "个人记录"),
    "person.consents": ("Consents", "同意记录"),
    "person.documents": ("Documents", "文件"),
    "person.audit": ("Audit trail", "审计记录"),
    "person.col.purpose": ("Purpose", "目的"),
    "person.col.decision": ("Decision", "决定"),
    "person.col.status": ("Status", "状态"),
    "person.col.signed": ("Signed", "签署时间"),
    "person.col.expires": ("Expires", "到期"),
    "person.col.kind": ("Document", "文件"),
    "person.col.created": ("Created", "创建时间"),
    "person.col.at": ("When", "时间"),
    "person.col.actor": ("Staff", "工作人员"),
    "person.col.action": ("Action", "操作"),
    "person.access_report": ("Access report (all data held)…", "查阅报告（所持全部数据）…"),
    "set.doc_verify": ("Check a document…", "核验文件…"),
    "set.doc_verify.ok": (
        "Signature valid; the vault holds this exact document ({kind}).",
        "签名有效；数据库中存有此文件原件（{kind}）。",
    ),
    "set.doc_verify.erasure": (
        "Signature valid; this is an erasure certificate issued here.",
        "签名有效；这是本工作站签发的删除证明。",
    ),
    "set.doc_verify.bad": ("Not confirmed: {problems}", "未能确认：{problems}"),
    "set.doc_verify.unknown": (
        "Signature {valid}, but this vault does not hold the document.",
        "签名{valid}，但数据库中没有此文件。",
    ),
    "set.valid": ("valid", "有效"),
    "set.invalid": ("invalid", "无效"),
    "set.recovery": ("New recovery code…", "生成新恢复码…"),
    "set.recovery.confirm": (
        "Make a new recovery code? The current code stops working at once: destroy its sheet "
        "after printing the new one.",
        "生成新的恢复码？当前恢复码将立即失效：打印新码后请销毁旧的恢复码页。",
    ),
    "audit.person.create": ("Person recorded", "创建个人记录"),
    "audit.consent.grant": ("Consent given", "给予同意"),
    "audit.consent.refuse": ("Consent refused", "拒绝同意"),
    "audit.consent.withdraw": ("Consent withdrawn, templates deleted", "撤回同意并删除模板"),
    "audit.consent.expire": ("Consent expired", "同意已过期"),
    "audit.document.create": ("Document issued", "签发文件"),
    "audit.person.erase": ("All data erased", "删除全部数据"),
    "audit.person.access_export": ("Access report made", "生成查阅报告"),
    "person.to_withdrawal": ("Withdrawal desk…", "撤回服务台…"),
    "person.reprint": ("Show / print document", "显示 / 打印文件"),
    # --- withdrawal -----------------------------------------------------------------------------
    "wd.title": ("Withdraw consent", "撤回同意"),
    "wd.intro": (
        "Find the person the way they prefer: by name or reference, or by their face.",
        "按本人意愿查找：按姓名或编号，或通过面部识别。",
    ),
    "wd.by_name": ("Find by name or reference", "按姓名或编号查找"),
    "wd.by_face": ("Find by face", "通过面部查找"),
    "wd.face.photo": ("Identify from a photo file…", "从照片文件识别…"),
    "wd.face.capture": ("Identify from camera", "通过摄像头识别"),
    "wd.face.stop": ("Stop camera", "停止摄像头"),
    "wd.face.timeout": (
        "No face was found in {seconds} seconds, so the camera stopped. Try again, use a photo, "
        "or search by name.",
        "{seconds} 秒内未找到人脸，摄像头已停止。请重试、使用照片或按姓名查找。",
    ),
    "wd.face.none": ("No enrolled person matches this face.", "没有已登记人员与此人脸匹配。"),
    "wd.results": ("Matching people", "匹配的人员"),
    "wd.selected": ("Selected: {name} {ref}", "已选择：{name} {ref}"),
    "wd.reason": ("Reason (optional, the person's own words)", "原因（可选，本人原话）"),
    "wd.withdraw": ("Withdraw consent and delete face data", "撤回同意并删除面部数据"),
    "wd.confirm": (
        "Withdraw every active consent of {name} and delete their face templates now?",
        "立即撤回 {name} 的所有有效同意并删除其面部模板？",
    ),
    "wd.done": (
        "Consent withdrawn; {n} face templates deleted. Hand over the receipt.",
        "已撤回同意；已删除 {n} 个面部模板。请交付回执。",
    ),
    "wd.erase": ("Erase all data (administrator)…", "删除全部数据（管理员）…"),
    "wd.erase.title": ("Erase everything about this person", "删除此人的全部数据"),
    "wd.erase.body": (
        "This destroys the person's record, consents, documents and face data. It cannot be "
        "undone. Type ERASE to confirm.",
        "此操作将销毁此人的记录、同意书、文件和面部数据，且无法撤销。输入 ERASE 以确认。",
    ),
    "wd.erase.word": ("ERASE", "ERASE"),
    "wd.erase.done": ("Erased. Hand over the erasure certificate.", "已删除。请交付删除证明。"),
    "wd.nothing": ("Select a person first.", "请先选择人员。"),
    "wd.no_active": ("This person has no active consent.", "此人没有有效的同意。"),
    # --- settings -------------------------------------------------------------------------------
    "set.org": ("Organisation", "组织"),
    "set.org.name": ("Name", "名称"),
    "set.purposes": ("Purposes", "目的"),
    "set.purpose.add": ("Add purpose…", "添加目的…"),
    "set.purpose.edit": ("Edit purpose…", "编辑目的…"),
    "set.purpose.title": ("Title", "标题"),
    "set.purpose.controller": ("Data controller", "数据控制者"),
    "set.purpose.contact": ("Contact", "联系方式"),
    "set.purpose.retention": ("Retention (days)", "保存期限（天）"),
    "set.purpose.alternative": ("Alternative if refused", "拒绝时的替代方式"),
    "set.purpose.description": ("Description", "说明"),
    "set.purpose.recipients": ("Recipients", "接收方"),
    "set.purpose.regulator": ("Regulator", "监管机构"),
    "set.purpose.keep_photos": ("Keep photos (not only templates)", "保留照片（不仅模板）"),
    "set.purpose.version": ("v{v}", "第 {v} 版"),
    "set.camera": ("Camera", "摄像头"),
    "set.notice.language": ("Language of the retention notice", "保存期限通知的语言"),
    "set.inactivity": ("Erase people not seen for (days)", "超过此天数未到访即删除（天）"),
    "details.minor.age": ("Guardian needed under age", "未满此年龄需监护人"),
    "set.camera.index": ("Camera number", "摄像头编号"),
    "set.camera.preview": ("Preview", "预览"),
    "set.camera.stop": ("Stop preview", "停止预览"),
    "set.thresholds": ("Recognition", "识别"),
    "set.match": ("Match threshold", "匹配阈值"),
    "set.lookalike": ("Lookalike margin", "相似度余量"),
    "set.import": ("Import people (CSV)…", "批量导入（CSV）…"),
    "set.import.pick": (
        "Select the purpose the people signed for on paper first.",
        "请先在上方选择这些人在纸质同意书上签署的目的。",
    ),
    "set.import.progress": ("Importing row {done} of {total}…", "正在导入第 {done}/{total} 行…"),
    "set.import.done": ("Imported {n} people; skipped {s} rows.", "已导入 {n} 人；跳过 {s} 行。"),
    "set.import.row": ("Row {row}: {reason}", "第 {row} 行：{reason}"),
    "set.accuracy": (
        "Templates come from dlib's ResNet model, which reports 99.38% accuracy on the LFW "
        "benchmark at its default threshold of 0.6 (lower = stricter). It is less accurate for "
        "children, across large age gaps and for some groups under-represented in its training "
        "data, and twins or close relatives can match: keep the lookalike warning on. The "
        "liveness check resists printed photos and phone screens, not a skilled video or "
        "injection attack, and is not certified to ISO/IEC 30107-3.",
        "面部模板由 dlib 的 ResNet 模型生成。该模型在默认阈值 0.6（数值越小越严格）下于 LFW 基准上"
        "报告的准确率为 99.38%。它对儿童、年龄跨度大的情况以及训练数据中代表性不足的人群准确率较低，"
        "双胞胎或近亲可能被误认为同一人：请保留相似人员提醒。活体检测可抵御打印照片和手机屏幕，"
        "但无法抵御高水平的视频或注入攻击，也未通过 ISO/IEC 30107-3 认证。",
    ),
    "set.autolock": ("Auto-lock after (minutes)", "自动锁定（分钟）"),
    "set.apply": ("Apply", "应用"),
    "set.staff": ("Staff accounts", "员工账户"),
    "set.staff.add": ("Add account…", "添加账户…"),
    "set.staff.remove": ("Remove account", "删除账户"),
    "set.staff.password": ("Change password…", "修改密码…"),
    "set.staff.role": ("Role", "角色"),
    "set.maintenance": ("Maintenance", "维护"),
    "set.backup": ("Back up the vault…", "备份数据库…"),
    "set.verify": ("Verify audit log", "验证审计日志"),
    "set.purge": ("Purge expired consents", "清除过期同意"),
    "set.notice": ("Export retention notice…", "导出保存期限通知…"),
    "set.verify.ok": ("Audit log intact: {n} entries.", "审计日志完整：{n} 条。"),
    "set.verify.bad": ("Audit log problems: {problems}", "审计日志有问题：{problems}"),
    "set.purge.done": (
        "{c} consents expired, {p} people erased, {t} templates deleted.",
        "{c} 份同意已过期，{p} 人已删除，{t} 个模板已删除。",
    ),
    "set.backup.done": ("Backup written.", "备份已写入。"),
    "set.saved": ("Saved.", "已保存。"),
    "set.stats": (
        "{people} people · {active} active consents · {templates} templates · {staff} staff",
        "{people} 人 · {active} 份有效同意 · {templates} 个模板 · {staff} 名员工",
    ),
    "set.admin_only": ("Only administrators can change settings.", "只有管理员可以修改设置。"),
    "set.org.rename": ("Rename", "更改名称"),
    "set.org.hint": (
        "Documents issued from now on carry the new name; documents already issued keep theirs.",
        "此后签发的文件将使用新名称；已签发的文件保持原名称。",
    ),
    "set.org.renamed": ("Organisation renamed.", "组织名称已更改。"),
    # --- core errors, keyed by ConsentDeskError.code (params formatted in; see ui.dialogs) ------
    # Codes a raise site shares with many different sentences carry the core's English
    # sentence as {detail}; an unknown code shows str(e).
    "err.error": ("{detail}", "出现问题：{detail}"),
    "err.vault_error": ("{detail}", "数据库出现问题：{detail}"),
    "err.auth_error": ("{detail}", "登录被拒绝：{detail}"),
    "err.invalid_input": ("{detail}", "输入无效：{detail}"),
    "err.not_found": ("{detail}", "未找到：{detail}"),
    "err.locked": ("The vault is locked. Sign in again.", "数据库已锁定，请重新登录。"),
    "err.vault_not_found": (
        "No vault was found. Set up this workstation first.",
        "未找到数据库。请先设置此工作站。",
    ),
    "err.vault_exists": ("A vault already exists here.", "此处已存在数据库。"),
    "err.vault_corrupt": (
        "The vault or backup file is damaged, or was changed outside ConsentDesk. Restore the "
        "latest backup.",
        "数据库或备份文件已损坏，或在 ConsentDesk 之外被修改过。请恢复最近的备份。",
    ),
    "err.keyslot_damaged": (
        "The keyslot file is missing or damaged, so the vault cannot be unlocked. Restore "
        "keyslots.json from a backup.",
        "密钥槽文件缺失或已损坏，无法解锁数据库。请从备份中恢复 keyslots.json。",
    ),
    "err.wrong_password": ("Wrong username or password.", "用户名或密码错误。"),
    "err.locked_out": ("Too many failed sign-ins.", "登录失败次数过多。"),
    "err.admin_only": ("Only an administrator can do this.", "只有管理员可以执行此操作。"),
    "err.liveness_reason_required": (
        "Say why the liveness check was skipped (at least {min} characters).",
        "请说明跳过活体检测的原因（至少 {min} 个字符）。",
    ),
    "err.liveness_approval_needed": (
        "Skipping the liveness check needs an administrator's approval.",
        "跳过活体检测需要管理员批准。",
    ),
    "err.liveness_approval_refused": (
        "Only an administrator's own name and password can approve skipping the liveness check.",
        "只有管理员本人的用户名和密码才能批准跳过活体检测。",
    ),
    "review.captured": ("Captured", "已采集"),
    "review.skip_reason": ("Reason given: {reason}", "原因：{reason}"),
    "live.method.operator-attested": ("captured by the operator", "由操作员采集"),
    "live.method.photo-file": ("from a photo file", "来自照片文件"),
    "cap.skip.title": ("Skip the liveness check", "跳过活体检测"),
    "cap.skip.reason": (
        "Why is the liveness check skipped? This is printed on the consent form.",
        "为什么跳过活体检测？此原因将打印在同意书上。",
    ),
    "cap.skip.admin": (
        "An administrator must approve: administrator's user name",
        "需要管理员批准：管理员用户名",
    ),
    "err.current_password_needed": (
        "Changing your own password needs your current password.",
        "修改自己的密码需要输入当前密码。",
    ),
    "err.current_password_wrong": (
        "The current password is not correct.",
        "当前密码不正确。",
    ),
    "err.storage_full": (
        "Writing failed: the disk may be full or the file too large. Nothing already saved "
        "was lost.",
        "写入失败：磁盘可能已满或文件过大。已保存的内容没有丢失。",
    ),
    "err.required": ("The {field} is required.", "{field}为必填项。"),
    "err.not_text": ("The {field} must be text.", "{field}必须是文本。"),
    "err.nul_character": (
        "The {field} contains a NUL character, which cannot be stored.",
        "{field}包含无法保存的空字符（NUL）。",
    ),
    "err.too_long": (
        "The {field} is too long (at most {limit} characters).",
        "{field}过长（最多 {limit} 个字符）。",
    ),
    "err.signature_unusable": (
        "The {field} is not usable. Clear it and sign again.",
        "{field}无法使用。请清除后重新签名。",
    ),
    "err.password_short": ("A password needs at least 8 characters.", "密码至少需要 8 个字符。"),
    "err.username_taken": ("That username is already taken.", "该用户名已被使用。"),
    "err.no_active_consent": (
        "This person has no active consent to withdraw.",
        "此人没有可撤回的有效同意。",
    ),
    "err.no_template": (
        "No face template was captured; capture the face first.",
        "尚未采集到人脸模板；请先采集人脸。",
    ),
    "err.scan_required": (
        "A paper consent needs the scan of the signed form.",
        "纸质同意书需要附上已签署表格的扫描件。",
    ),
    "err.person_not_found": (
        "No such person (they may have been erased).",
        "没有此人（可能已被删除）。",
    ),
    "err.guardian_required": (
        "This person is under {age}: a parent or guardian must give their name and sign as well.",
        "此人未满 {age} 岁：父母或监护人也须填写姓名并签名。",
    ),
    "err.disclosure_changed": (
        "The information text changed since it was shown (the purpose was edited). Show the "
        "current text to the person again.",
        "告知内容在展示后已更改（目的已被编辑）。请重新向本人展示当前内容。",
    ),
    "err.photo_not_allowed": (
        "This purpose does not keep photos, or the person did not agree to a photo being kept.",
        "此目的不保留照片，或本人未同意保留照片。",
    ),
    "err.warnings_unacknowledged": (
        "Possible {kinds} found: check and acknowledge each warning first.",
        "发现可能的{kinds}：请先核实并确认每条警告。",
    ),
    "err.already_consented": (
        "This person already has an active consent for this purpose.",
        "此人已有此目的的有效同意。",
    ),
    # field names in core errors (params["field"]), and the kinds of duplicate warnings
    "field.name": ("name", "姓名"),
    "field.reference": ("reference", "编号"),
    "field.guardian_name": ("guardian's name", "监护人姓名"),
    "field.guardian_signature": ("guardian's signature", "监护人签名"),
    "field.signature": ("signature", "签名"),
    "field.reason": ("reason", "原因"),
    "field.organisation_name": ("organisation name", "组织名称"),
    "field.alternative": ("alternative", "拒绝时的替代方式"),
    "field.title": ("title", "标题"),
    "field.controller": ("data controller", "数据控制者"),
    "field.contact": ("contact", "联系方式"),
    "field.description": ("description", "说明"),
    "field.recipients": ("recipients", "接收方"),
    "field.regulator": ("regulator", "监管机构"),
    "warning.duplicate": ("duplicate", "重复登记"),
    "warning.lookalike": ("lookalike", "相似人员"),
    "list.and": (" and ", "和"),
    "lang.en": ("English", "英语 English"),
    "lang.zh": ("Simplified Chinese 简体中文", "简体中文"),
}


class I18n(QObject):
    """The operator's current language and the bindings that follow it."""

    changed = Signal(str)

    def __init__(self, language: Language = "en", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._language: Language = language
        self._bindings: list[tuple[Callable[[str], Any], str, dict[str, Any]]] = []

    @property
    def language(self) -> Language:
        return self._language

    def set_language(self, language: Language) -> None:
        if language == self._language:
            return
        self._language = language
        alive = []
        for setter, key, kwargs in self._bindings:
            try:
                setter(self.tr(key, **kwargs))
            except RuntimeError:  # the widget behind the setter was deleted
                continue
            alive.append((setter, key, kwargs))
        self._bindings = alive
        self.changed.emit(language)

    def prune(self) -> int:
        """Drop bindings whose widgets are gone (after lock), so no reference to a deleted
        screen, or to what it showed, survives. Returns how many were dropped."""
        before = len(self._bindings)
        alive = []
        for setter, key, kwargs in self._bindings:
            try:
                setter(self.tr(key, **kwargs))
            except RuntimeError:
                continue
            alive.append((setter, key, kwargs))
        self._bindings = alive
        return before - len(alive)

    def tr(self, key: str, **kwargs: Any) -> str:
        """``key`` in the operator's language, formatted with ``kwargs``."""
        return self.text(key, self._language, **kwargs)

    @staticmethod
    def text(key: str, language: Language, **kwargs: Any) -> str:
        """``key`` in a given language (the enrollee's, say). Unknown keys show as themselves so a
        missing entry is visible, never a crash."""
        pair = STRINGS.get(key)
        if pair is None:
            return key
        template = pair[1] if language == "zh" else pair[0]
        return template.format(**kwargs) if kwargs else template

    def bind(self, setter: Callable[[str], Any], key: str, **kwargs: Any) -> None:
        """Call ``setter`` with the translation now and after every language switch."""
        setter(self.tr(key, **kwargs))
        self._bindings.append((setter, key, kwargs))
