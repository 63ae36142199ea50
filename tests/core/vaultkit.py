"""Helpers shared by the core tests: signatures, synthetic templates, page decryption."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import struct
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from app.desk import (
    Desk,
    EnrollmentRequest,
    EnrollmentResult,
    PersonDetails,
    RefusalRequest,
    RefusalResult,
)
from app.keyslots import KdfParams
from app.models import Purpose, Signature, SignaturePoint

# Cheaper Argon2 for speed; the format and code path are the same as production's.
FAST_KDF = KdfParams(time_cost=1, memory_cost=8192, parallelism=1)
ADMIN = "admin"
# issue-13: the Chinese texts of the fixtures' purpose (a purpose without them cannot be shown
# in Chinese).
PURPOSE_ZH = {
    "title_zh": "大楼入口",
    "controller_zh": "Acme 物业管理",
    "recipients_zh": "仅限前台工作人员",
    "regulator_zh": "个人信息保护主管部门",
    "alternative_zh": "在前台领取门禁卡",
}
PASSWORD = "correct horse battery"


class FakeClock:
    """A clock the test moves by hand (``DeskOptions(clock=FakeClock(...))``): retention is
    tested by advancing days, never by sleeping or patching ``datetime``."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def sign_necessity(desk: Desk, purpose: Purpose, scenario: str = "building_access") -> Purpose:
    """issue-16: a purpose enrols nobody until an admin signed its necessity test; fixtures
    that enrol right away sign a plausible one. Returns the purpose as it now stands."""
    from app.compliance.service import Compliance
    from app.compliance.types import NecessityAnswers

    Compliance(desk).assess_purpose(
        purpose.id,
        NecessityAnswers(
            necessity="Tenants enter hands-free at all hours; the lobby has no night staff.",
            why_not_alternative="Cards are lent and lost; the card remains available anyway.",
            scenario=scenario,  # type: ignore[arg-type]
            access="Front-desk staff and the building manager only",
        ),
    )
    return desk.get_purpose(purpose.id)


def short_purpose(desk: Desk, days: int = 30, **extra: str) -> Purpose:
    """A signed purpose with a short retention ("Short", ``days`` days): what the retention,
    purge and counter tests expire by moving a FakeClock past it."""
    return sign_necessity(
        desk,
        desk.add_purpose(
            title="Short",
            controller="Acme",
            contact="p@acme.example",
            retention_days=days,
            alternative="Card",
            **extra,
        ),
    )


def counters_without_drift(desk: Desk) -> dict[str, int]:
    """Every ``stats`` counter equals the real count (asserted); returns the counters."""
    from app import counts

    with desk.session.write() as conn:
        assert counts.recount(conn) == {}
        return counts.counters(conn)


def make_signature(seed: int = 0) -> Signature:
    """A plausible handwritten stroke: a wavy line across most of a 600x200 pad."""
    points = tuple(
        SignaturePoint(40 + i * 10, 100 + 50 * math.sin(i / 3 + seed), i * 15) for i in range(50)
    )
    loop = tuple(
        SignaturePoint(300 + 40 * math.cos(i / 5), 100 + 40 * math.sin(i / 5), 800 + i * 15)
        for i in range(32)
    )
    return Signature(strokes=(points, loop), width=600, height=200)


def embedding(seed: int) -> np.ndarray:
    """A deterministic 128-d vector with the norm of a real dlib template (~1)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def enroll(
    desk: Desk,
    purpose: Purpose,
    name: str = "Canary Zebulon",
    seed: int = 1,
    reference: str | None = "Unit 12B",
    language: str = "en",
    dob: dt.date | None = None,
    **kw: object,
) -> EnrollmentResult:
    disclosure = desk.disclosure(purpose.id, language)  # type: ignore[arg-type]
    return desk.enroll(
        EnrollmentRequest(
            # Without a date of birth, the operator attests "adult, identity document seen".
            person=PersonDetails(
                name,
                reference,
                dob,
                language,  # type: ignore[arg-type]
                age_basis=None if dob else "id_document_seen",
            ),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            signature=make_signature(seed),
            embeddings=[embedding(seed), embedding(seed) + 0.01],
            **kw,  # type: ignore[arg-type]
        )
    )


def refuse(
    desk: Desk, purpose: Purpose, name: str = "Refusing Rita", in_name: bool = True
) -> RefusalResult:
    disclosure = desk.disclosure(purpose.id, "en")
    return desk.refuse(
        RefusalRequest(
            person=PersonDetails(name, None, None, "en"),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            alternative=purpose.alternative,
            signature=make_signature(5),
            in_name=in_name,
        )
    )


PAGE = 4096
RESERVE = 80  # 16-byte IV + 64-byte HMAC-SHA512, SQLCipher 4 defaults


def decrypt_page(page: bytes, key: bytes, first: bool) -> bytes:
    """Decrypt one SQLCipher 4 page with the raw data key (AES-256-CBC, IV in the reserve)."""
    start = 16 if first else 0
    iv = page[PAGE - RESERVE : PAGE - RESERVE + 16]
    body = page[start : PAGE - RESERVE]
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(body) + dec.finalize()


def decrypt_database(path: Path, key: bytes) -> bytes:
    data = path.read_bytes()
    out = []
    for i in range(0, len(data) - PAGE + 1, PAGE):
        out.append(decrypt_page(data[i : i + PAGE], key, first=(i == 0)))
    return b"".join(out)


def decrypt_wal(path: Path, key: bytes) -> bytes:
    if not path.exists():
        return b""
    data = path.read_bytes()
    out = []
    pos = 32
    while pos + 24 + PAGE <= len(data):
        pgno = struct.unpack(">I", data[pos : pos + 4])[0]
        out.append(decrypt_page(data[pos + 24 : pos + 24 + PAGE], key, first=(pgno == 1)))
        pos += 24 + PAGE
    return b"".join(out)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scan_pdf_bytes() -> bytes:
    """A real one-page PDF standing in for a scanned paper form (issue-11: a file that merely
    starts with ``%PDF-`` is refused as a scan)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (300, 400), 255).save(buf, format="PDF")
    return buf.getvalue()
