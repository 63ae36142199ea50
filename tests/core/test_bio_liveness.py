"""Active liveness: synthetic landmark-derived sequences (no camera), a still photo fed as a
camera, and the real video."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from app.bio.liveness import (
    PROMPTS,
    LivenessChallenge,
    LivenessObservation,
    run_liveness,
)
from app.bio.sources import CameraSource, VideoFileSource, still_as_camera
from app.bio.thresholds import LivenessConfig
from app.models import LivenessResult
from tests.core.test_bio_support import bio_engine  # noqa: F401  (fixture)

FPS = 10.0
PERSON = np.random.default_rng(1).standard_normal(128).astype(np.float32) * 0.09
OTHER = np.random.default_rng(2).standard_normal(128).astype(np.float32) * 0.09


class Script:
    """Builds a timed observation sequence: each segment is a number of frames with a yaw and
    eye openness (optionally an embedding, a face count, a centre)."""

    def __init__(self) -> None:
        self.obs: list[LivenessObservation] = []
        self.t = 0.0

    def add(
        self,
        frames: int,
        yaw: float = 0.0,
        eyes: float = 0.05,
        *,
        faces: int = 1,
        emb: np.ndarray | None = PERSON,
        center: tuple[float, float] = (320.0, 240.0),
    ) -> Script:
        for _ in range(frames):
            if faces == 1:
                self.obs.append(LivenessObservation(self.t, 1, yaw, eyes, emb, center, 60.0))
            else:
                self.obs.append(LivenessObservation(self.t, faces))
            self.t += 1.0 / FPS
        return self

    def ramp(self, to_yaw: float, frames: int = 5, eyes: float = 0.05) -> Script:
        for i in range(1, frames + 1):
            self.add(1, to_yaw * i / frames, eyes, emb=None)
        return self

    def blink(self, open_: float = 0.05, closed: float = 0.012) -> Script:
        return (
            self.add(1, eyes=open_ * 0.7, emb=None)
            .add(2, eyes=closed, emb=None)
            .add(2, eyes=open_, emb=None)
        )


def feed(challenge: LivenessChallenge, obs: Iterable[LivenessObservation]) -> LivenessResult:
    for o in obs:
        challenge.feed(o)
        if challenge.finished:
            break
    return challenge.result()


def _do(script: Script, prompt: str, eyes: float = 0.05) -> None:
    if prompt == "blink":
        script.blink(open_=eyes)
    else:
        script.ramp(25.0 if prompt == "turn_left" else -25.0, eyes=eyes).ramp(0.0, 3, eyes=eyes)


def _full_run(prompts: tuple[str, ...], eyes: float = 0.05, end_emb: np.ndarray = PERSON) -> Script:
    s = Script().add(5, eyes=eyes)
    for p in prompts:
        _do(s, p, eyes)
    return s.add(3, eyes=eyes, emb=end_emb)


def test_prompts_are_random_and_injectable() -> None:
    seen = set()
    for seed in range(30):
        ch = LivenessChallenge(rng=random.Random(seed))
        assert 2 <= len(ch.prompts) <= 3 and len(set(ch.prompts)) == len(ch.prompts)
        assert set(ch.prompts) <= set(PROMPTS)
        seen.add(ch.prompts)
    assert len(seen) > 4
    assert (
        LivenessChallenge(rng=random.Random(7)).prompts
        == LivenessChallenge(rng=random.Random(7)).prompts
    )
    assert 2 <= len(LivenessChallenge().prompts) <= 3  # SystemRandom by default


@pytest.mark.parametrize("seed", range(6))
def test_cooperative_person_passes(seed: int) -> None:
    ch = LivenessChallenge(rng=random.Random(seed))
    result = feed(ch, _full_run(ch.prompts).obs)
    assert result.passed, result.note
    assert [s.prompt for s in result.steps] == list(ch.prompts)
    assert all(s.passed and s.elapsed_ms >= 0 for s in result.steps)
    assert result.identity_distance is not None and result.identity_distance < 1e-6
    assert result.method == "active-challenge-v1"
    assert LivenessResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_blink_is_relative_to_the_persons_own_eyes() -> None:
    """Narrow eyes (openness 0.022, which a fixed EAR rule would call closed) still blink."""
    ch = LivenessChallenge(prompts=("blink", "turn_right"))
    assert feed(ch, _full_run(ch.prompts, eyes=0.022).obs).passed
    # ...and landmark jitter of +-10% around the baseline is not a blink
    s = Script().add(5, eyes=0.05)
    for i in range(80):
        s.add(1, eyes=0.05 * (0.9 if i % 2 else 1.1), emb=None)
    result = feed(LivenessChallenge(prompts=("blink", "turn_left")), s.obs)
    assert not result.passed and result.note.startswith("timeout")
    assert result.steps[0].prompt == "blink" and not result.steps[0].passed


def test_still_photo_times_out() -> None:
    s = Script().add(200)  # the same frame, 20 s
    result = feed(LivenessChallenge(rng=random.Random(3)), s.obs)
    assert not result.passed and result.note.startswith("timeout")
    assert len(result.steps) == 1 and not result.steps[0].passed
    assert result.steps[0].elapsed_ms >= 6000


def test_small_turn_is_not_enough() -> None:
    s = Script().add(5).ramp(12.0).add(80, yaw=12.0, emb=None)
    result = feed(LivenessChallenge(prompts=("turn_left", "blink")), s.obs)
    assert not result.passed and result.note.startswith("timeout")
    assert result.steps[0].value is not None and result.steps[0].value < 18


def test_wrong_direction_does_not_count_and_mirroring_swaps() -> None:
    s = Script().add(5).ramp(-25.0).add(80, yaw=-25.0, emb=None)
    assert not feed(LivenessChallenge(prompts=("turn_left", "blink")), s.obs).passed
    mirrored = LivenessChallenge(LivenessConfig(mirrored=True), prompts=("turn_left",))
    s2 = Script().add(5).ramp(-25.0).ramp(0.0, 3).add(3)
    assert feed(mirrored, s2.obs).passed


def test_several_faces_fail() -> None:
    s = Script().add(5).add(3, emb=None).add(1, faces=2)
    result = feed(LivenessChallenge(prompts=("blink", "turn_left")), s.obs)
    assert not result.passed and result.note.startswith("several_faces")


def test_face_lost_fails_but_a_dropped_frame_does_not() -> None:
    lost = Script().add(5).add(8, faces=0)
    result = feed(LivenessChallenge(prompts=("blink", "turn_left")), lost.obs)
    assert not result.passed and result.note.startswith("face_lost")
    ch = LivenessChallenge(prompts=("blink", "turn_left"))
    s = Script().add(5).add(1, faces=0)
    s.blink()
    s.add(2, faces=0).ramp(25.0).ramp(0.0, 3).add(3)
    assert feed(ch, s.obs).passed


def test_track_jump_breaks_the_track() -> None:
    s = Script().add(5).add(2, emb=None).add(1, center=(600.0, 240.0), emb=None)
    result = feed(LivenessChallenge(prompts=("blink", "turn_left")), s.obs)
    assert not result.passed and result.note.startswith("track_broken")


def test_other_person_at_the_end_fails() -> None:
    ch = LivenessChallenge(prompts=("blink", "turn_right"))
    result = feed(ch, _full_run(ch.prompts, end_emb=OTHER).obs)
    assert not result.passed and result.note.startswith("identity_mismatch")
    assert result.identity_distance is not None and result.identity_distance > 0.5
    ch2 = LivenessChallenge(prompts=("blink", "turn_right"))
    s = Script().add(5).add(2, emb=OTHER)
    assert feed(ch2, s.obs).note.startswith("identity_changed")


def test_no_face_at_all_fails_at_baseline() -> None:
    s = Script().add(150, faces=0)
    result = feed(LivenessChallenge(), s.obs)
    assert not result.passed and result.note.startswith("no_stable_face")
    assert result.steps == ()


def test_state_tells_the_ui_what_to_ask() -> None:
    ch = LivenessChallenge(prompts=("turn_left", "blink"))
    assert ch.wants_embedding  # the start template is needed
    state = ch.feed(LivenessObservation(0.0, 1, 0.0, 0.05, PERSON, (1.0, 1.0), 60.0))
    assert state.phase == "baseline" and state.hint == "look_at_camera"
    assert not ch.wants_embedding  # ...and now it has it
    for o in Script().add(5).obs:
        state = ch.feed(LivenessObservation(o.t + 0.1, 1, 0.0, 0.05, PERSON, (1.0, 1.0), 60.0))
    assert state.phase == "prompt" and state.prompt == "turn_left" and state.hint == "turn_left"
    assert state.remaining_s is not None and 0 < state.remaining_s <= 6.0
    assert not ch.wants_embedding
    assert ch.abort("cancelled").note.startswith("cancelled")


def test_still_photo_fed_as_a_camera_fails(faces: Path, bio_engine) -> None:  # noqa: F811
    source = still_as_camera(faces / "obama_small.jpg", fps=4.0)
    result = run_liveness(bio_engine, source, LivenessChallenge(rng=random.Random(5)))
    assert not result.passed
    assert result.note.startswith("timeout")
    assert result.steps and not result.steps[-1].passed


def test_real_video_gives_a_definite_result(video: Path, bio_engine) -> None:  # noqa: F811
    if not video.is_file():
        pytest.skip("video missing")
    states = []
    result = run_liveness(
        bio_engine,
        VideoFileSource(video),
        LivenessChallenge(rng=random.Random(11)),
        every_nth=3,
        on_state=states.append,
    )
    assert isinstance(result, LivenessResult) and isinstance(result.passed, bool)
    assert result.note and "prompts=" in result.note
    assert states and states[-1].finished


def test_no_camera_is_a_result_not_a_crash(bio_engine) -> None:  # noqa: F811
    class NoCamera:
        def isOpened(self) -> bool:
            return False

        def release(self) -> None:
            pass

    source = CameraSource(3, capture_factory=lambda _i: NoCamera())
    result = run_liveness(bio_engine, source, LivenessChallenge())
    assert not result.passed and result.note.startswith("camera_unavailable")
