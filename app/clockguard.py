"""The clock is checked before anything is purged.

Retention erases people for good when their time is up, and "time" is the workstation's clock.
A clock set two years ahead (a dead CMOS battery, a mistyped date) would erase everyone at the
next unlock. So the vault keeps the last time it saw (``meta.clock_last_seen``); at unlock, a
clock more than ``clock_jump_days`` (a setting, default 7) ahead of it, or more than a few
minutes behind it, *holds* automatic purge. The hold is shown (``Desk.clock_hold``) and lasts
until an admin confirms the date (``purge-expired --confirm-clock``), which is audited.

The last time seen is not advanced while a hold is on, so a session run with a wrong clock does
not become the new normal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

from app.audit import AuditLog
from app.db import Connection, fetch_one
from app.errors import ConsentDeskError, PermissionDenied
from app.session import Session
from app.values import _iso

META_LAST_SEEN = "clock_last_seen"
# NTP corrections and time-zone-free UTC storage make small backward steps normal.
BACKWARD_TOLERANCE = dt.timedelta(minutes=10)


class ClockUnconfirmed(ConsentDeskError):
    """Purge refused until an admin confirms the system date."""

    code = "clock_unconfirmed"
    exit_code = 9


@dataclass(frozen=True)
class ClockHold:
    """Why automatic purge is held: the clock moved ``direction`` by ``days`` since last seen."""

    last_seen: dt.datetime
    now: dt.datetime
    direction: Literal["forward", "backward"]
    days: float


class ClockGuard:
    def __init__(
        self,
        conn: Callable[[], Connection],
        audit: AuditLog,
        *,
        write: Callable[[], AbstractContextManager[Any]],
        setting: Callable[[str], str],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._conn = conn  # looked up each time: a rekey replaces the connection
        self._audit = audit
        self._write = write
        self._setting = setting
        self._clock = clock

    @classmethod
    def for_session(cls, s: Session, setting: Callable[[str], str]) -> ClockGuard:
        """Reads and writes through the session, so the last time seen commits with the
        sign-in's own audit entry and the tests' fake clock is the one checked."""
        return cls(lambda: s.conn, s.audit, write=s.write, setting=setting, clock=s.now)

    def last_seen(self) -> dt.datetime | None:
        """From the vault meta. A vault from before this check is seeded once from its newest
        audit entry (every unlock writes one) and from then on only the meta counts, so a
        session run with a wrong clock cannot move it through its own audit entries."""
        row = fetch_one(self._conn(), "SELECT value FROM meta WHERE key = ?", (META_LAST_SEEN,))
        if row is not None:
            return dt.datetime.fromisoformat(bytes(row["value"]).decode())
        row = fetch_one(self._conn(), "SELECT at FROM audit ORDER BY seq DESC LIMIT 1")
        if row is None:
            return None
        seeded = dt.datetime.fromisoformat(row["at"])
        with self._write() as conn:
            self._store(conn, seeded)
        return seeded

    @staticmethod
    def _store(conn: Connection, when: dt.datetime) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (META_LAST_SEEN, str(_iso(when)).encode()),
        )

    def check(self) -> ClockHold | None:
        """Compare the clock with the last time seen; None when purging may go ahead."""
        last = self.last_seen()
        if last is None:
            return None
        now = self._clock()
        margin = dt.timedelta(days=float(self._setting("clock_jump_days")))
        delta = now - last
        if delta > margin:
            return ClockHold(last, now, "forward", round(delta / dt.timedelta(days=1), 2))
        if delta < -BACKWARD_TOLERANCE:
            return ClockHold(last, now, "backward", round(-delta / dt.timedelta(days=1), 2))
        return None

    def remember(self, conn: Connection, now: dt.datetime) -> None:
        """Advance the last time seen (inside the caller's transaction); never backwards."""
        row = fetch_one(conn, "SELECT value FROM meta WHERE key = ?", (META_LAST_SEEN,))
        if row is not None and now <= dt.datetime.fromisoformat(bytes(row["value"]).decode()):
            return
        self._store(conn, now)

    def gate(self, hold: ClockHold | None, confirm: bool, actor: str, role: str) -> None:
        """Before a purge: refuse while the clock is unconfirmed; an admin's confirmation is
        audited and makes the current time the last time seen."""
        if not confirm:
            if hold is not None:
                raise ClockUnconfirmed(
                    f"The system clock moved {hold.direction} by {hold.days:g} days since this "
                    "vault was last used, so nothing is purged until an admin confirms the date "
                    "(consentdesk purge-expired --confirm-clock).",
                    params={"direction": hold.direction, "days": hold.days},
                )
            return
        if role != "admin":
            raise PermissionDenied("Only an admin can confirm the system date.")
        now = self._clock()
        last = self.last_seen()
        with self._write() as conn:
            self._store(conn, now)
            self._audit.append(
                actor,
                "clock.confirm",
                details={
                    "last_seen": _iso(last) if last else None,
                    "confirmed_now": _iso(now),
                    "held": hold is not None,
                },
                at=now,
            )
