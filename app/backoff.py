"""Login back-off that survives restarts, shared by every process signing in to one vault.

The state lives in a small plain file beside the vault because it must be read *before* any key
is available. It holds only counters and times, no names: failed attempts are recorded here and
copied into the encrypted audit log at the next successful unlock.

Why it is built like this (issue 11):

* Every attempt runs under an exclusive lock on ``login-state.lock`` from "may it go ahead?"
  through the password check to "record the result": twelve guesses started at once are
  evaluated one at a time, and each sees the failures before it.
* Every value read from the file is bounded: the counter is capped, a "last failure" in the
  future is treated as now (a clock set wrong, or a planted file, cannot lock anyone out for
  decades), and the delay never exceeds :data:`MAX_DELAY_S`.
* Once the vault tracks this file (``keyslots.json`` says ``login_state``), a missing or damaged
  state *fails safe*: it is taken as the maximum back-off from the moment it was found, and the
  loss itself is recorded as a pending event that reaches the audit log. A state that cannot be
  read or written at all (a folder in its place, no permission) refuses the attempt before any
  password is tried: a failure that cannot be counted is not allowed to happen.
* A success hands the pending failures to the caller, which writes them to the audit log; they
  are removed from the file only after that commit (``acknowledge``), so none is ever lost.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.errors import AuthError, LockedOut
from app.filecheck import read_own_file
from app.filelock import FileLock
from app.paths import write_private

FREE_ATTEMPTS = 3
MAX_DELAY_S = 15 * 60.0
MAX_FAILURES = 1_000_000  # far beyond any delay change; keeps every number small
MAX_PENDING = 500
T = TypeVar("T")


@dataclass(frozen=True)
class FailedAttempt:
    at: float
    kind: str  # "password", "recovery", or "state_lost" (the file was missing or damaged)


class StateUnusable(AuthError):
    """The back-off state can be neither read nor written: no attempt is allowed."""

    code = "login_state_unusable"


# issue-11: states that could not be written (a full disk), by file: kept for this process so a
# failure is neither forgotten nor lost; written, and forgotten here, by the next write that works.
_UNSAVED: dict[Path, dict[str, Any]] = {}
_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _empty() -> dict[str, Any]:
    return {"failures": 0, "last": 0.0, "pending": []}


class LoginBackoff:
    """Exponential delay after repeated failures: 1 s, 2 s, 4 s ... capped at 15 minutes."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        *,
        required: Callable[[], bool] = lambda: False,
    ) -> None:
        # ``required``: whether the vault has been tracking this file (so its absence is a
        # loss, not a fresh vault from before the file existed).
        self.path = path
        self.clock = clock
        self.required = required

    def lock(self) -> FileLock:
        return FileLock(self.path.with_name("login-state.lock"))

    # ----------------------------------------------------------------- state file
    def _now(self) -> float:
        now = float(self.clock())
        return now if math.isfinite(now) else 0.0

    def _read(self) -> dict[str, Any]:
        return self._with_unsaved(self._read_file())

    def _read_file(self) -> dict[str, Any]:
        """The state, bounded; a missing (when required) or damaged state becomes a maximum
        back-off starting now, recorded in the file."""
        problem = False
        try:
            raw = read_own_file(self.path)
        except FileNotFoundError:
            if not self.required():
                return _empty()
            problem = True
        except OSError:
            raise StateUnusable(
                "The sign-in state file (login-state.json) cannot be read; no sign-in is "
                "possible until it is repaired or removed by the computer's administrator."
            ) from None
        else:
            data = self._parse(raw)
            if data is not None:
                return data
            problem = True
        assert problem
        now = self._now()
        lost = {
            "failures": FREE_ATTEMPTS + 10,  # 2**10 s, capped: the maximum delay
            "last": now,
            "pending": [{"at": now, "kind": "state_lost"}],
        }
        self._write(lost)
        return lost

    def _with_unsaved(self, data: dict[str, Any]) -> dict[str, Any]:
        """The file's state plus what this process could not write to it (full disk), written
        now if the disk has space again."""
        unsaved = _UNSAVED.get(self._key())
        if unsaved is None:
            return data
        seen = {(p["at"], p["kind"]) for p in data["pending"]}
        extra = [p for p in unsaved["pending"] if (p["at"], p["kind"]) not in seen]
        merged = {
            "failures": min(max(int(data["failures"]), int(unsaved["failures"])), MAX_FAILURES),
            "last": max(float(data["last"]), float(unsaved["last"])),
            "pending": (list(data["pending"]) + extra)[-MAX_PENDING:],
        }
        with contextlib.suppress(StateUnusable):
            self._write(merged)
        return merged

    def _key(self) -> Path:
        return self.path.absolute()

    def _parse(self, raw: bytes) -> dict[str, Any] | None:
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        try:
            failures = int(doc.get("failures", 0))
            last = float(doc.get("last", 0.0))
            pending_doc = doc.get("pending", [])
            if not isinstance(pending_doc, list):
                return None
            pending = []
            for p in pending_doc[-MAX_PENDING:]:
                at = float(p["at"])
                kind = str(p["kind"])[:20]
                if math.isfinite(at):
                    pending.append({"at": at, "kind": kind})
        except (TypeError, ValueError, KeyError, OverflowError):
            return None
        if not math.isfinite(last):
            return None
        now = self._now()
        return {
            "failures": max(0, min(failures, MAX_FAILURES)),
            "last": min(max(last, 0.0), now),  # a time in the future counts as now
            "pending": pending,
        }

    def _write(self, data: dict[str, Any]) -> None:
        try:
            write_private(self.path, json.dumps(data).encode("utf-8"))
            _UNSAVED.pop(self._key(), None)
        except OSError as exc:
            raise StateUnusable(
                "The sign-in state file (login-state.json) cannot be written; no sign-in is "
                "possible until it is repaired or removed by the computer's administrator.",
                params={"disk_full": exc.errno in _DISK_FULL},
            ) from None

    # ----------------------------------------------------------------- decisions
    @staticmethod
    def delay_for(failures: int) -> float:
        if failures < FREE_ATTEMPTS:
            return 0.0
        exponent = min(failures - FREE_ATTEMPTS, 20)  # 2**20 s is far above the cap already
        return float(min(2.0**exponent, MAX_DELAY_S))

    def _wait(self, data: dict[str, Any]) -> float:
        wait = float(data["last"]) + self.delay_for(int(data["failures"])) - self._now()
        return max(0.0, min(wait, MAX_DELAY_S))

    def retry_after(self) -> float:
        """Seconds to wait before the next attempt is allowed (0 when it may go ahead)."""
        with self.lock():
            return self._wait(self._read())

    def _check(self, data: dict[str, Any]) -> None:
        if self._key() in _UNSAVED and int(data["failures"]) >= FREE_ATTEMPTS:
            # issue-11: failures this process could not save; fail safe rather than allow
            # guesses that leave no trace once the process ends.
            raise StateUnusable(
                "Too many failed sign-ins while the sign-in state (login-state.json) cannot be "
                "saved because the disk is full; no sign-in is possible until space is freed.",
                code="login_state_unsaved",
            )
        wait = self._wait(data)
        if wait > 0:
            raise LockedOut(
                f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.", retry_after=wait
            )

    def check(self) -> None:
        with self.lock():
            self._check(self._read())

    def _fail(self, data: dict[str, Any], kind: str) -> float:
        now = self._now()
        data["failures"] = min(int(data["failures"]) + 1, MAX_FAILURES)
        data["last"] = now
        pending = list(data["pending"])[-(MAX_PENDING - 1) :]
        pending.append({"at": now, "kind": kind})
        data["pending"] = pending
        try:
            self._write(data)
        except StateUnusable as exc:
            if not exc.params.get("disk_full"):
                raise
            # issue-11: a full disk; the failure is kept in this process (``_check``)
            _UNSAVED[self._key()] = {**data, "pending": list(pending)}
        return self.delay_for(int(data["failures"]))

    def record_failure(self, kind: str) -> float:
        with self.lock():
            return self._fail(self._read(), kind)

    def attempt(self, kind: str, fn: Callable[[], T], is_failure: type[BaseException]) -> T:
        """Run one sign-in attempt ``fn`` under the lock: refused while backing off, counted
        (and then re-raised with the delay) when it raises ``is_failure``."""
        with self.lock():
            data = self._read()
            self._check(data)
            try:
                return fn()
            except is_failure as exc:
                delay = self._fail(data, kind)
                setattr(exc, "retry_after", delay)  # noqa: B010 - the error type carries it
                if hasattr(exc, "params"):
                    exc.params["seconds"] = delay
                raise

    def pending(self) -> list[FailedAttempt]:
        """The failures not yet in the audit log (read under the lock, not removed)."""
        with self.lock():
            data = self._read()
        return [FailedAttempt(float(p["at"]), str(p["kind"])) for p in data["pending"]]

    @contextmanager
    def success(self) -> Iterator[list[FailedAttempt]]:
        """``with backoff.success() as failures:`` write ``failures`` to the audit log inside the
        block; the counter is reset and those entries removed only when the block succeeds."""
        with self.lock():
            data = self._read()
            failures = [FailedAttempt(float(p["at"]), str(p["kind"])) for p in data["pending"]]
            yield failures
            if data["failures"] or failures or not self.path.exists():
                self._write(_empty())

    def record_success(self) -> list[FailedAttempt]:
        """Reset the counter and hand back the failures (callers that cannot audit them first
        should use :meth:`success`)."""
        with self.success() as failures:
            return failures
