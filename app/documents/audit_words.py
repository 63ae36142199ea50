"""Audit entries as sentences in the document's language (issue 15, points 6 and 9).

The audit log stores each entry's details as JSON with stable keys (``templates_deleted``,
``text_sha256``...). A person reading their withdrawal receipt or access report should read
"Consent withdrawn: 3 face templates deleted; a reason was recorded." and not
``{"templates_deleted": 3}``. Each detail key has a phrase in the catalog
(``pdf.audit.detail.<key>``, with ``{value}``), counts of stored rows have their own
(``pdf.audit.count.<table>``), and yes/no values read as words. A key without a phrase (a new
one not yet translated) is still printed, as ``key: value``, never dropped: the audit page must
show everything the entry says. ``tests/core/test_audit_words.py`` fails on any key the code
writes that has no phrase.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.documents.labels import label, term
from app.i18n import shipped_catalog
from app.models import AuditEvent, Language

DETAIL = "pdf.audit.detail."
COUNT = "pdf.audit.count."
VALUE = "pdf.audit.value."
MAX_CHARS = 900


def _has(key: str) -> bool:
    return key in shipped_catalog()


def _value(value: Any, language: Language) -> str:
    if isinstance(value, bool):
        word = label(language, "yes" if value else "no")
        return word.lower() if language == "en" else word  # inside a sentence
    if isinstance(value, str):
        # stored codes and fixed reasons ("id_document_seen", "photo destroyed at withdrawal")
        words = VALUE + value.strip().lower().replace(" ", "_")
        return shipped_catalog().text(words, language) if _has(words) else value
    if isinstance(value, Mapping):
        return _counts(value, language)
    if isinstance(value, list | tuple):
        if not value:
            return label(language, "audit.none_listed")
        return (", " if language == "en" else "、").join(_value(v, language) for v in value)
    return str(value)


def _counts(counts: Mapping[str, Any], language: Language) -> str:
    """``{"templates": 3, "photos": 0}`` -> "3 face templates, 0 photos"."""
    parts = []
    for key, value in counts.items():
        if COUNT + key in shipped_catalog():
            text = shipped_catalog().text(COUNT + key, language)
            parts.append(text.replace("{value}", _value(value, language)))
        else:
            parts.append(f"{key} {_value(value, language)}")
    if not parts:
        return label(language, "audit.none_listed")
    return (", " if language == "en" else "，").join(parts)


def _phrase(key: str, value: Any, language: Language) -> str | None:
    if value is None:
        return None
    if key == "kind" and isinstance(value, str) and _has(f"pdf.kind.{value}"):
        value = label(language, f"kind.{value}")
    elif key == "role" and isinstance(value, str) and _has(f"role.{value}"):
        value = shipped_catalog().text(f"role.{value}", language)
    if _has(DETAIL + key):
        text = shipped_catalog().text(DETAIL + key, language)
        return text.replace("{value}", _value(value, language))
    return f"{key}: {_value(value, language)}"


def sentence(event: AuditEvent, language: Language) -> str:
    """What happened, as one sentence: the action in words, then each detail as a phrase."""
    action = term(language, "audit.", event.action)
    details = event.details if isinstance(event.details, Mapping) else {}
    phrases = [p for k, v in details.items() if (p := _phrase(k, v, language))]
    if not isinstance(event.details, Mapping) and event.details:
        phrases.append(str(event.details))
    if language == "zh":
        text = action + ("：" + "；".join(phrases) if phrases else "") + "。"
    else:
        text = action + (": " + "; ".join(phrases) if phrases else "") + "."
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
