"""What the law of the organisation's jurisdiction makes the disclosure say, and what it may not
leave out (issue 15, point 7).

GDPR Art. 13 and PIPL Art. 17 list what a person must be told before their data is collected:
who is responsible and how to reach them, the legal basis, how long each kind of data is kept,
every right they have and where they can complain. ConsentDesk only ever processes face data on
the person's consent, so the legal basis is a fixed text per law; the contacts come from the
settings (``dpo_contact``, ``regulator``) unless the purpose names its own (``legal_basis``,
``dpo_contact``, ``regulator``: the purpose wins).

Where the law needs a field and nothing sensible can stand in for it, the disclosure is not
rendered at all: a person must never be shown (or sign) a text that omits something the law
requires. So under GDPR (EU and its member states) a missing supervisory authority or data
protection officer blocks every disclosure, on screen and printed, with an error naming what to
set; under PIPL the cyberspace administration is the default authority and a protection officer
is printed when one is set (Art. 52 makes one mandatory only above a volume the CAC sets).
"""

from __future__ import annotations

from typing import Literal

from app.errors import InvalidInput
from app.i18n import shipped_catalog
from app.models import Language, Organisation, Purpose
from app.settings_schema import GUARDIAN_FLOORS

Law = Literal["pipl", "gdpr", "uk_gdpr", "other"]

#: The jurisdiction codes under GDPR: the EU as a whole and each member state.
GDPR_JURISDICTIONS = frozenset(GUARDIAN_FLOORS) - {"CN", "US", "GB"}
#: How each law is called in an error message (the same in both languages).
LAW_NAMES: dict[Law, str] = {
    "pipl": "PIPL",
    "gdpr": "GDPR",
    "uk_gdpr": "UK GDPR",
    "other": "",
}
#: The flags the templates' ``{?...}`` blocks test.
FLAGS = ("gdpr", "pipl", "other_law", "dpo")


def law_of(jurisdiction: str) -> Law:
    if jurisdiction == "CN":
        return "pipl"
    if jurisdiction == "GB":
        return "uk_gdpr"
    if jurisdiction in GDPR_JURISDICTIONS:
        return "gdpr"
    return "other"


def _text(key: str, language: Language) -> str:
    return shipped_catalog().text(key, language)


def _clean(value: str) -> str:
    return " ".join(value.split()).rstrip(".。．! ")


def regulator(purpose: Purpose, org: Organisation, language: Language) -> str:
    """The authority named as the place to complain: the purpose's own, else the setting, else
    the jurisdiction's default; "" when the law needs one and none is set."""
    chosen = _clean(purpose.regulator) or _clean(org.regulator)
    if chosen:
        return chosen
    law = law_of(org.jurisdiction)
    if law in ("pipl", "uk_gdpr"):
        return _text(f"disclosure.regulator.{law}", language)
    if law == "other":
        return _text("disclosure.no_regulator", language)
    return ""


def dpo_contact(purpose: Purpose, org: Organisation) -> str:
    """The data protection contact: the purpose's own, else the setting."""
    return _clean(purpose.dpo_contact) or _clean(org.dpo_contact)


def require_complete(purpose: Purpose, org: Organisation) -> None:
    """Refuse to issue a disclosure that would lack a field the law requires (see module)."""
    law = law_of(org.jurisdiction)
    name = LAW_NAMES[law] or org.jurisdiction
    params: dict[str, object] = {"law": name, "jurisdiction": org.jurisdiction}
    if not (_clean(purpose.controller) or _clean(org.name)) or not _clean(purpose.contact):
        raise InvalidInput(
            "The disclosure must name the organisation responsible for the data and how to "
            "contact it: set the organisation's name and the purpose's contact first.",
            code="disclosure_contact_missing",
            params=params,
        )
    if law in ("gdpr", "uk_gdpr") and not dpo_contact(purpose, org):
        raise InvalidInput(
            f"Under {name} the disclosure must name the data protection officer and how "
            "to reach them: an administrator sets it in Settings (data protection officer) first.",
            code="disclosure_dpo_missing",
            params=params,
        )
    if not regulator(purpose, org, "en"):
        raise InvalidInput(
            f"Under {name} the disclosure must name the supervisory authority people "
            "can complain to: an administrator sets it in Settings (supervisory authority) or on "
            "the purpose first.",
            code="disclosure_regulator_missing",
            params=params,
        )


def flags(org: Organisation, purpose: Purpose) -> dict[str, bool]:
    law = law_of(org.jurisdiction)
    return {
        "gdpr": law in ("gdpr", "uk_gdpr"),
        "pipl": law == "pipl",
        "other_law": law == "other",
        "dpo": bool(dpo_contact(purpose, org)),
    }


def values(purpose: Purpose, org: Organisation, language: Language) -> dict[str, str]:
    """The template's legal placeholders (legal basis, contacts, retention of each data kind)."""
    law = law_of(org.jurisdiction)
    dpo_title = "pipl" if law == "pipl" else "gdpr"
    own_basis = _clean(purpose.legal_basis)
    return {
        # the purpose's own legal basis (already in ``language``: see app.purpose_texts) wins
        "legal_basis": own_basis + ("。" if language == "zh" else ".")
        if own_basis
        else _text(f"disclosure.legal_basis.{law}", language),
        "dpo_title": _text(f"disclosure.dpo_title.{dpo_title}", language),
        "dpo_contact": dpo_contact(purpose, org),
        "regulator": regulator(purpose, org, language),
        "inactivity_days": str(int(org.inactivity_days)),
        "backup_days": str(int(org.backup_days)),
    }
