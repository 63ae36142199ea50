"""Devices joining or leaving a purpose change what its disclosure says (issue 17).

A person consents to a purpose as it was described to them. Handing their template to a door is
a new recipient, so adding a device to a purpose is a *material* change in the sense of
:mod:`app.rooms.materiality` (issue 13): it makes a new purpose version, whose disclosure names
the device, and every active consent of an older version needs re-consent (its templates stop
matching and no door is given them until the person signs the new text). Removing a device also
makes a new version, so people enrolled afterwards are not told about a device that is gone, but
it is not material: it only takes a recipient away.

The version's devices are a snapshot in ``purpose_version_devices`` (migration 9), written in
the same transaction as the device row, the new version and the audit entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.rooms.materiality import mark_for_reconsent
from app.rooms.purposes import PURPOSE_FIELDS
from app.values import _iso


@dataclass(frozen=True)
class DeviceVersion:
    """What a device change did to its purpose: the new version, whether it was material and
    how many consents now wait for re-consent."""

    purpose_id: int
    version: int
    material: bool
    reconsent_needed: int


def new_device_version(
    desk: Any,
    conn: Any,
    purpose_id: int,
    now: dt.datetime,
    *,
    add: str | None = None,
    remove: str | None = None,
) -> DeviceVersion:
    """Inside the caller's transaction: a new version of the purpose with the same wording and
    the device snapshot changed (``add`` or ``remove`` a device ID). Adding is material: older
    versions' active consents are marked for re-consent (their doors get revocations now).
    The caller calls ``desk.faces.reload()`` after COMMIT when ``reconsent_needed``."""
    current = desk.purposes.get(purpose_id)
    version = current.version + 1
    values = {f: getattr(current, f) for f in PURPOSE_FIELDS}
    desk.purposes._insert_version(conn, purpose_id, version, values, _iso(now))
    new_id = int(
        conn.execute(
            "SELECT id FROM purpose_versions WHERE purpose_id = ? AND version = ?",
            (purpose_id, version),
        ).fetchone()[0]
    )
    hours = int(desk.get_float("device_overdue_hours"))
    # The insert copied the previous version's devices; change the snapshot and the promise.
    conn.execute(
        "DELETE FROM purpose_version_devices WHERE purpose_version_id = ? AND device_id IS ?",
        (new_id, remove),
    )
    if add is not None:
        conn.execute(
            "INSERT INTO purpose_version_devices (purpose_version_id, device_id, name, location, "
            "revocation_hours) SELECT ?, id, name, location, ? FROM devices WHERE id = ?",
            (new_id, hours, add),
        )
    conn.execute(
        "UPDATE purpose_version_devices SET revocation_hours = ? WHERE purpose_version_id = ?",
        (hours, new_id),
    )
    marked: list[str] = []
    due = now + dt.timedelta(days=int(desk.get_float("reconsent_grace_days")))
    if add is not None:
        marked = mark_for_reconsent(conn, purpose_id, version, due)
    desk.session.audit.append(
        desk.user.username,
        "purpose.edit",
        None,
        {
            "purpose": purpose_id,
            "version": version,
            "fields": ["devices"],
            "material": add is not None,
            "reconsent_needed": len(marked),
            "device_added" if add is not None else "device_removed": add or remove,
        },
        at=now,
    )
    if marked:
        desk.session.audit.append(
            desk.user.username,
            "consent.reconsent_needed",
            None,
            {
                "purpose": purpose_id,
                "version": version,
                "consents": marked,
                "destroy_after": _iso(
                    now + dt.timedelta(days=int(desk.get_float("reconsent_grace_days")))
                ),
            },
            at=now,
        )
    return DeviceVersion(purpose_id, version, add is not None, len(marked))
