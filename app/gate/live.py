"""The gate's live camera mode: a door watching its camera and answering allow/deny (issue 17).

The camera is any :class:`app.bio.sources.FrameSource`: a webcam by index, or a video file or a
folder of images played as if it were one (the shared test video stands in for a door camera in
tests and demos). A door without a camera is a normal situation: the caller gets
:class:`CameraUnavailable` with one sentence, never a traceback.

Only every ``stride``-th frame is analysed (detection and the encoder cost far more than reading
a frame), and a decision is reported when it changes or, for the same person, again after
``repeat_seconds`` of media time, so a person standing at the door is one line, not thirty a
second. Decisions are the gate's own (:meth:`Gate.decide`): the unexpired templates it holds, the
bundle's threshold, the pseudonymous ID only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.bio.errors import CameraUnavailable
from app.bio.sources import FrameSource


@dataclass(frozen=True)
class LiveDecision:
    frame: int
    time: float
    decision: str  # allow | deny
    person_id: str | None
    message: str


@dataclass(frozen=True)
class LiveSummary:
    frames: int
    analysed: int
    decisions: int
    allowed: int


def watch(
    gate: Any,
    source: FrameSource,
    report: Callable[[LiveDecision], None],
    *,
    stride: int = 3,
    max_frames: int | None = None,
    repeat_seconds: float = 3.0,
) -> LiveSummary:
    """Run until the source ends, ``max_frames`` frames were read, or Ctrl+C."""
    source.open()
    if source.status != "open":
        raise CameraUnavailable(source.message or "The camera could not be opened.")
    engine = gate._face_engine()
    frames = analysed = decisions = allowed = 0
    last: tuple[str, str | None, float] | None = None
    try:
        while max_frames is None or frames < max_frames:
            frame = source.read()
            if frame is None:
                break
            frames += 1
            if (frames - 1) % max(1, stride):
                continue
            analysis = engine.analyse_frame(frame.image, encode=True)
            analysed += 1
            if analysis.face_count == 0:
                last = None  # the next face is news again
                continue
            if analysis.face_count > 1:
                decision = LiveDecision(
                    frame.index, frame.timestamp, "deny", None, "Several faces: one at a time."
                )
            else:
                d = gate.decide(analysis.faces[0].encoding, f"frame {frame.index}")
                decision = LiveDecision(
                    frame.index, frame.timestamp, d.decision, d.person_id, d.message
                )
            key = (decision.decision, decision.person_id)
            if last is not None and key == last[:2] and frame.timestamp - last[2] < repeat_seconds:
                continue
            last = (*key, frame.timestamp)
            decisions += 1
            allowed += decision.decision == "allow"
            report(decision)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    return LiveSummary(frames, analysed, decisions, allowed)
