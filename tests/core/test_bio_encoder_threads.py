"""The encoder's second core: used for still-photo work only when it measures faster, never
while the camera is live, and held to dlib's templates like the first (issue 18)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from app.bio.encoder import (
    TOLERANCE,
    DlibChipEncoder,
    OnnxRuntimeEncoder,
    max_abs_diff,
    sample_chip,
    select_encoder,
)
from app.bio.encoder_threads import (
    LIVE_WINDOW_S,
    PROBE_EVERY,
    SOLO,
    WIDE,
    WIDE_AFTER_CHIPS,
    ThreadPicker,
    wide_threads,
)
from app.bio.models import find_model_paths
from app.bio.resnet_dat import DlibResNet, load_dlib_resnet
from app.bio.resnet_onnx import build_onnx
from tests.core.test_bio_support import bio_engine  # noqa: F401  (fixture)

pytest.importorskip("onnxruntime")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@functools.cache
def _net() -> DlibResNet:
    return load_dlib_resnet(find_model_paths().resnet)


@functools.cache
def _onnx() -> bytes:
    return build_onnx(_net())


def _reference(bio_engine) -> np.ndarray:  # noqa: F811
    return DlibChipEncoder(bio_engine._models.encoder).encode_chips([sample_chip()])


def test_wider_session_sizes() -> None:
    assert [wide_threads(1, n) for n in (1, 2, 4)] == [0, 2, 2]
    assert [wide_threads(2, n) for n in (2, 3, 4, 64)] == [0, 3, 4, 4]
    assert wide_threads(4, 64) == 8


def test_picker_learns_the_faster_session_and_probes_the_other() -> None:
    clock = Clock()
    picker = ThreadPicker(clock=clock, wide_available=True)
    assert picker.choose(wide_ready=False) == SOLO
    picker.record(SOLO, 1, 9.0)
    assert picker.choose(wide_ready=True) == WIDE  # never timed: try it
    picker.record(WIDE, 1, 6.0)
    choices = [picker.choose(wide_ready=True) for _ in range(2 * PROBE_EVERY)]
    assert choices.count(SOLO) == 2 and choices.count(WIDE) == 2 * PROBE_EVERY - 2
    # The machine got busy: the wide session now measures slower, the picker follows.
    for _ in range(6):
        picker.record(WIDE, 2, 2 * 14.0)
    later = [picker.choose(wide_ready=True) for _ in range(PROBE_EVERY)]
    assert later.count(SOLO) == PROBE_EVERY - 1 and later.count(WIDE) == 1


def test_picker_keeps_one_thread_while_the_camera_is_live() -> None:
    clock = Clock()
    picker = ThreadPicker(clock=clock, wide_available=True)
    picker.record(SOLO, 1, 9.0)
    picker.record(WIDE, 1, 5.0)
    picker.note_live_frame()
    assert picker.live and not picker.wants_wide_session(10 * WIDE_AFTER_CHIPS)
    assert {picker.choose(wide_ready=True) for _ in range(3 * PROBE_EVERY)} == {SOLO}
    clock.now += LIVE_WINDOW_S + 0.01  # the camera stopped
    assert not picker.live and picker.choose(wide_ready=True) == WIDE


def test_a_wide_session_is_built_only_for_enough_still_photo_work() -> None:
    picker = ThreadPicker(clock=Clock(), wide_available=True)
    assert not picker.wants_wide_session(1)  # one identify photo: not worth 0.2 s
    picker.record(SOLO, WIDE_AFTER_CHIPS - 2, 100.0)
    assert not picker.wants_wide_session(1) and picker.wants_wide_session(2)
    assert not ThreadPicker(clock=Clock(), wide_available=False).wants_wide_session(999)


def test_onnxruntime_builds_checks_and_uses_a_wide_session(bio_engine) -> None:  # noqa: F811
    reference = _reference(bio_engine)
    clock = Clock()
    enc = OnnxRuntimeEncoder(
        _net(), _onnx(), threads=1, reference=reference, cpu_count=2, clock=clock
    )
    chip = sample_chip()
    out = enc.encode_chips([chip] * 4)
    assert enc._wide is None and set(enc.picker.ms_per_chip) == {SOLO}
    out = enc.encode_chips([chip] * WIDE_AFTER_CHIPS)  # enough work: built, checked, timed
    assert enc._wide is not None
    assert int(enc._wide.get_session_options().intra_op_num_threads) == 2
    assert set(enc.picker.ms_per_chip) == {SOLO, WIDE}
    assert max_abs_diff(out, np.repeat(reference, len(out), axis=0)) <= TOLERANCE
    assert enc.threads_in_use in (1, 2)
    # Camera live: every call is timed on the one-thread session only.
    solo_before = enc.picker.ms_per_chip[SOLO]
    wide_before = enc.picker.ms_per_chip[WIDE]
    enc.note_live_frame()
    for _ in range(PROBE_EVERY + 1):
        live = enc.encode_chips([chip])
        assert max_abs_diff(live, reference) <= TOLERANCE
    assert enc.picker.ms_per_chip[WIDE] == wide_before
    assert enc.picker.ms_per_chip[SOLO] != solo_before
    assert enc.threads_in_use == 1


def test_a_wide_session_that_disagrees_with_dlib_is_not_used(bio_engine) -> None:  # noqa: F811
    lines: list[str] = []
    wrong = _reference(bio_engine) + 0.01
    enc = OnnxRuntimeEncoder(
        _net(), _onnx(), threads=1, reference=wrong, cpu_count=2, clock=Clock(), log=lines.append
    )
    out = enc.encode_chips([sample_chip()] * (WIDE_AFTER_CHIPS + 1))
    assert enc._wide is None and not enc.picker.wide_available
    assert len(lines) == 1 and "2 threads differ from dlib" in lines[0]
    assert max_abs_diff(out, np.repeat(_reference(bio_engine), len(out), axis=0)) <= TOLERANCE
    enc.encode_chips([sample_chip()] * WIDE_AFTER_CHIPS)  # one attempt per process
    assert len(lines) == 1


def test_a_pinned_thread_count_gets_no_wide_session(bio_engine) -> None:  # noqa: F811
    choice = select_encoder(
        bio_engine._models.encoder,
        find_model_paths().resnet,
        prefer=("onnxruntime", "dlib"),
        threads=1,
    )
    assert choice.encoder.name == "onnxruntime"
    assert isinstance(choice.encoder, OnnxRuntimeEncoder)
    assert not choice.encoder.picker.wide_available


def test_the_engine_marks_the_camera_live_on_every_frame(bio_engine, faces) -> None:  # noqa: F811
    from app.bio.images import load_image

    encoder = bio_engine._chip_encoder
    if not isinstance(encoder, OnnxRuntimeEncoder):
        pytest.skip(f"engine runs {bio_engine.encoder_backend}")
    encoder.picker.live_until = float("-inf")
    bio_engine.analyse_frame(load_image(faces / "obama_small.jpg"))
    assert encoder.picker.live and bio_engine.encoder_threads == 1


def _photos(faces) -> list:
    from app.bio.images import load_image

    return [load_image(p) for p in sorted(faces.glob("*.jpg"))[:8]]


def test_photos_detected_two_at_a_time_give_the_same_boxes_and_templates(
    bio_engine,  # noqa: F811
    faces,
) -> None:
    from app.bio.engine import BioEngine
    from app.bio.models import load_frontal_detector

    photos = _photos(faces)
    one_at_a_time = [bio_engine.analyse_photo(p) for p in photos]
    made: list[object] = []

    def factory() -> object:
        made.append(load_frontal_detector(None))
        return made[-1]

    paired = BioEngine(
        bio_engine._models, chip_encoder=bio_engine._chip_encoder, detector_factory=factory
    )
    try:
        both = paired.analyse_photos(photos)
        again = paired.analyse_photos(photos[:3])
    finally:
        paired.close()
    assert len(made) == 1  # built once, kept for the next batch
    assert paired._helper is not None
    for a, b in zip(one_at_a_time, both, strict=True):
        assert a.boxes == b.boxes
        for x, y in zip(a.encodings, b.encodings, strict=True):
            assert max_abs_diff(x, y) <= 1e-6
    assert [a.boxes for a in again] == [a.boxes for a in one_at_a_time[:3]]


def test_no_second_detector_while_the_camera_is_live(bio_engine, faces) -> None:  # noqa: F811
    from app.bio.engine import BioEngine

    clock = Clock()
    made: list[int] = []
    engine = BioEngine(
        bio_engine._models,
        chip_encoder=bio_engine._chip_encoder,
        detector_factory=lambda: made.append(1),
        clock=clock,
    )
    photos = _photos(faces)[:2]
    try:
        assert not engine.camera_live
        engine.analyse_frame(photos[0])
        assert engine.camera_live
        engine.analyse_photos(photos)
        assert made == [] and engine._helper is None
        clock.now += LIVE_WINDOW_S + 0.01
        assert not engine.camera_live
        engine.analyse_photo(photos[0])  # one photo: nothing to pair
        assert made == []
    finally:
        engine.close()


def test_a_failing_second_detector_fails_the_call_not_the_engine(bio_engine, faces) -> None:  # noqa: F811
    from app.bio.engine import BioEngine

    def broken(image: object, upsample: int) -> object:
        raise RuntimeError("detector broke")

    engine = BioEngine(
        bio_engine._models, chip_encoder=bio_engine._chip_encoder, detector_factory=lambda: broken
    )
    photos = _photos(faces)[:4]
    try:
        with pytest.raises(RuntimeError, match="detector broke"):
            engine.analyse_photos(photos)
        assert engine.analyse_photo(photos[0]).face_count == 1  # the worker still serves
    finally:
        engine.close()
