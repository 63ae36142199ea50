"""Small value helpers shared by the vault's modules: UTC timestamps as ISO text, random IDs."""

from __future__ import annotations

import datetime as dt
import secrets


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds") if value else None


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _new_id(prefix: str) -> str:
    """Random IDs (not derived from anything about the person), so an ID alone identifies no one
    and the audit log can keep it after erasure."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(10))
