"""The one translation catalog: every string on screen, on printed documents and in core errors.

Why gettext ``.po`` files under ``resources/locale/<locale>/LC_MESSAGES/consentdesk.po``: it is the
format translators and their tools (Poedit, Weblate, Lokalize, msgfmt) know, so a translator
never has to read Python. The msgids are *symbolic keys* (``app.title``, ``pdf.purpose``,
``err.<code>``), which is what the code has always passed around; the English catalog holds the
source text (a "monolingual" gettext catalog in Weblate's terms).

Why the ``.po`` files are read directly rather than compiled ``.mo`` files: nothing binary can go
stale beside its source, so what a translator edits is exactly what ships. The parser covers the
subset of the format we write (no plurals, no contexts); a fuzzy or empty translation counts as
missing, and the tests in ``tests/core/test_catalog.py`` fail on one.

This module is Qt-free: the UI (``ui/i18n.py``), the document builders
(``app/documents/labels.py``), the disclosure and the CLI read the same :class:`Catalog`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from app.models import Language
from app.resources import resource_path

DOMAIN: Final = "consentdesk"
#: The gettext locale folder of each language the product speaks.
LOCALES: Final[dict[Language, str]] = {"en": "en", "zh": "zh_CN"}

_ESCAPES: Final = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)")
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")\s*$")


_PLACEHOLDER = re.compile(r"\{(\w+)[^{}]*\}")


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a text (format specs ignored): they must match across languages
    or a value would be lost, or a lookup fail, in one of them."""
    return set(_PLACEHOLDER.findall(text))


class CatalogError(ValueError):
    """A catalog file that cannot be read (a syntax error a translator's tool would reject)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One catalog entry of one language, as the translator left it."""

    msgid: str
    text: str
    fuzzy: bool
    line: int

    @property
    def usable(self) -> bool:
        """False for an entry gettext itself would not use: empty or marked fuzzy."""
        return bool(self.text) and not self.fuzzy


def _unquote(token: str, line: int) -> str:
    if len(token) < 2 or not token.startswith('"') or not token.endswith('"'):
        raise CatalogError(f"line {line}: expected a quoted string")
    body = token[1:-1]

    def unescape(match: re.Match[str]) -> str:
        char = match.group(1)
        if char not in _ESCAPES:
            raise CatalogError(f"line {line}: unknown escape \\{char}")
        return _ESCAPES[char]

    return _ESCAPE.sub(unescape, body)


def parse_po(text: str) -> dict[str, Message]:
    """The entries of a ``.po`` file (the header entry with the empty msgid left out).

    Raises :class:`CatalogError` on what ``msgfmt`` would refuse as well: a duplicate msgid,
    a string outside an entry, plural forms or contexts (which this product does not use).
    """
    messages: dict[str, Message] = {}
    fields: dict[str, list[str]] = {}
    current: str | None = None
    fuzzy = False
    start = 0

    def flush() -> None:
        nonlocal fields, current, fuzzy
        if "msgid" in fields:
            if "msgstr" not in fields:
                raise CatalogError(f"line {start}: msgid without msgstr")
            msgid = "".join(fields["msgid"])
            if msgid:
                if msgid in messages:
                    raise CatalogError(f"line {start}: duplicate msgid {msgid!r}")
                messages[msgid] = Message(msgid, "".join(fields["msgstr"]), fuzzy, start)
        fields, current, fuzzy = {}, None, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if "msgid" in fields:
                flush()
            if line.startswith("#,") and "fuzzy" in (f.strip() for f in line[2:].split(",")):
                fuzzy = True
            continue
        keyword = _KEYWORD.match(line)
        if keyword:
            name, token = keyword.groups()
            if name in ("msgctxt", "msgid_plural") or name.startswith("msgstr["):
                raise CatalogError(f"line {number}: {name} is not used in this catalog")
            if name == "msgid":
                if "msgid" in fields:
                    flush()
                start = number
            elif name in fields:
                raise CatalogError(f"line {number}: a second {name} in one entry")
            current = name
            fields[name] = [_unquote(token, number)]
        elif line.startswith('"') and current is not None:
            fields[current].append(_unquote(line, number))
        else:
            raise CatalogError(f"line {number}: not gettext syntax")
    flush()
    return messages


class Catalog(Mapping[str, Mapping[Language, str]]):
    """Every msgid with its text in each language.

    As a mapping: ``catalog[key]["zh"]``; ``key in catalog`` asks whether the key exists.
    Lookups of a key or language the catalog lacks fall back to English and then to the key
    itself, so a gap shows as a visible key on screen, never as a crash; the tests make sure
    no such gap ships.
    """

    def __init__(self, messages: Mapping[Language, Mapping[str, Message]]) -> None:
        self._messages = {lang: dict(entries) for lang, entries in messages.items()}
        self._keys: dict[str, None] = {}
        for entries in self._messages.values():
            self._keys.update(dict.fromkeys(entries))

    @classmethod
    def load(cls, root: Path) -> Catalog:
        """Read ``<root>/<locale>/LC_MESSAGES/consentdesk.po`` for every language."""
        messages: dict[Language, dict[str, Message]] = {}
        for language, locale in LOCALES.items():
            path = root / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            try:
                messages[language] = parse_po(path.read_text(encoding="utf-8"))
            except CatalogError as exc:
                raise CatalogError(f"{locale}/{DOMAIN}.po: {exc}") from None
        return cls(messages)

    def messages(self, language: Language) -> Mapping[str, Message]:
        """The raw entries of one language (for the completeness tests)."""
        return self._messages.get(language, {})

    def get_text(self, key: str, language: Language) -> str | None:
        """The usable text of ``key`` in ``language`` (English if that one is missing), else
        None."""
        for lang in (language, "en"):
            message = self._messages.get(lang, {}).get(key)
            if message is not None and message.usable:
                return message.text
        return None

    def text(self, key: str, language: Language) -> str:
        """``key`` in ``language``, unformatted; the key itself when the catalog lacks it."""
        found = self.get_text(key, language)
        return key if found is None else found

    def term(self, prefix: str, code: str, language: Language) -> str:
        """A stored code (an audit action ``consent.grant``, a liveness method
        ``operator-attested``) as words: the entry ``<prefix><code>`` with ``-`` read as ``_``.

        Why the code itself as the fallback: these codes are written by the core and kept for
        years in the vault; an old one without an entry must still show as something.
        """
        found = self.get_text(prefix + code.replace("-", "_"), language)
        return code if found is None else found

    def problems(self) -> list[str]:
        """Every gap a translator must fix, one line each: a key missing from a language, an
        empty or fuzzy entry, placeholders that differ from the English ones."""
        out: list[str] = []
        english = self._messages.get("en", {})
        for language, locale in LOCALES.items():
            entries = self._messages.get(language, {})
            for key in self._keys:
                message = entries.get(key)
                if message is None:
                    out.append(f"{locale}: {key} is missing")
                elif not message.text.strip():
                    out.append(f"{locale}: {key} is not translated (empty)")
                elif message.fuzzy:
                    out.append(f"{locale}: {key} is marked fuzzy (needs review)")
                elif key in english and placeholders(message.text) != placeholders(
                    english[key].text
                ):
                    out.append(f"{locale}: {key} has other {{placeholders}} than English")
        return out

    def __getitem__(self, key: str) -> Mapping[Language, str]:
        if key not in self._keys:
            raise KeyError(key)
        return {lang: self.text(key, lang) for lang in LOCALES}

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class Pairs(Mapping[str, tuple[str, str]]):
    """A read-only ``key -> (English, Chinese)`` view of the catalog, optionally of the keys under
    one prefix with the prefix left off (``pdf.`` for the document labels).

    Why a view: the screens and the document builders used to keep such tables as dicts; keeping
    that shape lets their call sites (``key in STRINGS``, ``LABELS[key]``) stay as they are.
    """

    def __init__(self, catalog: Callable[[], Catalog], prefix: str = "") -> None:
        # A loader, not a catalog: importing a module that holds a view reads no file.
        self._load, self._prefix = catalog, prefix

    @property
    def _catalog(self) -> Catalog:
        return self._load()

    def __getitem__(self, key: str) -> tuple[str, str]:
        full = self._prefix + key
        if full not in self._catalog:
            raise KeyError(key)
        return (self._catalog.text(full, "en"), self._catalog.text(full, "zh"))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._prefix + key in self._catalog

    def __iter__(self) -> Iterator[str]:
        size = len(self._prefix)
        return (k[size:] for k in self._catalog if k.startswith(self._prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@functools.lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    """The catalog shipped in ``resources/locale`` (read once per process: it never changes
    while the application runs)."""
    return Catalog.load(resource_path("locale"))


def error_message(error: BaseException, language: Language, catalog: Catalog | None = None) -> str:
    """The sentence for a core error in ``language``: the catalog's ``err.<code>`` (biometric
    codes: ``bioerr.<code>``) with the error's params filled in, or ``str(error)`` (the raise
    site's English sentence) when no entry fits.

    Why here and not in the UI: the CLI and the UI must say the same thing for one code. The CLI
    prints English by default; a caller that knows the operator's language passes it. Params are
    only field names, counts and waits, never personal data (see app/errors.py).
    """
    from app.errors import ConsentDeskError

    if not isinstance(error, ConsentDeskError):
        return str(error)
    cat = catalog if catalog is not None else shipped_catalog()
    code = str(error.code)
    # "bio_<code>": a biometric error passed through the core (a bad photo, say)
    bio = code.startswith("bio_")
    keys = [f"bioerr.{code[4:]}"] if bio else [f"err.{code}", f"bioerr.{code}"]
    template = next((t for t in (cat.get_text(k, language) for k in keys) if t is not None), None)
    if template is None:
        return str(error) or cat.text("common.unexpected", language)
    values = {name: _param(name, value, language, cat) for name, value in error.params.items()}
    values["detail"] = str(error)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # a placeholder the raise site did not fill
        return str(error)


def _param(name: str, value: object, language: Language, cat: Catalog) -> object:
    """A param as the reader reads it: field names and warning kinds translated, waits in whole
    seconds (rounded up)."""
    if name == "field" and isinstance(value, str):
        key = "field." + value.replace("'s", "").replace(" ", "_")
        return cat.text(key, language) if key in cat else value
    if name == "kinds" and isinstance(value, list | tuple):
        kinds = [
            cat.text(f"warning.{k}", language) if f"warning.{k}" in cat else str(k) for k in value
        ]
        return cat.text("list.and", language).join(kinds)
    if name == "seconds" and isinstance(value, int | float):
        return math.ceil(value)
    return value
