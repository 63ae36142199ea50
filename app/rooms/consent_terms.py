"""The terms a consent must meet before it is stored (issue 13): age and guardian, paper forms.

Why apart from ``app.rooms.consents``: these are rules about what the record may claim, not about
storing it. A child is enrolled only with a guardian's name, so every enrollment needs either a
date of birth or an explicit attestation that stands in for it, recorded with who made it. A
paper consent is a record that a person signed a paper form on a given day: it names the purpose
version in force on that day, keeps data from that day on, and claims nothing that happened at a
camera.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.disclosure import normalise_text, text_sha256
from app.errors import InvalidInput
from app.i18n import shipped_catalog
from app.models import AgeBasis, Disclosure, Language, Organisation, Purpose
from app.rooms.purposes import Purposes
from app.session import Session


def age_in_years(date_of_birth: dt.date, today: dt.date) -> int:
    return (
        today.year
        - date_of_birth.year
        - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
    )


def age_basis(
    session: Session, date_of_birth: dt.date | None, claimed: AgeBasis | None
) -> AgeBasis:
    """How this enrollment knows whether a guardian must sign. A date of birth decides it; without
    one the operator must attest "adult, identity document seen" (the attestation is recorded with
    their name). "Adult according to the organisation's records" is for an admin's bulk import of
    paper consents only, where nobody stands at the desk."""
    if date_of_birth is not None:
        return "date_of_birth"
    if claimed == "id_document_seen":
        return claimed
    if claimed == "organisation_records":
        session.require_admin()
        return claimed
    raise InvalidInput(
        "A date of birth is needed for every enrollment, or the operator's attestation that "
        "the person is an adult and their identity document was seen.",
        code="date_of_birth_required",
    )


def _local_date(at: dt.datetime, org: Organisation) -> dt.date:
    try:
        return at.astimezone(ZoneInfo(org.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return at.astimezone(dt.UTC).date()


def version_in_force(
    purposes: Purposes, purpose_id: int, signed_on: dt.date, org: Organisation, today: dt.date
) -> Purpose:
    """The purpose version the paper form was signed under: the last one created on or before
    the signing date. A date before the first version, or after today, is refused: the form
    cannot have been signed for a purpose that did not exist yet, nor tomorrow."""
    if signed_on > today:
        raise InvalidInput("The paper form's signing date is in the future.", code="paper_future")
    versions = purposes.versions(purpose_id)
    in_force = [
        v for v in versions if v.created_at is None or _local_date(v.created_at, org) <= signed_on
    ]
    if not in_force:
        first = versions[0].created_at
        when = _local_date(first, org).isoformat() if first else "?"
        raise InvalidInput(
            f"The paper form's signing date is before this purpose existed (version 1: {when}).",
            code="paper_before_purpose",
            params={"date": when},
        )
    return in_force[-1]


def paper_expiry(signed_on: dt.date, days: int) -> dt.datetime:
    """Retention counts from the day the person signed, not from the import."""
    return dt.datetime.combine(signed_on, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=days)


def check_not_expired(expires: dt.datetime, now: dt.datetime) -> None:
    if expires <= now:
        when = expires.date().isoformat()
        raise InvalidInput(
            f"This paper consent already expired on {when} (retention counts from the signing "
            "date); ask the person again.",
            code="paper_expired",
            params={"date": when},
        )


def paper_record_text(
    *,
    language: Language,
    org: Organisation,
    in_force: Purpose,
    signed_on: dt.date,
    reference: Disclosure,
    reference_version: int,
    supplied_photo: bool,
) -> str:
    """The consent's stored text for a paper consent: what the record is (a signed paper form),
    which purpose version was in force, how the templates were made, and that today's disclosure
    is attached for reference only. Its SHA-256 is the consent's ``text_sha256``."""
    cat = shipped_catalog()
    parts = [
        cat.text("paper.record.title", language),
        cat.text("paper.record.signed", language).format(
            date=signed_on.isoformat(),
            title=in_force.title,
            version=in_force.version,
            org=org.name,
        ),
        cat.text("paper.record.form", language),
    ]
    if supplied_photo:
        parts.append(cat.text("paper.record.photo", language))
    parts.append(
        cat.text("paper.record.reference", language).format(
            version=reference_version, sha256=reference.sha256
        )
    )
    return normalise_text("\n\n".join(parts))


def paper_record_sha256(text: str) -> str:
    return text_sha256(text)
