"""Auto-capture: take the shot when the person has been holding a good pose, not on a click.

The operator should not have to time a button press to a blink. :class:`AutoCapture` is fed
``(frame, quality report)`` pairs; once the gate has held (no failing check) for
``hold_frames`` consecutive frames it keeps the ``best_n`` frames of that run, ranked by the
report's score, and reports ``done``. Any failing frame restarts the run, so the captured
frames are all from one continuous, steady, acceptable stretch. It has no dlib or camera code,
so it is driven identically by the live camera, a video file or a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.bio.quality import QualityReport
from app.bio.sources import Frame
from app.bio.thresholds import CAPTURE_BEST_N, CAPTURE_HOLD_FRAMES


@dataclass(frozen=True, eq=False)
class CapturedFrame:
    frame: Frame
    report: QualityReport


@dataclass(frozen=True)
class CaptureProgress:
    """What the UI shows: how far through the hold we are, and what to fix."""

    held: int
    needed: int
    done: bool
    hints: tuple[str, ...]

    @property
    def fraction(self) -> float:
        return 1.0 if self.done else min(1.0, self.held / max(1, self.needed))


class AutoCapture:
    """Keeps the best ``best_n`` frames once quality held for ``hold_frames`` frames."""

    def __init__(
        self,
        *,
        hold_frames: int = CAPTURE_HOLD_FRAMES,
        best_n: int = CAPTURE_BEST_N,
        allow_warnings: bool = True,
    ) -> None:
        if hold_frames < 1 or best_n < 1 or best_n > hold_frames:
            raise ValueError("need 1 <= best_n <= hold_frames")
        self.hold_frames = hold_frames
        self.best_n = best_n
        self.allow_warnings = allow_warnings
        self._run: list[CapturedFrame] = []
        self._best: tuple[CapturedFrame, ...] = ()

    @property
    def done(self) -> bool:
        return bool(self._best)

    @property
    def frames(self) -> tuple[CapturedFrame, ...]:
        """The captured frames, best first (empty until :attr:`done`)."""
        return self._best

    def reset(self) -> None:
        self._run = []
        self._best = ()

    def _good(self, report: QualityReport) -> bool:
        return report.verdict == "pass" or (self.allow_warnings and report.acceptable)

    def feed(self, frame: Frame, report: QualityReport) -> CaptureProgress:
        """Add one frame's result. After ``done`` further frames are ignored until reset."""
        if not self.done:
            if self._good(report):
                self._run.append(CapturedFrame(frame, report))
            else:
                self._run = []
            if len(self._run) >= self.hold_frames:
                ranked = sorted(self._run, key=lambda c: -c.report.score)
                self._best = tuple(ranked[: self.best_n])
                self._run = []
        return CaptureProgress(
            held=self.hold_frames if self.done else len(self._run),
            needed=self.hold_frames,
            done=self.done,
            hints=() if self.done else report.hints,
        )
