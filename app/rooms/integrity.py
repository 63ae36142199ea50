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
from dataclasses import dataclass, replace

from app.counts import recount
from app.db import Connection, fetch_one
from app.doc_parts import repair_refs
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
            result = self._record(result)
        return result

    def cancel(self) -> None:
        with self._guard:
            if self._running is not None:
                self._running.cancel()

    def _record(self, result: FullCheckResult) -> FullCheckResult:
        """Keep the verdict; after a passing check, set right what was out of step (returned
        in ``repaired``, and on record in the audit log)."""
        s = self._s
        if not result.ok:
            s.writes_locked = "integrity_failed"
        doc = {"at": _iso(result.at), "ok": result.ok, "seconds": round(result.seconds, 3)}
        repaired: list[str] = []
        found: list[str] = []
        # A damaged file may refuse even this write; the lock above holds regardless.
        with contextlib.suppress(Exception):
            with s.write(despite_damage=True) as conn:
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
                        found += [f"counter {n}: {a} -> {b}" for n, (a, b) in sorted(drift.items())]
                    if result.parts_off:
                        found += self._repair_parts(conn)
            repaired = found  # reached only when the transaction committed
        if result.ok:
            s.writes_locked = None
        return replace(result, repaired=tuple(repaired))

    def _repair_parts(self, conn: Connection) -> list[str]:
        """The shared document parts' reference counts, kept by triggers like the counters.

        Counted on the check's snapshot, off the lock; only when one was off are they counted
        again here, inside this write transaction (every document row read once), and set
        right: a part no document names is deleted as the triggers would have done."""
        s = self._s
        fixed = repair_refs(conn)
        if not fixed.off:
            return []  # set right meanwhile (a restore, say)
        orphans = sum(1 for _stored, real in fixed.off.values() if real == 0)
        s.audit.append(
            s.actor,
            "document_parts.repaired",
            details={"parts": len(fixed.off), "deleted": orphans},
        )
        return [
            f"document part {sha[:12]}: refs {stored} -> {real}"
            + (" (named by no document: deleted)" if real == 0 else "")
            for sha, (stored, real) in sorted(fixed.off.items())
        ][:20]
