"""The disclosure: the exact text a person reads before deciding about face recognition.

The text is rendered from a per-language template in ``resources/disclosure`` and the values of
one purpose version. Its SHA-256 is stored with the consent and printed on the signed form, so the
record proves *which words* the person saw. That only works if rendering is deterministic: same
purpose version + organisation + language gives byte-identical text on every machine, whatever the
platform's line endings or Unicode composition. Nothing time-dependent (dates, operator) goes
into the text for that reason; those belong on the form around it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from app import disclosure_law
from app.i18n import shipped_catalog
from app.models import LANGUAGES, Disclosure, Language, Organisation, Purpose
from app.purpose_texts import localized
from app.resources import resource_path

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_BLOCK_OPEN = re.compile(r"^\{([?!])([a-z_]+)\}$")
_BLOCK_CLOSE = re.compile(r"^\{/([a-z_]+)\}$")
# C0/C1 controls and the Unicode "other" categories a pasted value may carry; tabs and newlines
# inside a field are flattened separately so a field can never forge a heading or bullet line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRAILING_STOP = ".。．! "


@dataclass(frozen=True)
class DecisionLabels:
    """Short strings for the decision screen, in the person's language (not the operator's)."""

    consent: str
    refuse: str
    photo_option: str


def _check_language(language: str) -> Language:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported disclosure language {language!r}; use one of {LANGUAGES}")
    return language  # type: ignore[return-value]


def normalise_text(text: str) -> str:
    """The canonical form that is hashed: NFC, ``\\n`` line ends, no trailing spaces, no runs of
    blank lines, exactly one final newline.

    Exported so that anyone re-checking a hash (tests, an auditor's script) applies the same
    rules rather than guessing them.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return out + "\n"


def text_sha256(text: str) -> str:
    """Hex SHA-256 over the UTF-8 bytes of the (already normalised) disclosure text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def disclosure_is_intact(disclosure: Disclosure) -> bool:
    """True when the stored text still matches its stored hash."""
    return text_sha256(disclosure.text) == disclosure.sha256


@functools.lru_cache(maxsize=8)
def _template(language: Language) -> str:
    return resource_path("disclosure", f"{language}.txt").read_text(encoding="utf-8")


def _strings(language: Language) -> dict[str, str]:
    """The decision step's words and the disclosure's fallbacks (``disclosure.*`` in the shared
    catalog, so the printed form and the screen say the same)."""
    catalog = shipped_catalog()
    names = ("consent", "refuse", "photo_option", "no_description", "no_recipients")
    return {name: catalog.text(f"disclosure.{name}", language) for name in names}


def decision_labels(language: Language) -> DecisionLabels:
    """The buttons/checkbox texts of the decision step, for the UI and the printed form."""
    s = _strings(_check_language(language))
    return DecisionLabels(consent=s["consent"], refuse=s["refuse"], photo_option=s["photo_option"])


def _field(value: object) -> str:
    """One inline value: controls removed, all whitespace (incl. newlines) folded to one space."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", str(value)))
    return " ".join(text.split())


def _apply_blocks(template: str, flags: dict[str, bool]) -> str:
    """Keep or drop ``{?flag}``/``{!flag}`` ... ``{/flag}`` blocks (one level, whole lines)."""
    out: list[str] = []
    keep_stack: list[bool] = []
    for line in template.split("\n"):
        stripped = line.strip()
        opened = _BLOCK_OPEN.match(stripped)
        closed = _BLOCK_CLOSE.match(stripped)
        if opened:
            sign, name = opened.groups()
            if name not in flags:
                raise ValueError(f"disclosure template uses unknown condition {name!r}")
            keep_stack.append(flags[name] if sign == "?" else not flags[name])
        elif closed:
            if not keep_stack:
                raise ValueError("disclosure template closes a block it never opened")
            keep_stack.pop()
        elif all(keep_stack):
            out.append(line)
    if keep_stack:
        raise ValueError("disclosure template leaves a block open")
    return "\n".join(out)


def _device_list(purpose: Purpose, language: Language) -> str:
    """The devices of the version with where they stand: "North door (Building A); Lift" in
    English, "东门（A座）、电梯" in Chinese (issue 17: which devices, where they stand)."""
    names = []
    for device in purpose.devices:
        name, where = _field(device.name), _field(device.location).rstrip(_TRAILING_STOP)
        if where:
            name += f"（{where}）" if language == "zh" else f" ({where})"
        names.append(name)
    return ("、" if language == "zh" else "; ").join(names)


def _values(purpose: Purpose, org: Organisation, language: Language) -> dict[str, str]:
    strings = _strings(language)
    purpose = localized(purpose, language)  # issue-13: the purpose's texts in this language
    controller = _field(purpose.controller) or _field(org.name)
    values = {
        "organisation": _field(org.name),
        "controller": controller,
        "purpose_title": _field(purpose.title),
        "purpose_version": str(int(purpose.version)),
        "contact": _field(purpose.contact).rstrip(_TRAILING_STOP),
        "retention_days": str(int(purpose.retention_days)),
        "alternative": _field(purpose.alternative).rstrip(_TRAILING_STOP),
        "description": _field(purpose.description) or strings["no_description"],
        "recipients": _field(purpose.recipients)
        or strings["no_recipients"].replace("{controller}", controller),
        "devices": _device_list(purpose, language),
        "revocation_hours": str(int(purpose.revocation_hours)),
    }
    # issue-15 point 7: legal basis, DPO, regulator and retention per data kind, by jurisdiction
    values.update({k: _field(v) for k, v in disclosure_law.values(purpose, org, language).items()})
    return values


def render_text(purpose: Purpose, org: Organisation, language: Language) -> str:
    """The normalised disclosure text (see :func:`render_disclosure`)."""
    language = _check_language(language)
    disclosure_law.require_complete(purpose, org)  # issue-15: nothing the law requires missing
    body = _apply_blocks(
        _template(language).replace("\r\n", "\n"),
        {
            "keep_photos": bool(purpose.keep_photos),
            **disclosure_law.flags(org, purpose),  # issue-15 point 7
            "devices": bool(purpose.devices),
        },
    )
    values = _values(purpose, org, language)

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ValueError(f"disclosure template uses unknown placeholder {key!r}")
        return values[key]

    # One pass: text coming from a value is never scanned again, so a purpose title that
    # happens to contain "{contact}" is printed literally.
    return normalise_text(_PLACEHOLDER.sub(substitute, body))


def render_disclosure(purpose: Purpose, org: Organisation, language: Language) -> Disclosure:
    """Render the disclosure a person reads, in *their* language, for one purpose version.

    The operator's UI language is irrelevant here: the lead passes the person's language. The
    returned ``sha256`` is what the consent record stores as ``text_sha256``.
    """
    text = render_text(purpose, org, language)
    return Disclosure(
        purpose_version_id=purpose.version_id,
        language=language,
        text=text,
        sha256=text_sha256(text),
    )
