"""Document strings added for issue 15 (organisation root, trusted time), English and Chinese.

Kept apart from :mod:`app.documents.labels` on purpose so the move of that table to a message
catalog can take this block over as it is; the keys follow the same dotted style.
"""

from __future__ import annotations

from app.documents.labels import _FIELD
from app.models import Language

TRUST_LABELS: dict[str, tuple[str, str]] = {
    "verify.root_fingerprint": ("Organisation root (SHA-256)", "机构根证书 (SHA-256)"),
    "verify.signing_time": ("Signing time", "签署时间"),
    "verify.time_tsa": (
        "Certified by a time-stamping authority (RFC 3161, PAdES B-T)",
        "由时间戳服务机构认证（RFC 3161，PAdES B-T）",
    ),
    "verify.time_clock": (
        "Workstation clock only; no trusted timestamp (PAdES B-B)",
        "仅为工作站时钟，无可信时间戳（PAdES B-B）",
    ),
    "verify.how": (
        "Anyone can check this file without the workstation: import the organisation's root "
        'certificate (fingerprint above; the organisation exports it with "consentdesk '
        'certificate") into a PDF signature validator such as pdfsig or Adobe Reader. A '
        "genuine document shows a valid signature by a certificate that chains to that root.",
        '任何人无需工作站即可核验本文件：将机构根证书（指纹见上，机构可用 "consentdesk '
        'certificate" 导出）导入 pdfsig 或 Adobe Reader 等 PDF 签名验证工具。真实文件显示'
        "有效签名，且签名证书由该根证书签发。",
    ),
}


def trust_label(language: Language, key: str, **values: object) -> str:
    """Like :func:`app.documents.labels.label`, for the keys above."""
    en, zh = TRUST_LABELS[key]
    text = zh if language == "zh" else en
    return _FIELD.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
