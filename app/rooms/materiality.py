"""Which purpose changes need new consent, and marking the consents that do (issue 13).

Consent is given to a purpose, not to a purpose ID. When what the person agreed to changes in
substance (what it is for, who receives the data, how long it is kept, whether a photo is kept)
the old signature no longer covers it: every active consent of an older version is put into
"re-consent needed". Its templates stop matching at once (the gallery and the device handoff
skip them; doors that hold them get revocations now) but are kept for a grace period, so the
person can sign again without a new capture; the retention purge destroys them after that.

The list of material fields lives here, once, for the UI and the CLI alike: an admin may call
any change material, but cannot call a change of one of these fields "not material".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.db import Connection, fetch_all
from app.errors import InvalidInput
from app.models import Purpose
from app.values import _iso

# The fields whose change needs new consent (the purpose and its description, the recipients,
# the retention period, keeping photos). Their Chinese texts count as the same field.
MATERIAL_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "recipients",
    "retention_days",
    "keep_photos",
    "legal_basis",  # issue-15: the ground the person agrees on
)

# Every field a person reads about a purpose, in the order the re-consent page lists changes.
PURPOSE_TEXT_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "recipients",
    "retention_days",
    "keep_photos",
    "controller",
    "contact",
    "regulator",
    "alternative",
)


@dataclass(frozen=True)
class PurposeDifference:
    """One field that differs between the version a person signed and the current one."""

    field: str
    before: str
    after: str
    material: bool


def base_field(name: str) -> str:
    """``description_zh`` counts as ``description``."""
    return name.removesuffix("_zh")


def material_fields_in(changed: Iterable[str]) -> list[str]:
    return sorted({c for c in changed if base_field(c) in MATERIAL_FIELDS})


def decide(changed: Iterable[str], material: bool | None) -> bool:
    """The change's materiality: the admin's answer, never "not material" when a material field
    changed (``None``: no answer given, the fields decide)."""
    forced = material_fields_in(changed)
    if material is False and forced:
        raise InvalidInput(
            "Changing "
            + ", ".join(f.replace("_", " ") for f in forced)
            + " is a material change: the people who consented must be asked again.",
            code="material_change",
            params={"fields": ", ".join(forced)},
        )
    return bool(forced) if material is None else material


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def differences(old: Purpose, new: Purpose, fields: Iterable[str]) -> tuple[PurposeDifference, ...]:
    """What changed between two versions, material fields first (for the re-consent page)."""
    out = [
        PurposeDifference(
            f,
            _text(getattr(old, f)),
            _text(getattr(new, f)),
            base_field(f) in MATERIAL_FIELDS,
        )
        for f in fields
        if getattr(old, f) != getattr(new, f)
    ]
    return tuple(sorted(out, key=lambda d: (not d.material, d.field)))


def mark_for_reconsent(
    conn: Connection, purpose_id: int, version: int, due: dt.datetime
) -> list[str]:
    """Inside the edit's transaction: active consents of older versions need re-consent.

    Their templates leave every door that holds them now (a revocation per template, as the
    deletion trigger would write), and leave ``device_handed`` so a later re-consent hands them
    again under a fresh reference."""
    rows = fetch_all(
        conn,
        "SELECT c.id FROM consents c JOIN purpose_versions v ON v.id = c.purpose_version_id "
        "WHERE v.purpose_id = ? AND v.version < ? AND c.status = 'active' "
        "AND c.reconsent_due_at IS NULL",
        (purpose_id, version),
    )
    ids = [str(r["id"]) for r in rows]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    conn.execute(
        f"UPDATE consents SET reconsent_due_at = ?, reconsent_version = ? WHERE id IN ({marks})",
        [_iso(due), version, *ids],
    )
    revoke_from_devices(conn, ids)
    return ids


def revoke_from_devices(conn: Connection, consent_ids: list[str]) -> None:
    """Revoke the consents' templates on every door that holds them (same rows as the
    ``templates_deleted_revoke`` trigger writes when a template is deleted)."""
    marks = ",".join("?" * len(consent_ids))
    now = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"
    conn.execute(
        "INSERT INTO device_revocations (device_id, ref, person_ref, consent_id, revoked_at) "
        f"SELECT device_id, ref, person_ref, consent_id, {now} FROM device_handed "
        f"WHERE consent_id IN ({marks})",
        consent_ids,
    )
    conn.execute(
        "INSERT INTO device_person_log (device_id, person_id, event, bundle_seq, at) "
        f"SELECT DISTINCT device_id, person_id, 'revoked', NULL, {now} FROM device_handed "
        f"WHERE consent_id IN ({marks})",
        consent_ids,
    )
    conn.execute(f"DELETE FROM device_handed WHERE consent_id IN ({marks})", consent_ids)


def supersede(
    conn: Connection, old_ids: list[str], new_id: str, actor: str, now: dt.datetime
) -> None:
    """End consents replaced by a newer one for the same purpose (the status change drops any
    template still attached to them, through the database trigger)."""
    if not old_ids:
        return
    marks = ",".join("?" * len(old_ids))
    conn.execute(
        f"UPDATE consents SET status = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
        f"withdraw_reason = ? WHERE id IN ({marks})",
        [_iso(now), actor, f"superseded by consent {new_id}", *old_ids],
    )
