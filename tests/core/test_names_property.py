"""Property tests for account names (issue 11): one normalisation, stable, and no two distinct
account keys ever share a keyslot."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.keyslots import Keyslots
from app.names import name_key, name_problem, password_form
from app.validation import check_username

names = st.text(min_size=1, max_size=70)
letters = st.text(
    st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Mn", "Pd", "So"]),
    min_size=1,
    max_size=20,
)
SLOTS = Keyslots.create(Path("/nonexistent/keyslots.json"))


@given(names)
@settings(max_examples=500)
def test_the_key_is_a_fixed_point(name: str) -> None:
    key = name_key(name)
    assert name_key(key) == key
    assert name_key(name.casefold()) == key


@given(letters)
def test_spellings_of_one_name_share_a_key(name: str) -> None:
    key = name_key(name)
    for variant in (
        name.upper(),
        name.casefold(),
        unicodedata.normalize("NFD", name),
        unicodedata.normalize("NFKD", name),
    ):
        assert name_key(variant) == name_key(name_key(variant))
        assert name_key(unicodedata.normalize("NFC", variant)) == name_key(variant)
    assert name_key(unicodedata.normalize("NFD", name)) == key
    assert SLOTS.lookup_tag("user", unicodedata.normalize("NFD", name)) == SLOTS.lookup_tag(
        "user", name
    )


@given(names, names)
@settings(max_examples=500)
def test_distinct_keys_never_share_a_slot(a: str, b: str) -> None:
    same_key = name_key(a) == name_key(b)
    same_tag = SLOTS.lookup_tag("user", a) == SLOTS.lookup_tag("user", b)
    assert same_key == same_tag


@given(names)
@settings(max_examples=500)
def test_accepted_names_are_visible_and_clean(name: str) -> None:
    problem = name_problem(name)
    try:
        check_username(name)
    except InvalidInput:
        assert problem is not None
        return
    assert problem is None
    key = name_key(name)
    assert key and len(key) <= 64
    assert not any(c.isspace() or c == ":" or unicodedata.category(c) == "Cc" for c in key)


@given(st.text(max_size=40))
def test_password_form_is_nfc_and_stable(password: str) -> None:
    form = password_form(password)
    assert form == unicodedata.normalize("NFC", password) == password_form(form)
    assert password_form(unicodedata.normalize("NFD", password)) == form


def test_the_issue_examples() -> None:
    assert name_key("ANDRÉ") == name_key("André") == name_key("andre\u0301")
    assert name_key("straße") == name_key("STRASSE") == "strasse"
    assert name_key("ｆｒｏｎｔｄｅｓｋ") == "frontdesk"
    for invisible in ("\u200b\u200b", "\u2060", "\u00ad"):
        assert name_problem(invisible) is not None
