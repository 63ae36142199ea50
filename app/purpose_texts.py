"""A purpose's person-facing texts per language (issue 13, point 7).

Every field a person reads about a purpose (title, controller, description, recipients,
regulator, alternative) has an English value (the base field) and a Chinese one (``<field>_zh``).
A person reading Chinese must not meet English purpose text inside a Chinese disclosure, so a
purpose lacking its Chinese texts cannot be shown or used in Chinese (``require_language``).
Documents about consents given before the texts existed still render (``localized`` without
``strict``), falling back per field, so a withdrawal or an erasure is never blocked by it.
The contact (an address, a phone number) is the same in every language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.errors import InvalidInput
from app.models import Language, Purpose

TRANSLATED_FIELDS: tuple[str, ...] = (
    "title",
    "controller",
    "description",
    "recipients",
    "regulator",
    "alternative",
    "legal_basis",  # issue-15 point 7
)
ZH_FIELDS: tuple[str, ...] = tuple(f"{f}_zh" for f in TRANSLATED_FIELDS)


def missing_texts(purpose: Purpose, language: Language) -> list[str]:
    """The fields the purpose lacks in ``language``: required ones, and optional ones that
    have an English value (an empty description is empty in both)."""
    if language == "en":
        return []
    out = []
    for field in TRANSLATED_FIELDS:
        base = str(getattr(purpose, field) or "").strip()
        translated = str(getattr(purpose, f"{field}_{language}", "") or "").strip()
        if base and not translated:
            out.append(field)
    return out


def require_language(purpose: Purpose, language: Language) -> None:
    """Refuse to show or use a purpose in a language it lacks (one clear error)."""
    missing = missing_texts(purpose, language)
    if missing:
        raise InvalidInput(
            f"Purpose {purpose.id} has no {'Chinese' if language == 'zh' else language} text "
            f"for: {', '.join(missing)}. An administrator must add it before the purpose can "
            "be shown in that language.",
            code="purpose_language_missing",
            params={"fields": ", ".join(missing), "purpose": purpose.id},
        )


def localized(purpose: Purpose, language: Language, *, strict: bool = False) -> Purpose:
    """The purpose with its person-facing fields in ``language`` (the English base fields are
    replaced). ``strict``: refuse when a text is missing; otherwise fall back per field."""
    if language == "en":
        return purpose
    if strict:
        require_language(purpose, language)
    values: dict[str, Any] = {}
    for field in TRANSLATED_FIELDS:
        translated = str(getattr(purpose, f"{field}_{language}", "") or "")
        if translated.strip():
            values[field] = translated
    return replace(purpose, **values)


def localized_all(purposes: Sequence[Purpose], language: Language) -> list[Purpose]:
    """Every purpose in ``language`` (per-field fallback): what a person-facing document about
    existing consents prints, so a withdrawal or erasure is never blocked by a missing text."""
    return [localized(p, language) for p in purposes]


def title_in(purpose: Purpose, language: Language) -> str:
    """The purpose's title for an operator screen in ``language``: a Chinese desk lists
    purposes by their Chinese titles where an administrator gave one (English otherwise)."""
    return localized(purpose, language).title
