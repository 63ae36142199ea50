"""The full integrity check of an open vault: when it is due, running it, what it found.

Why a room of its own (issue 12): sign-in runs only the cheap checks (``app.integrity``), so
the full page-by-page check must still happen, at least daily, and its verdict must matter. The
UI runs :meth:`Integrity.run_full` on its background helper after sign-in when :meth:`due`;
``unlock-check --full`` runs it on demand. A failure locks writes for this session and is kept
in ``meta`` (so the next sign-in locks writes again) and in the audit log; a later full check
that passes (after a restore, say) lifts it. The last check's time is shown in Settings and by
``compliance``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from dataclasses import dataclass

from app.counts import recount
from app.db import fetch_one
from app.integrity import FULL_CHECK_INTERVAL, FullCheck, FullCheckResult, Progress
from app.session import Session
from app.values import _dt, _iso

META_KEY = "full_check"


@dataclass(frozen=True)
class FullCheckStatus:
    """The last full check recorded in the vault (none yet: ``at`` is None)."""

    at: dt.datetime | None
    ok: bool | None
    seconds: float | None
    due: bool


class Integrity:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._running: FullCheck | None = None
        self._guard = threading.Lock()

    def status(self) -> FullCheckStatus:
        row = self._s.read(
            lambda c: fetch_one(c, "SELECT value FROM meta WHERE key = ?", (META_KEY,))
        )
        doc: dict[str, object] = {}
        if row is not None:
            with contextlib.suppress(ValueError, TypeError):
                doc = json.loads(bytes(row["value"]).decode())
        at = _dt(str(doc["at"])) if doc.get("at") else None
        ok = bool(doc["ok"]) if "ok" in doc else None
        seconds = float(str(doc["seconds"])) if "seconds" in doc else None
        due = at is None or ok is not True or self._s.now() - at >= FULL_CHECK_INTERVAL
        # issue-11: a read-only session (full disk) could not record the check's date.
        due = due and not self._s.vault.read_only
        return FullCheckStatus(at, ok, seconds, due)

    def due(self) -> bool:
        return self.status().due

    def apply_recorded(self) -> None:
        """At sign-in: a failure recorded by an earlier check keeps writes locked."""
        if self.status().ok is False:
            self._s.writes_locked = "integrity_failed"

    def run_full(self, progress: Progress | None = None) -> FullCheckResult:
        """Both full checks on a connection of their own (the desk keeps working meanwhile).

        Safe to call from a background thread; :meth:`cancel` (at lock) stops it early."""
        s = self._s
        check = FullCheck(s.vault.paths.database, s.vault.data_key)
        with self._guard:
            self._running = check
        try:
            result = check.run(s.now, progress)
        finally:
            with self._guard:
                self._running = None
        if not result.cancelled and not s.locked:
            self._record(result)
        return result

    def cancel(self) -> None:
        with self._guard:
            if self._running is not None:
                self._running.cancel()

    def _record(self, result: FullCheckResult) -> None:
        s = self._s
        if not result.ok:
            s.writes_locked = "integrity_failed"
        doc = {"at": _iso(result.at), "ok": result.ok, "seconds": round(result.seconds, 3)}
        # A damaged file may refuse even this write; the lock above holds regardless.
        with contextlib.suppress(Exception), s.write(despite_damage=True) as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (META_KEY, json.dumps(doc).encode()),
            )
            s.audit.append(
                s.actor,
                "vault.full_check",
                details={"ok": result.ok, "problems": len(result.problems)},
                at=result.at,
            )
            if result.ok:
                # issue 12: the statistics' counters against real counts, once a day. They
                # are kept by triggers and should never differ; if one does (a trigger dropped
                # outside ConsentDesk), it is set right and the repair is on record.
                drift = recount(conn)
                if drift:
                    s.audit.append(
                        s.actor, "counters.repaired", details={"counters": sorted(drift)}
                    )
        if result.ok:
            s.writes_locked = None
