"""Active liveness challenge: blink / turn left / turn right, in random order, in one track.

What it resists: a printed photo or a phone screen held up to the camera (no blink relative
to the person's own eyes, no nose parallax when "turning"), and a swap of person or picture
mid-challenge (continuous single-face track, and the template at the end must match the one at
the start). What it does NOT resist: a skilled replay of a video that happens to do the right
moves in time, a 3D mask, or an injection attack that feeds synthetic frames to the software
instead of the camera. It is NOT a certified presentation-attack detector (ISO/IEC 30107-3):
the consent record stores it as evidence of a live, present person, not as proof.

Design: :class:`LivenessChallenge` is a pure state machine fed one :class:`LivenessObservation`
per frame (time, face count, yaw, eye openness, optional template). It has no camera or dlib
code, so recorded or synthetic landmark sequences test it without a camera; :func:`observe`
turns an engine :class:`~app.bio.engine.PhotoAnalysis` into an observation, and
:func:`run_liveness` drives the whole thing from a :class:`~app.bio.sources.FrameSource`.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.bio.engine import BioEngine, Embedding, PhotoAnalysis
from app.bio.quality import eye_openness, head_pose, inter_eye_distance
from app.bio.sources import FrameSource
from app.bio.thresholds import LIVENESS, LivenessConfig
from app.models import ChallengeStep, LivenessResult

Prompt = Literal["blink", "turn_left", "turn_right"]
PROMPTS: tuple[Prompt, ...] = ("blink", "turn_left", "turn_right")
Phase = Literal["baseline", "prompt", "confirm", "passed", "failed"]
METHOD = "active-challenge-v1"


@dataclass(frozen=True, eq=False)
class LivenessObservation:
    """What one frame says. ``yaw`` follows :func:`app.bio.quality.head_pose` (positive = the
    person's left in an unmirrored frame); ``eye_openness`` is eyelid gap / face height."""

    t: float
    face_count: int
    yaw: float | None = None
    eye_openness: float | None = None
    embedding: Embedding | None = None
    center: tuple[float, float] | None = None
    eye_distance: float | None = None


@dataclass(frozen=True)
class LivenessState:
    """For the UI: what to ask the person now. ``hint`` is a stable key
    ("look_at_camera", "blink", "turn_left", "turn_right", "hold_still") or None when over."""

    phase: Phase
    prompt: Prompt | None
    step: int
    total: int
    remaining_s: float | None
    hint: str | None
    reason: str = ""

    @property
    def finished(self) -> bool:
        return self.phase in ("passed", "failed")


def observe(
    analysis: PhotoAnalysis, t: float, embedding: Embedding | None = None
) -> LivenessObservation:
    """Turn a frame analysis (with 68 landmarks, from ``BioEngine.analyse_frame``) into an
    observation. Uses the frame's own template when it was encoded."""
    if analysis.face_count != 1 or analysis.faces[0].landmarks is None:
        return LivenessObservation(t, analysis.face_count)
    face = analysis.faces[0]
    lm = face.landmarks
    assert lm is not None
    yaw, _pitch, _roll = head_pose(lm, analysis.width, analysis.height)
    emb = embedding if embedding is not None else face.encoding
    return LivenessObservation(
        t, 1, yaw, eye_openness(lm), emb, face.box.center, inter_eye_distance(lm)
    )


class LivenessChallenge:
    """The state machine. Build a new one per attempt; ``rng`` picks the prompts
    (default: an OS-entropy ``random.SystemRandom`` so prompts cannot be predicted)."""

    def __init__(
        self,
        config: LivenessConfig = LIVENESS,
        *,
        rng: random.Random | None = None,
        prompts: Sequence[Prompt] | None = None,
    ) -> None:
        self.config = config
        if prompts is None:
            rng = rng or random.SystemRandom()
            count = rng.randint(config.min_prompts, config.max_prompts)
            prompts = rng.sample(PROMPTS, k=min(count, len(PROMPTS)))
        if not prompts or any(p not in PROMPTS for p in prompts):
            raise ValueError("prompts must be a non-empty sequence of blink/turn_left/turn_right")
        self.prompts: tuple[Prompt, ...] = tuple(prompts)
        self._phase: Phase = "baseline"
        self._reason = ""
        self._steps: list[ChallengeStep] = []
        self._step = 0
        self._t_start: float | None = None
        self._t_phase = 0.0
        self._last_seen: float | None = None
        self._last_center: tuple[float, float] | None = None
        self._samples: list[tuple[float, float]] = []
        self._base_yaw = 0.0
        self._base_open = 0.0
        self._start_emb: Embedding | None = None
        self._identity: float | None = None
        self._closed_seen = False
        self._best = 0.0
        self._t = 0.0

    # -- queries -------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._phase in ("passed", "failed")

    @property
    def wants_embedding(self) -> bool:
        """Whether the next frame should be encoded (start and end of the challenge only: the
        encoder is the expensive part of a frame)."""
        if self.finished or not self.config.require_identity:
            return False
        return (self._phase == "baseline" and self._start_emb is None) or self._phase == "confirm"

    def state(self) -> LivenessState:
        total = len(self.prompts)
        prompt = self.prompts[self._step] if self._phase == "prompt" else None
        timeout = {
            "baseline": self.config.baseline_timeout_s,
            "prompt": self.config.prompt_timeout_s,
            "confirm": self.config.confirm_timeout_s,
        }.get(self._phase)
        remaining = (
            None
            if timeout is None or self._t_start is None
            else max(0.0, timeout - (self._t - self._t_phase))
        )
        hint: str | None = {"baseline": "look_at_camera", "confirm": "look_at_camera"}.get(
            self._phase, prompt
        )
        return LivenessState(self._phase, prompt, self._step, total, remaining, hint, self._reason)

    def result(self) -> LivenessResult:
        """The evidence record (``passed`` only if the whole challenge succeeded)."""
        note = self._reason or ("in_progress" if not self.finished else "")
        note = f"{note}; prompts={','.join(self.prompts)}"
        if self.config.mirrored:
            note += "; mirrored"
        return LivenessResult(
            passed=self._phase == "passed",
            steps=tuple(self._steps),
            identity_distance=self._identity,
            method=METHOD,
            note=note,
        )

    # -- transitions -----------------------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        if self._phase == "prompt":
            prompt = self.prompts[self._step]
            self._steps.append(
                ChallengeStep(prompt, False, self._elapsed_ms(), round(self._best, 4))
            )
        self._phase, self._reason = "failed", reason

    def _elapsed_ms(self) -> int:
        return max(0, round((self._t - self._t_phase) * 1000))

    def _enter(self, phase: Phase) -> None:
        self._phase, self._t_phase = phase, self._t
        self._closed_seen, self._best = False, 0.0

    def _reset_baseline(self) -> None:
        self._samples = []
        self._start_emb = None

    def abort(self, reason: str = "aborted") -> LivenessResult:
        """End the attempt now (operator cancelled, source ended...)."""
        if not self.finished:
            self._fail(reason)
        return self.result()

    def feed(self, obs: LivenessObservation) -> LivenessState:
        """Advance with one frame. Frames must come in time order."""
        if self.finished:
            return self.state()
        cfg = self.config
        self._t = obs.t
        if self._t_start is None:
            self._t_start = obs.t
            self._t_phase = obs.t
        started = self._phase != "baseline"
        timeout = {
            "baseline": cfg.baseline_timeout_s,
            "prompt": cfg.prompt_timeout_s,
            "confirm": cfg.confirm_timeout_s,
        }[self._phase]
        if obs.t - self._t_phase > timeout:
            self._fail(
                {
                    "baseline": "no_stable_face",
                    "prompt": "timeout",
                    "confirm": "identity_unconfirmed",
                }[self._phase]
            )
            return self.state()
        if obs.face_count > 1:
            self._fail("several_faces")
            return self.state()
        if obs.face_count == 0 or obs.yaw is None or obs.eye_openness is None:
            if self._last_seen is not None and obs.t - self._last_seen > cfg.lost_grace_s:
                if started:
                    self._fail("face_lost")
                    return self.state()
                self._reset_baseline()
            return self.state()
        if self._last_center is not None and obs.center is not None and obs.eye_distance:
            jump = (
                float(
                    np.hypot(
                        obs.center[0] - self._last_center[0], obs.center[1] - self._last_center[1]
                    )
                )
                / obs.eye_distance
            )
            if jump > cfg.max_jump:
                if started:
                    self._fail("track_broken")
                    return self.state()
                self._reset_baseline()
        self._last_seen, self._last_center = obs.t, obs.center
        if (
            started
            and obs.embedding is not None
            and self._start_emb is not None
            and _distance(obs.embedding, self._start_emb) > cfg.identity_threshold
            and self._phase != "confirm"
        ):
            self._fail("identity_changed")
            return self.state()

        if self._phase == "baseline":
            self._baseline(obs)
        elif self._phase == "prompt":
            self._prompt(obs)
        elif self._phase == "confirm":
            self._confirm(obs)
        return self.state()

    def _baseline(self, obs: LivenessObservation) -> None:
        cfg = self.config
        assert obs.yaw is not None and obs.eye_openness is not None
        if abs(obs.yaw) > cfg.baseline_max_yaw_deg:
            return
        self._samples.append((obs.yaw, obs.eye_openness))
        if self._start_emb is None and obs.embedding is not None:
            self._start_emb = obs.embedding
        if len(self._samples) >= cfg.baseline_frames and (
            self._start_emb is not None or not cfg.require_identity
        ):
            recent = self._samples[-cfg.baseline_frames :]
            self._base_yaw = statistics.median(s[0] for s in recent)
            self._base_open = statistics.median(s[1] for s in recent)
            if self._base_open <= 0:
                self._reset_baseline()
                return
            self._step = 0
            self._enter("prompt")

    def _prompt(self, obs: LivenessObservation) -> None:
        cfg = self.config
        assert obs.yaw is not None and obs.eye_openness is not None
        prompt = self.prompts[self._step]
        done = False
        if prompt == "blink":
            ratio = obs.eye_openness / self._base_open
            drop = 1.0 - ratio
            self._best = max(self._best, drop)
            if ratio <= 1.0 - cfg.blink_drop:
                self._closed_seen = True
            elif self._closed_seen and ratio >= cfg.blink_reopen:
                done = True
        else:
            delta = obs.yaw - self._base_yaw
            if cfg.mirrored:
                delta = -delta
            toward = delta if prompt == "turn_left" else -delta
            self._best = max(self._best, toward)
            done = toward >= cfg.turn_deg
        if done:
            self._steps.append(
                ChallengeStep(prompt, True, self._elapsed_ms(), round(self._best, 4))
            )
            self._step += 1
            self._enter("prompt" if self._step < len(self.prompts) else "confirm")

    def _confirm(self, obs: LivenessObservation) -> None:
        cfg = self.config
        assert obs.yaw is not None
        if abs(obs.yaw - self._base_yaw) > cfg.baseline_max_yaw_deg:
            return
        if not cfg.require_identity:
            self._phase, self._reason = "passed", "passed"
            return
        if obs.embedding is None or self._start_emb is None:
            return
        self._identity = round(_distance(obs.embedding, self._start_emb), 4)
        if self._identity <= cfg.identity_threshold:
            self._phase, self._reason = "passed", "passed"
        else:
            self._phase, self._reason = "failed", "identity_mismatch"


def _distance(a: Embedding, b: Embedding) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def run_liveness(
    engine: BioEngine,
    source: FrameSource,
    challenge: LivenessChallenge,
    *,
    every_nth: int = 1,
    on_state: Callable[[LivenessState], None] | None = None,
) -> LivenessResult:
    """Drive ``challenge`` from ``source`` until it finishes or the source runs dry (which
    fails with note "source_ended"/"camera_unavailable"). Blocking; for the UI, call
    :meth:`LivenessChallenge.feed` per frame from the capture loop instead.
    ``every_nth`` skips frames (timestamps stay real) for slow machines and tests."""
    source.open()
    try:
        if source.status != "open":
            return challenge.abort("camera_unavailable")
        n = 0
        while not challenge.finished:
            frame = source.read()
            if frame is None:
                return challenge.abort("source_ended")
            n += 1
            if (n - 1) % max(1, every_nth):
                continue
            analysis = engine.analyse_frame(frame.image, encode=challenge.wants_embedding)
            state = challenge.feed(observe(analysis, frame.timestamp))
            if on_state is not None:
                on_state(state)
        return challenge.result()
    finally:
        source.close()
