"""The settings table, checked against the typed schema (``app.settings_schema``), and the
organisation's name (kept in ``meta``: documents print it, and it is set once at ``init``)."""

from __future__ import annotations

from app.db import fetch_one
from app.errors import InvalidInput, PermissionDenied
from app.models import Organisation
from app.session import Session
from app.settings_schema import (
    DEFAULT_SETTINGS,
    SCHEMA,
    SettingSpec,
    effective,
    guardian_floor,
    parse,
    spec_of,
)
from app.validation import clean_name


class Settings:
    """Reads and changes settings; every change is checked against its spec and role first."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, key: str) -> str:
        spec_of(key)
        row = self._s.read(
            lambda c: fetch_one(c, "SELECT value FROM settings WHERE key = ?", (key,))
        )
        return str(row["value"]) if row else DEFAULT_SETTINGS[key]

    def get_float(self, key: str) -> float:
        return float(self.get(key))

    def get_int(self, key: str) -> int:
        return int(float(self.get(key)))

    def all(self) -> dict[str, str]:
        return {k: self.get(k) for k in DEFAULT_SETTINGS}

    @property
    def jurisdiction(self) -> str:
        return self.get("jurisdiction")

    def guardian_age(self) -> int:
        """The age below which a guardian must sign: never below the jurisdiction's floor, even
        if a vault from before the floor existed holds a lower value."""
        return max(self.get_int("guardian_age"), guardian_floor(self.jurisdiction))

    def schema(self) -> tuple[SettingSpec, ...]:
        """Every setting's spec with the ranges that apply in this vault right now."""
        jurisdiction = self.jurisdiction
        return tuple(effective(s, jurisdiction) for s in SCHEMA)

    def spec(self, key: str) -> SettingSpec:
        return effective(spec_of(key), self.jurisdiction)

    def set(self, key: str, value: str | float | int) -> str:
        """Store a checked value and return its stored text form."""
        spec = self.spec(key)
        if spec.who == "admin" and self._s.user.role != "admin":
            raise PermissionDenied(
                f"Only an admin can change the setting {key}.",
                code="setting_admin_only",
                params={"setting": key},
            )
        text = parse(spec, value)
        if key == "jurisdiction":
            floor = guardian_floor(text)
            if self.get_int("guardian_age") < floor:
                raise InvalidInput(
                    f"Under {text} the guardian age must be at least {floor}; raise the guardian "
                    "age first.",
                    code="setting_guardian_floor",
                    params={"jurisdiction": text, "min": floor},
                )
        with self._s.write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, text),
            )
            self._s.audit.append(self._s.actor, "settings.set", details={key: text})
        return text

    def rename_organisation(self, name: str) -> Organisation:
        """Documents issued from now on carry the new name; issued ones keep theirs."""
        s = self._s
        s.require_admin()
        new = clean_name(name, "organisation name", limit=200)
        with s.write() as conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'org_name'", (new.encode(),))
            s.audit.append(s.actor, "organisation.rename")
        return s.organisation
