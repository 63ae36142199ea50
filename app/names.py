"""One normalisation for staff account names and one for passwords, used everywhere.

Why: a name typed at sign-in, stored in the ``staff`` table, hashed into a keyslot's lookup tag
and given to ``user passwd`` must mean the same account in every one of those places. SQLite's
``NOCASE`` folds ASCII only and ``str.lower`` does not fold ``ß``; when the places disagree,
``ANDRÉ`` is a different account in the database than in the keyslot file, and ``strasse`` can
reach the slot of ``straße``. NFKC followed by full case folding (repeated until it no longer
changes anything) is Unicode's caseless identifier match: every spelling that renders as "the
same name" maps to one key.

Passwords are only NFC-normalised (composed accents), never case-folded: the same password typed
on a keyboard that composes and on one that does not must unlock the same slot.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 64


def name_key(name: str) -> str:
    """The account key of ``name``: NFKC + casefold, stripped, stable under itself."""
    current = name.strip()
    for _ in range(4):  # NFKC and casefold can feed each other; a fixed point comes quickly
        nxt = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", current).casefold())
        nxt = nxt.strip()
        if nxt == current:
            break
        current = nxt
    return current


def password_form(password: str) -> str:
    """The form a password is hashed in: NFC, otherwise exactly as typed."""
    return unicodedata.normalize("NFC", password)


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an account name, or None when it can (checked on its key too:
    NFKC can turn a harmless-looking character into a space or a colon)."""
    if not isinstance(name, str) or not name.strip():
        return "A user name is required."
    key = name_key(name)
    if len(name) > MAX_NAME or len(key) > MAX_NAME:
        return "A user name has at most 64 characters, no spaces and no colon."
    for text in (name, key):
        for c in text:
            cat = unicodedata.category(c)
            if c.isspace() or c == ":" or cat in ("Cc", "Zl", "Zp", "Zs"):
                return "A user name has at most 64 characters, no spaces and no colon."
    if not key or all(unicodedata.category(c) in ("Cf", "Mn", "Me", "Cs", "Co", "Cn") for c in key):
        return "A user name needs at least one visible letter or digit."
    if any(unicodedata.category(c) in ("Cs", "Co", "Cn") for c in key):
        return "A user name may only hold assigned, printable characters."
    return None
