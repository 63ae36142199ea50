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
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from app.counts import recount
from app.db import Connection, fetch_one
from app.doc_parts import repair_refs
from app.errors import VaultError
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


# Seconds work that needs the vault file alone (a rekey) waits for a running check to let go.
YIELD_TIMEOUT = 30.0
_REASK = 0.1  # an interrupt that lands between two of the check's statements is lost: ask again


class Integrity:
    def __init__(self, session: Session, yield_timeout: float = YIELD_TIMEOUT) -> None:
        self._s = session
        self._running: set[FullCheck] = set()
        self._alone = 0  # rekeys under way: no check runs meanwhile
        self._guard = threading.Condition()
        self.yield_timeout = yield_timeout
        #: Set while a rekey waits for, or holds, the vault file alone (a check's progress
        #: callback may watch it; the check itself stops at its next step).
        self.yield_asked = threading.Event()

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

        Safe to call from a background thread; :meth:`cancel` (at lock) stops it early, and it
        yields to a rekey (:meth:`alone`): a cancelled check is not recorded, so it stays due."""
        s = self._s
        with self._guard:
            if self._alone:
                return FullCheckResult(False, s.now(), 0.0, cancelled=True)
            check = FullCheck(s.vault.paths.database, s.vault.data_key)
            self._running.add(check)
        try:
            result = check.run(s.now, progress)
            if not result.cancelled and not s.locked:
                result = self._record(result)
        finally:
            with self._guard:
                self._running.discard(check)
                self._guard.notify_all()
        return result

    def cancel(self) -> None:
        with self._guard:
            for check in self._running:
                check.cancel()

    @contextlib.contextmanager
    def alone(self, progress: Progress | None = None) -> Iterator[None]:
        """Hold off the full check while work that needs the vault file alone runs (rekey).

        Why the check yields rather than the rekey waiting for it: the check reads every page
        (minutes at 100,000 people) on a connection of its own, and a rekey can neither leave
        WAL mode while that connection reads (it said "vault busy") nor swap the file under it
        (the check then read the old, zeroed file and called the vault damaged). A check can
        run again at any time; so a running one is cancelled and waited for (its connection
        closed), at most :attr:`yield_timeout` seconds, with ``progress(0.0)`` while waiting
        (it may raise to give up), and none starts until the work is done."""
        report = progress or (lambda _f: None)
        deadline = time.monotonic() + self.yield_timeout
        with self._guard:
            self._alone += 1
            self.yield_asked.set()
        try:
            while True:
                with self._guard:
                    if not self._running:
                        break
                    for check in self._running:
                        check.cancel()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise VaultError(
                            "The background integrity check did not stop in time; nothing was "
                            "changed. Try again in a moment.",
                            code="integrity_check_running",
                        )
                    self._guard.wait(min(left, _REASK))  # woken when a check ends
                report(0.0)
            yield
        finally:
            with self._guard:
                self._alone -= 1
                if not self._alone:
                    self.yield_asked.clear()

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
        again here, inside this write transaction (the listings' index read once), and set
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
