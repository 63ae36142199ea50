"""Sample records shared by the document, signature and disclosure tests (no tests here).

Kept in one module so every test prints the same realistic person, purpose and signature, and
a preview script can render exactly what the tests check.
"""

from __future__ import annotations

import datetime as dt
import io
import math

from PIL import Image, ImageDraw

from app.disclosure import render_disclosure
from app.models import (
    AuditEvent,
    ChallengeStep,
    Consent,
    Disclosure,
    DocumentInfo,
    ErasureResult,
    Guardian,
    Language,
    LivenessResult,
    Organisation,
    Person,
    Purpose,
    Signature,
    SignaturePoint,
    WithdrawalResult,
)

T0 = dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=dt.UTC)
CONSENT_ID = "c0ffee00112233445566778899aabbcc"
REFUSAL_ID = "deadbeef00112233445566778899aabb"
PERSON_ID = "p-4f1e2d3c"

ORG = Organisation(name="Harbourside Property Management", timezone="Europe/London")
ORG_ZH = Organisation(name="海港物业管理有限公司", timezone="Asia/Shanghai")


def purpose(language: Language = "en", keep_photos: bool = False) -> Purpose:
    if language == "zh":
        return Purpose(
            id=3,
            version=2,
            version_id=11,
            title="大楼门禁人脸识别",
            controller="海港物业管理有限公司",
            contact="前台或 privacy@harbourside.example",
            retention_days=365,
            alternative="在前台出示门禁卡",
            description="用于住户进出大楼时核验身份，减少门禁卡丢失和冒用。",
            recipients="",
            regulator="市网信办个人信息保护投诉渠道",
            keep_photos=keep_photos,
        )
    return Purpose(
        id=3,
        version=2,
        version_id=11,
        title="Building access by face",
        controller="Harbourside Property Management Ltd",
        contact="the front desk or privacy@harbourside.example",
        retention_days=365,
        alternative="show your access card at the front desk",
        description="To let residents into the building without a card and to stop lost cards "
        "being misused.",
        recipients="Nobody outside Harbourside; the door controller only receives yes/no.",
        regulator="the Information Commissioner's Office (ico.org.uk)",
        keep_photos=keep_photos,
    )


def org(language: Language) -> Organisation:
    return ORG_ZH if language == "zh" else ORG


def person(language: Language = "en", name: str | None = None) -> Person:
    default = "张伟" if language == "zh" else "Amelia O'Connor-Smith"
    return Person(
        id=PERSON_ID,
        name=name if name is not None else default,
        reference="FLAT-12B",
        date_of_birth=dt.date(1988, 5, 2),
        language=language,
        created_at=T0,
        last_interaction_at=T0 + dt.timedelta(days=30),
    )


def sample_signature(width: int = 600, height: int = 200, scale: float = 1.0) -> Signature:
    """A flowing two-stroke 'signature' plus an underline, like a real pad would record."""
    strokes = []
    pts = []
    for i in range(120):
        t = i / 119
        x = width * (0.08 + 0.62 * t)
        y = height * (0.55 - 0.25 * math.sin(t * math.pi * 5) * (1 - 0.4 * t))
        pts.append(SignaturePoint(x * scale, y * scale, i * 8))
    strokes.append(tuple(pts))
    loop = [
        SignaturePoint(
            (width * 0.78 + 40 * math.cos(a / 10)) * scale,
            (height * 0.5 + 45 * math.sin(a / 10)) * scale,
            1000 + a * 8,
        )
        for a in range(0, 63)
    ]
    strokes.append(tuple(loop))
    strokes.append(
        tuple(
            SignaturePoint(width * (0.1 + 0.8 * k / 29) * scale, height * 0.85 * scale, 1600 + k)
            for k in range(30)
        )
    )
    return Signature(strokes=tuple(strokes), width=width, height=height)


LIVENESS = LivenessResult(
    passed=True,
    steps=(
        ChallengeStep("blink", True, 1320, 0.18),
        ChallengeStep("turn_left", True, 2140, 21.5),
        ChallengeStep("turn_right", True, 1875, -19.2),
    ),
    identity_distance=0.312,
)


def disclosure(language: Language = "en", keep_photos: bool = False) -> Disclosure:
    return render_disclosure(purpose(language, keep_photos), org(language), language)


def consent(language: Language = "en", keep_photos: bool = False, **changes: object) -> Consent:
    d = disclosure(language, keep_photos)
    values: dict[str, object] = dict(
        id=CONSENT_ID,
        person_id=PERSON_ID,
        purpose_id=3,
        purpose_version=2,
        purpose_version_id=11,
        language=language,
        text_sha256=d.sha256,
        decision="granted",
        status="active",
        signed_at=T0,
        operator="desk.jones",
        expires_at=T0 + dt.timedelta(days=365),
        liveness=LIVENESS,
        template_count=3,
        photo_count=1 if keep_photos else 0,
    )
    values.update(changes)
    return Consent(**values)  # type: ignore[arg-type]


def refusal(language: Language = "en") -> Consent:
    return consent(
        language,
        id=REFUSAL_ID,
        decision="refused",
        status="refused",
        expires_at=None,
        liveness=None,
        template_count=0,
        alternative=purpose(language).alternative,
    )


def guardian(language: Language = "en") -> Guardian:
    return Guardian(
        name="王芳" if language == "zh" else "Rosa O'Connor", signature=sample_signature(500, 180)
    )


def audit_events(n: int = 6) -> tuple[AuditEvent, ...]:
    actions = [
        "person.created",
        "disclosure.shown",
        "liveness.passed",
        "consent.granted",
        "templates.stored",
        "document.issued",
        "consent.viewed",
        "access.exported",
    ]
    return tuple(
        AuditEvent(
            seq=100 + i,
            at=T0 + dt.timedelta(seconds=17 * i),
            actor="desk.jones",
            action=actions[i % len(actions)],
            subject=PERSON_ID,
            details={"consent": CONSENT_ID} if i % 2 else {},
        )
        for i in range(n)
    )


def withdrawal(language: Language = "en") -> tuple[WithdrawalResult, Consent]:
    at = T0 + dt.timedelta(days=40, hours=3)
    c = consent(
        language,
        status="withdrawn",
        withdrawn_at=at,
        withdrawn_by="desk.patel",
        withdraw_reason="Moving out" if language == "en" else "搬离本小区",
    )
    return WithdrawalResult(
        person_id=PERSON_ID, consent_ids=(CONSENT_ID,), templates_deleted=3, withdrawn_at=at
    ), c


def erasure() -> ErasureResult:
    return ErasureResult(
        person_id=PERSON_ID,
        erased_at=T0 + dt.timedelta(days=41),
        erased_by="admin.lee",
        counts_before={"people": 1, "consents": 2, "templates": 3, "photos": 0, "documents": 4},
        counts_after={"people": 0, "consents": 0, "templates": 0, "photos": 0, "documents": 0},
    )


def documents() -> tuple[DocumentInfo, ...]:
    return (
        DocumentInfo(
            id="d1a2b3c4d5e6f708091a2b3c4d5e6f70",
            kind="consent_form",
            person_id=PERSON_ID,
            consent_id=CONSENT_ID,
            created_at=T0,
            sha256="ab" * 32,
            filename="consentdesk-consent-form-d1a2b3c4d5e6.pdf",
            size=48213,
        ),
    )


def scan_png(pages: int = 1) -> bytes:
    """A fake scanned paper form (PNG, or a multi-page TIFF when pages > 1)."""
    frames = []
    for page in range(pages):
        img = Image.new("L", (1240, 1754), 250)
        draw = ImageDraw.Draw(img)
        draw.rectangle((80, 80, 1160, 1674), outline=30, width=4)
        for row in range(12):
            draw.line((140, 260 + row * 95, 1100, 260 + row * 95), fill=120, width=2)
        draw.text((150, 150), f"PAPER CONSENT FORM page {page + 1}", fill=0)
        draw.line((700, 1500, 1050, 1460), fill=0, width=5)
        frames.append(img)
    buf = io.BytesIO()
    if pages == 1:
        frames[0].save(buf, format="PNG")
    else:
        frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()
