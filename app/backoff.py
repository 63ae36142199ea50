"""Login back-off that survives restarts.

The state lives in a small plain file beside the vault because it must be read *before* any key
is available. It holds only counters and times, no names: failed attempts are recorded here and
copied into the encrypted audit log at the next successful unlock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import LockedOut
from app.paths import write_private

FREE_ATTEMPTS = 3
MAX_DELAY_S = 15 * 60.0


@dataclass(frozen=True)
class FailedAttempt:
    at: float
    kind: str  # "password" or "recovery"


class LoginBackoff:
    """Exponential delay after repeated failures: 1 s, 2 s, 4 s ... capped at 15 minutes."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
        return {"failures": 0, "last": 0.0, "pending": []}

    def _write(self, data: dict[str, Any]) -> None:
        write_private(self.path, json.dumps(data).encode("utf-8"))

    def delay_for(self, failures: int) -> float:
        if failures < FREE_ATTEMPTS:
            return 0.0
        return float(min(2.0 ** (failures - FREE_ATTEMPTS), MAX_DELAY_S))

    def retry_after(self) -> float:
        """Seconds to wait before the next attempt is allowed (0 when it may go ahead)."""
        data = self._read()
        wait = float(data.get("last", 0.0)) + self.delay_for(int(data.get("failures", 0)))
        return max(0.0, wait - self.clock())

    def check(self) -> None:
        wait = self.retry_after()
        if wait > 0:
            raise LockedOut(
                f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.", retry_after=wait
            )

    def record_failure(self, kind: str) -> float:
        data = self._read()
        now = self.clock()
        data["failures"] = int(data.get("failures", 0)) + 1
        data["last"] = now
        pending = list(data.get("pending", []))[-500:]
        pending.append({"at": now, "kind": kind})
        data["pending"] = pending
        self._write(data)
        return self.delay_for(int(data["failures"]))

    def record_success(self) -> list[FailedAttempt]:
        """Reset the counter and hand back the failures to be written to the audit log."""
        data = self._read()
        pending = [FailedAttempt(float(p["at"]), str(p["kind"])) for p in data.get("pending", [])]
        if data.get("failures") or pending:
            self._write({"failures": 0, "last": 0.0, "pending": []})
        return pending
