"""Every static word printed on a ConsentDesk document, in English and Simplified Chinese.

Documents are printed in the *person's* language, which may differ from the operator's, so the
builders never hard-code a label: they look it up here. The words live in the one translation
catalog (:mod:`app.i18n`, ``resources/locale``) as ``pdf.<key>``, beside the screen's strings, so
a term reads the same on paper and on screen.
"""

from __future__ import annotations

import re

from app.i18n import Pairs, shipped_catalog
from app.models import Language

PREFIX = "pdf."

_FIELD = re.compile(r"\{(\w+)\}")

#: ``key -> (English, Chinese)``: the catalog's ``pdf.*`` entries, without the prefix.
LABELS: Pairs = Pairs(shipped_catalog, PREFIX)


def label(language: Language, key: str, **values: object) -> str:
    """The label ``key`` in ``language``, with ``{name}``-style values filled in.

    Substitution is a single regex pass rather than ``str.format`` so that braces inside a
    person's name or a purpose title are printed as they are, never read as fields.
    """
    if PREFIX + key not in shipped_catalog():
        raise KeyError(key)
    text = shipped_catalog().text(PREFIX + key, language)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _FIELD.sub(fill, text)


def term(language: Language, prefix: str, code: str) -> str:
    """A stored code (audit action, liveness method) in words, from the screen's entries
    (``audit.*``, ``live.method.*``): paper and screen name an action the same way."""
    return shipped_catalog().term(prefix, code, language)
