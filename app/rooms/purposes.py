"""Purposes and their versions: ``purposes`` and ``purpose_versions``.

A purpose is never edited in place: each edit is a new version, and a consent points at the
version whose text the person was shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from app.db import Connection, Row, fetch_all, fetch_one
from app.disclosure import render_disclosure
from app.errors import InvalidInput, NotFound
from app.models import Disclosure, Language, Purpose, PurposeDevice
from app.purpose_texts import ZH_FIELDS, require_language
from app.rooms.materiality import decide, mark_for_reconsent
from app.rooms.settings import Settings
from app.session import Session
from app.validation import purpose_values
from app.values import _dt, _iso

# issue-15 point 7: the purpose's own legal basis and DPO contact (migration 11)
LEGAL_FIELDS = ("legal_basis", "dpo_contact")

PURPOSE_FIELDS = (
    "title",
    "controller",
    "contact",
    "description",
    "recipients",
    "regulator",
    "retention_days",
    "alternative",
    "keep_photos",
    *ZH_FIELDS,  # issue-13
    *LEGAL_FIELDS,  # issue-15
)

PURPOSE_SQL = (
    "SELECT purpose_id, version, id, title, controller, contact, retention_days, alternative, "
    "description, recipients, regulator, keep_photos, created_at, title_zh, controller_zh, "
    "description_zh, recipients_zh, regulator_zh, alternative_zh, "
    "legal_basis, legal_basis_zh, dpo_contact, "
    # issue-17: the version's device snapshot (app.devices.schema, migration 9)
    "(SELECT json_group_array(json_array(d.name, d.location, d.revocation_hours)) "
    "FROM purpose_version_devices d WHERE d.purpose_version_id = purpose_versions.id) AS devices "
    "FROM purpose_versions "
)


def _devices(raw: str | None) -> tuple[tuple[PurposeDevice, ...], int]:
    """The device snapshot of a version, by name, and the delay it promised."""
    found = sorted(json.loads(raw or "[]"), key=lambda d: (str(d[0]).casefold(), str(d[1])))
    hours = max((int(d[2]) for d in found), default=24)
    return tuple(PurposeDevice(str(d[0]), str(d[1])) for d in found), hours


def purpose_from_row(r: Row) -> Purpose:
    devices, hours = _devices(r["devices"])
    return Purpose(
        id=r["purpose_id"],
        version=r["version"],
        version_id=r["id"],
        title=r["title"],
        controller=r["controller"],
        contact=r["contact"],
        retention_days=r["retention_days"],
        alternative=r["alternative"],
        description=r["description"],
        recipients=r["recipients"],
        regulator=r["regulator"],
        keep_photos=bool(r["keep_photos"]),
        created_at=_dt(r["created_at"]),
        **{f: r[f] or "" for f in ZH_FIELDS},
        **{f: r[f] or "" for f in LEGAL_FIELDS},
        devices=devices,
        revocation_hours=hours,
    )


class Purposes:
    """Adds and versions purposes and renders the disclosure text of their current version."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        stop_matching: Callable[[], None] = lambda: None,
    ) -> None:
        self._s = session
        self._settings = settings
        # Called after a material edit committed: the loaded gallery still holds the templates
        # that now wait for re-consent, and must not match them one second longer.
        self._stop_matching = stop_matching

    def add(
        self,
        *,
        title: str,
        controller: str,
        contact: str,
        retention_days: int,
        alternative: str,
        description: str = "",
        recipients: str = "",
        regulator: str = "",
        keep_photos: bool = False,
        legal_basis: str = "",
        dpo_contact: str = "",
        **texts_zh: str,
    ) -> Purpose:
        s = self._s
        s.require_admin()
        unknown = set(texts_zh) - set(ZH_FIELDS)
        if unknown:
            raise InvalidInput(f"Unknown purpose field: {', '.join(sorted(unknown))}")
        values = purpose_values(
            **texts_zh,
            title=title,
            controller=controller,
            contact=contact,
            retention_days=retention_days,
            alternative=alternative,
            description=description,
            recipients=recipients,
            regulator=regulator,
            keep_photos=keep_photos,
            legal_basis=legal_basis,
            dpo_contact=dpo_contact,
        )
        now = _iso(s.now())
        with s.write() as conn:
            pid = int(
                conn.execute("INSERT INTO purposes (created_at) VALUES (?)", (now,)).lastrowid
            )
            self._insert_version(conn, pid, 1, values, now)
            s.audit.append(s.actor, "purpose.add", details={"purpose": pid, "version": 1})
        return self.get(pid)

    def _insert_version(
        self, conn: Connection, pid: int, version: int, values: Mapping[str, Any], now: str | None
    ) -> None:
        conn.execute(
            "INSERT INTO purpose_versions (purpose_id, version, title, controller, contact, "
            "description, recipients, regulator, retention_days, alternative, keep_photos, "
            "created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                pid,
                version,
                values["title"],
                values["controller"],
                values["contact"],
                values["description"],
                values["recipients"],
                values["regulator"],
                values["retention_days"],
                values["alternative"],
                int(values["keep_photos"]),
                now,
                self._s.actor,
            ),
        )
        extra = (*ZH_FIELDS, *LEGAL_FIELDS)  # issue-13, issue-15
        texts = [values.get(f) or "" for f in extra]
        conn.execute(
            "UPDATE purpose_versions SET "
            + ", ".join(f"{f} = ?" for f in extra)
            + " WHERE purpose_id = ? AND version = ?",
            (*texts, pid, version),
        )
        # issue-17: a new version names the same devices as the one before it (a device joins
        # or leaves only through app.devices.disclosure), so editing the wording or signing the
        # necessity test again never silently drops a door from the disclosure.
        conn.execute(
            "INSERT INTO purpose_version_devices (purpose_version_id, device_id, name, location, "
            "revocation_hours) SELECT n.id, d.device_id, d.name, d.location, d.revocation_hours "
            "FROM purpose_version_devices d "
            "JOIN purpose_versions o ON o.id = d.purpose_version_id "
            "JOIN purpose_versions n ON n.purpose_id = o.purpose_id AND n.version = o.version + 1 "
            "WHERE n.purpose_id = ? AND n.version = ?",
            (pid, version),
        )

    def edit(self, purpose_id: int, material: bool | None = None, **changes: Any) -> Purpose:
        """A new version: consents already given keep pointing at the text they saw.

        ``material``: the admin's answer to "does this change need new consent?" (``None``: the
        changed fields decide, see ``app.rooms.materiality``). A material change puts every
        active consent of an older version into re-consent, in the same transaction."""
        s = self._s
        s.require_admin()
        unknown = set(changes) - set(PURPOSE_FIELDS)
        if unknown:
            raise InvalidInput(f"Unknown purpose field: {', '.join(sorted(unknown))}")
        current = self.get(purpose_id)
        merged = {f: getattr(current, f) for f in PURPOSE_FIELDS}
        merged.update({k: v for k, v in changes.items() if v is not None})
        values = purpose_values(**merged)
        changed = [f for f in PURPOSE_FIELDS if values[f] != getattr(current, f)]
        if not changed:
            return current
        # A Chinese text given for the first time changes nothing anyone read in Chinese.
        is_material = decide(
            [f for f in changed if not (f.endswith("_zh") and not getattr(current, f))], material
        )
        now = s.now()
        version = current.version + 1
        due = now + dt.timedelta(days=self._settings.get_int("reconsent_grace_days"))
        with s.write() as conn:
            self._insert_version(conn, purpose_id, version, values, _iso(now))
            marked = mark_for_reconsent(conn, purpose_id, version, due) if is_material else []
            s.audit.append(
                s.actor,
                "purpose.edit",
                details={
                    "purpose": purpose_id,
                    "version": version,
                    "fields": changed,
                    "material": is_material,
                    "reconsent_needed": len(marked),
                },
            )
            if marked:
                s.audit.append(
                    s.actor,
                    "consent.reconsent_needed",
                    details={
                        "purpose": purpose_id,
                        "version": version,
                        "consents": marked,
                        "destroy_after": _iso(due),
                    },
                    at=now,
                )
        if marked:
            self._stop_matching()
        return self.get(purpose_id)

    def get(self, purpose_id: int, version: int | None = None) -> Purpose:
        def q(c: Connection) -> Row | None:
            if version is None:
                return fetch_one(
                    c,
                    PURPOSE_SQL + "WHERE purpose_id = ? ORDER BY version DESC LIMIT 1",
                    (purpose_id,),
                )
            return fetch_one(
                c, PURPOSE_SQL + "WHERE purpose_id = ? AND version = ?", (purpose_id, version)
            )

        row = self._s.read(q)
        if row is None:
            raise NotFound(f"No purpose with ID {purpose_id}.")
        return purpose_from_row(row)

    def version(self, version_id: int) -> Purpose:
        """The exact version a consent points at (by the version's row ID)."""
        row = self._s.read(lambda c: fetch_one(c, PURPOSE_SQL + "WHERE id = ?", (version_id,)))
        if row is None:
            raise NotFound("No such purpose version.")
        return purpose_from_row(row)

    def all(self) -> list[Purpose]:
        rows = self._s.read(
            lambda c: fetch_all(
                c,
                PURPOSE_SQL + "WHERE (purpose_id, version) IN (SELECT purpose_id, max(version) "
                "FROM purpose_versions GROUP BY purpose_id) ORDER BY purpose_id",
            )
        )
        return [purpose_from_row(r) for r in rows]

    def versions(self, purpose_id: int) -> list[Purpose]:
        rows = self._s.read(
            lambda c: fetch_all(
                c, PURPOSE_SQL + "WHERE purpose_id = ? ORDER BY version", (purpose_id,)
            )
        )
        if not rows:
            raise NotFound(f"No purpose with ID {purpose_id}.")
        return [purpose_from_row(r) for r in rows]

    def disclosure(self, purpose_id: int, language: Language) -> Disclosure:
        """The exact text to show the person, for the purpose's current version; refused in a
        language the purpose has no texts in (issue 13)."""
        purpose = self.get(purpose_id)
        require_language(purpose, language)
        return render_disclosure(purpose, self._s.organisation, language)
