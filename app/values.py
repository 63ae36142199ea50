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
    bits = secrets.randbits(50)  # ten letters of a 32-letter alphabet, 5 bits each
    return prefix + "".join(_ID_ALPHABET[(bits >> (5 * i)) & 31] for i in range(10))


_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
