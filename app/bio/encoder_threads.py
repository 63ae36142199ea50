"""When the face encoder may use a second core, decided per call from what it measures.

Why not a fixed thread count: on the 2-core desk PC one forward pass takes about 9 ms with one
onnxruntime thread and about 6.5 ms with two when nothing else runs (measured), but a
two-thread pass waits at every layer for its slower thread, so as soon as something else holds
a core (the live camera, a backup, another program) two threads are *slower* than one (1.3x
measured under load). No setting is right for both; a measurement is.

So the encoder keeps its one-thread session for everything, and a second, wider session for
still-photo work once there is enough of it to pay for building one (about 0.2 s: not for a
single ``identify``). :class:`ThreadPicker` then times both on real calls and uses the faster,
trying the other one now and then, because the load changes. While the camera is live the
one-thread session is always used: the live gate must keep its frame rate (issue 18).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SOLO, WIDE = "solo", "wide"

LIVE_WINDOW_S = 2.0
"""A camera frame analysed within this many seconds means the camera is live."""

WIDE_AFTER_CHIPS = 32
"""Chips encoded in this process before a wider session is worth building (bulk import,
identify with many photos, the bench); a one-photo command never builds it."""

PROBE_EVERY = 16
"""Every this-many calls, the session not currently preferred is timed again."""

EMA_WEIGHT = 0.3
"""Weight of the newest timing in each session's running average (ms per chip)."""


def wide_threads(solo: int, cpu_count: int) -> int:
    """Threads of the wider session: twice the usual, within the machine (0 = none)."""
    wide = min(cpu_count, 2 * solo, 8)
    return wide if wide > solo else 0


@dataclass
class ThreadPicker:
    """Chooses the one-thread or the wide session for each call and learns from timings.

    ``clock`` is monotonic seconds (injected so tests drive time). Not thread-safe: the
    engine calls the encoder from its single worker thread only.
    """

    clock: Callable[[], float]
    wide_available: bool
    chips_seen: int = 0
    calls: int = 0
    live_until: float = float("-inf")
    ms_per_chip: dict[str, float] = field(default_factory=dict)

    def note_live_frame(self) -> None:
        """The camera delivered a frame: keep to one thread for a while."""
        self.live_until = self.clock() + LIVE_WINDOW_S

    @property
    def live(self) -> bool:
        return self.clock() < self.live_until

    def wants_wide_session(self, chips: int) -> bool:
        """Whether this call should have a wide session built (when none exists yet)."""
        return self.wide_available and not self.live and self.chips_seen + chips >= WIDE_AFTER_CHIPS

    def choose(self, wide_ready: bool) -> str:
        self.calls += 1
        if self.live or not wide_ready:
            return SOLO
        if WIDE not in self.ms_per_chip:
            return WIDE
        if SOLO not in self.ms_per_chip:
            return SOLO
        best = WIDE if self.ms_per_chip[WIDE] <= self.ms_per_chip[SOLO] else SOLO
        if self.calls % PROBE_EVERY == 0:
            return SOLO if best == WIDE else WIDE
        return best

    def record(self, which: str, chips: int, ms: float) -> None:
        self.chips_seen += chips
        per_chip = ms / max(1, chips)
        old = self.ms_per_chip.get(which)
        self.ms_per_chip[which] = (
            per_chip if old is None else (1 - EMA_WEIGHT) * old + EMA_WEIGHT * per_chip
        )
