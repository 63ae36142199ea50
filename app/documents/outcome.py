"""What a withdrawal receipt and an erasure certificate say beyond the counts (issue 10).

A receipt is the person's only evidence of what happened, so it must be true on three points
the counts alone do not cover: who asked (the person, a representative, the retention limit or
an administrator), what was destroyed outside the table (photos, backups brought in line), and
what is still kept afterwards, why, and until when. Kept apart from ``maker`` so the document
builders stay short and every sentence here comes from the catalog (``pdf.*``) in both languages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.documents.labels import label
from app.models import Language, RequestedBy

if TYPE_CHECKING:  # issue 12: the verbs import Outcome; reportlab loads only to render
    from app.documents.drafting import Draft


@dataclass(frozen=True)
class DeviceNotice:
    """A recognition device that held the person's template and was issued a revocation for
    it (issue 17). ``collected``: the device's revocation list has been written since, so the
    revocation has left the desk; at the moment of a withdrawal this is normally still False.
    ``last_collected_at``: when the device last collected its revocations (None: never)."""

    name: str
    templates: int
    collected: bool
    last_collected_at: dt.datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """``backups``: backups kept under ``<home>/backups`` that are brought in line with this
    change right after it (the ledger re-applies it). ``kept_until``: after a withdrawal, the
    latest date the remaining record is erased (inactivity limit), unless consents stay active
    (``still_active``)."""

    requested_by: RequestedBy = "person"
    backups: int = 0
    kept_until: dt.datetime | None = None
    still_active: int = 0
    devices: tuple[DeviceNotice, ...] = ()
    device_hours: int = 24
    """The delay the organisation allows before a revocation must reach a device."""


def requested_row(draft: Draft, outcome: Outcome) -> tuple[str, str]:
    """The "asked for by" row; also recorded in the document's facts."""
    draft.facts["requested_by"] = outcome.requested_by
    lang = draft.language
    return (label(lang, "requested_by"), label(lang, f"requested_by.{outcome.requested_by}"))


def withdrawal_remains(draft: Draft, outcome: Outcome) -> None:
    from app.documents.layout import para

    """What the workstation still holds after a withdrawal, why, and until when."""
    lang, s = draft.language, draft.styles
    draft.facts["backups_brought_in_line"] = outcome.backups
    draft.add(para(label(lang, "section.remains"), s.h2))
    if outcome.still_active:
        text = label(lang, "withdrawal.remains_active", count=outcome.still_active)
    elif outcome.kept_until is not None:
        draft.facts["kept_until"] = outcome.kept_until.isoformat()
        text = label(lang, "withdrawal.remains", until=draft.when(outcome.kept_until))
    else:
        text = label(lang, "withdrawal.remains_open")
    draft.add(para(text, s.body), para(_backups(lang, outcome.backups), s.body))


def devices_told(draft: Draft, outcome: Outcome) -> None:
    from app.documents.layout import grid_table, para

    """Which recognition devices held the template, were told to delete it, and whether the
    revocation has been collected yet. Nothing is printed when no device held it."""
    if not outcome.devices:
        return
    lang, s = draft.language, draft.styles
    draft.facts["devices_told"] = [
        {"device": d.name, "templates": d.templates, "collected": d.collected}
        for d in outcome.devices
    ]
    never = label(lang, "devices.never")
    draft.add(
        para(label(lang, "section.devices_told"), s.h2),
        para(label(lang, "devices.told", hours=outcome.device_hours), s.body),
        grid_table(
            [
                label(lang, "devices.device"),
                label(lang, "devices.templates"),
                label(lang, "devices.last_collected"),
                label(lang, "devices.acknowledged"),
            ],
            [
                [
                    d.name,
                    str(d.templates),
                    draft.when(d.last_collected_at) if d.last_collected_at else never,
                    label(lang, "devices.ack_yes" if d.collected else "devices.ack_no"),
                ]
                for d in outcome.devices
            ],
            s,
            [2.2, 1, 2.2, 2.6],
        ),
    )


def erasure_remains(draft: Draft, outcome: Outcome) -> None:
    from app.documents.layout import para

    """What is kept after an erasure (nothing that names the person) and why."""
    lang, s = draft.language, draft.styles
    draft.facts["backups_brought_in_line"] = outcome.backups
    draft.add(
        para(label(lang, "section.remains"), s.h2),
        para(label(lang, "erasure.remains"), s.body),
        para(_backups(lang, outcome.backups), s.body),
    )


def _backups(lang: Language, count: int) -> str:
    if count:
        return label(lang, "backups.reapplied", count=count)
    return label(lang, "backups.none")
