"""Checks on what staff and enrollees type, and on templates handed to the vault.

Validation refuses bad input with a clear :class:`InvalidInput` before anything is written; it never
rewrites what a person typed (quotes, CJK, right-to-left marks stay exactly as given). Messages
never repeat the rejected value, since it may be personal data.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from app.errors import InvalidInput
from app.models import Signature
from app.names import name_problem

if TYPE_CHECKING:  # numpy loads with the first template, not at every command (issue 12)
    import numpy as np
    import numpy.typing as npt

Embedding: TypeAlias = "npt.NDArray[np.float32]"
EMBEDDING_DIM = 128
MAX_TEXT = 2000


def fold(text: str) -> str:
    """Search key: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def clean_text(
    value: str | None, what: str, *, required: bool = False, limit: int = MAX_TEXT
) -> str | None:
    """Validate free text from staff or enrollees without changing it (quotes, CJK, RTL stay)."""
    if value is None or value == "":
        if required:
            raise InvalidInput(f"The {what} is required.", code="required", params={"field": what})
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"The {what} must be text.", code="not_text", params={"field": what})
    if "\x00" in value:
        raise InvalidInput(
            f"The {what} contains a NUL character, which cannot be stored.",
            code="nul_character",
            params={"field": what},
        )
    if len(value) > limit:
        raise InvalidInput(
            f"The {what} is too long (at most {limit} characters).",
            code="too_long",
            params={"field": what, "limit": limit},
        )
    if required and not value.strip():
        raise InvalidInput(f"The {what} is required.", code="required", params={"field": what})
    return value


# Characters that render as nothing (or as blank) although they are letters or symbols to Unicode.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5")


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_LOOKING


def clean_name(value: str | None, what: str, *, limit: int = 300) -> str:
    """A name as typed, for a person, guardian, requester, organisation or device.

    Why stricter than :func:`clean_text`: a name is printed in lists, on a terminal and on
    documents. Control characters (escape sequences, newlines, tabs) and bidi overrides could
    clear a screen, fake a row or reorder what a reader sees; a name made only of invisible
    characters (zero-width spaces, Hangul fillers) identifies nobody and looks empty on paper.
    """
    text = clean_text(value, what, required=True, limit=limit) or ""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS:
            raise InvalidInput(
                f"The {what} contains a control character (e.g. a line break or escape code).",
                code="control_character",
                params={"field": what},
            )
    if not any(_visible(ch) for ch in text):
        raise InvalidInput(
            f"The {what} has no visible character.", code="name_invisible", params={"field": what}
        )
    return text


_BIDI_CONTROLS = frozenset(
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
)


def embeddings_array(values: Sequence[Sequence[float]] | Embedding) -> Embedding:
    import numpy as np

    try:
        arr = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInput("Face templates must be lists of 128 numbers.") from None
    if arr.size == 0:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != EMBEDDING_DIM or not np.all(np.isfinite(arr)):
        raise InvalidInput("Face templates must be lists of 128 finite numbers.")
    return np.ascontiguousarray(arr)


def check_signature(signature: Signature, what: str) -> None:
    from app.signature import SignatureError, validate_signature

    try:
        validate_signature(signature)
    except SignatureError as exc:
        raise InvalidInput(
            f"The {what} is not usable: {exc}", code="signature_unusable", params={"field": what}
        ) from None


def check_username(username: str) -> None:
    """Names are checked as typed and as their account key (``app.names``)."""
    problem = name_problem(username)
    if problem is not None:
        raise InvalidInput(problem, code="username_invalid")


# zxcvbn's score: 0 too guessable ... 4 very unguessable. 3 ("safely unguessable: moderate
# protection from offline slow-hash attacks") is the floor: a stolen keyslot file is exactly an
# offline attack on an Argon2id hash.
MIN_PASSWORD_SCORE = 3
_ZXCVBN_INPUT = 100  # zxcvbn's time grows with length; the first 100 characters decide


@dataclass(frozen=True)
class PasswordStrength:
    """What a strength meter shows: zxcvbn's score (0-4), whether it is enough, and why not."""

    score: int
    acceptable: bool
    reason: str


def password_strength(password: str, *hints: str) -> PasswordStrength:
    """Estimate with zxcvbn (dictionaries, keyboard patterns, repeats, dates, the user name)."""
    from zxcvbn import zxcvbn

    if not password:
        return PasswordStrength(0, False, "A password is required.")
    result = zxcvbn(password[:_ZXCVBN_INPUT], user_inputs=[h for h in hints if h])
    score = int(result["score"])
    feedback = result.get("feedback") or {}
    parts = [str(feedback.get("warning") or "")] + [str(x) for x in feedback.get("suggestions", [])]
    reason = " ".join(p for p in parts if p) or "It is too easy to guess."
    if len(password) < 8:
        reason = "A password needs at least 8 characters."
    ok = score >= MIN_PASSWORD_SCORE and len(password) >= 8
    return PasswordStrength(score, ok, "" if ok else reason)


def check_password(password: str, *hints: str) -> None:
    """Refuse short and guessable passwords, in the core, for the UI and the CLI alike."""
    if not isinstance(password, str) or len(password) < 8:
        raise InvalidInput("A password needs at least 8 characters.", code="password_short")
    if len(password) > 1024:
        raise InvalidInput("That password is too long.")
    strength = password_strength(password, *hints)
    if not strength.acceptable:
        raise InvalidInput(
            f"That password is too easy to guess: {strength.reason}",
            code="password_weak",
            params={"score": strength.score, "min": MIN_PASSWORD_SCORE},
        )


# Words that name no alternative at all. The CAC face-recognition measures require a real,
# usable alternative (a card, a key, a person at the desk), so these are refused in the core for
# the UI, the CLI and imports alike. Compared after folding and dropping punctuation.
ALTERNATIVE_PLACEHOLDERS = frozenset(
    {
        "none",
        "na",
        "n a",
        "nil",
        "null",
        "no",
        "nothing",
        "no alternative",
        "not applicable",
        "tbd",
        "无",
        "没有",
        "不适用",
        "暂无",
        "无替代",
        "无替代方式",
        "无其他方式",
    }
)


def check_alternative(value: str | None) -> str:
    """The alternative to face recognition: required, and a real one, not a placeholder.

    Why in the core: a purpose whose alternative is "none" makes consent unfree (the person
    cannot say no without losing the service), whichever screen or script entered it."""
    text = clean_text(value, "alternative", required=True, limit=500) or ""
    words = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in fold(text)).split()
    if " ".join(words) in ALTERNATIVE_PLACEHOLDERS or not words:
        raise InvalidInput(
            "The alternative must describe a real way to get the service without face "
            'recognition; "none", "n/a" or "-" is not one.',
            code="alternative_placeholder",
        )
    return text


def purpose_values(**values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("title", "controller", "contact"):
        out[name] = clean_text(values[name], name, required=True, limit=500)
    out["alternative"] = check_alternative(values["alternative"])
    for name in ("description", "recipients", "regulator"):
        out[name] = clean_text(values.get(name) or "", name, limit=4000) or ""
    try:
        days = int(values["retention_days"])
    except (TypeError, ValueError):
        raise InvalidInput("The retention period must be a whole number of days.") from None
    if not 1 <= days <= 3650:
        raise InvalidInput("The retention period must be between 1 and 3650 days.")
    out["retention_days"] = days
    out["keep_photos"] = bool(values.get("keep_photos", False))
    # issue-13: the Chinese texts ("" = not given yet; the purpose then cannot be shown in
    # Chinese). A Chinese alternative, when given, must be a real one too.
    for name in ("title", "controller", "description", "recipients", "regulator"):
        limit = 500 if name in ("title", "controller") else 4000
        out[f"{name}_zh"] = (
            clean_text(values.get(f"{name}_zh") or "", f"{name}_zh", limit=limit) or ""
        )
    # issue-15 point 7: a purpose's own legal basis (both languages) and DPO contact
    for name in ("legal_basis", "legal_basis_zh", "dpo_contact"):
        out[name] = clean_text(values.get(name) or "", name, limit=1000) or ""
    alternative_zh = values.get("alternative_zh") or ""
    out["alternative_zh"] = check_alternative(alternative_zh) if alternative_zh else ""
    return out
