"""The fast face encoder: dlib's weight file read by us, run by onnxruntime / cv2.dnn / numpy,
held to dlib's own templates on every shared test photo (issue 18)."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from app.bio.encoder import (
    TOLERANCE,
    DlibChipEncoder,
    NumpyEncoder,
    OnnxRuntimeEncoder,
    OpenCvEncoder,
    default_threads,
    max_abs_diff,
    sample_chip,
    select_encoder,
)
from app.bio.engine import BioEngine
from app.bio.errors import ModelError
from app.bio.images import load_image
from app.bio.models import find_model_paths
from app.bio.resnet_dat import DlibResNet, load_dlib_resnet, parse_dlib_resnet
from app.bio.resnet_onnx import build_onnx
from app.bio.thresholds import DETECT_MAX_SIDE_PHOTO, MATCH_THRESHOLD
from tests.core.test_bio_support import bio_engine, manifest  # noqa: F401  (fixture)


@functools.cache
def _net() -> DlibResNet:
    return load_dlib_resnet(find_model_paths().resnet)


@functools.cache
def _onnx() -> bytes:
    return build_onnx(_net())


def _backend(name: str) -> object:
    if name == "onnxruntime":
        pytest.importorskip("onnxruntime")
        return OnnxRuntimeEncoder(_net(), _onnx(), threads=1)
    if name == "opencv":
        return OpenCvEncoder(_net(), _onnx())
    return NumpyEncoder(_net())


def test_reader_follows_the_network_in_dlibs_file() -> None:
    net = _net()
    assert net.conv_count == 29
    assert net.param_count == 5_614_592  # convolutions, affines and the 256x128 fc
    assert all(100 < m < 130 for m in net.means)  # RGB channel means of dlib's training set
    kinds = [op.kind for op in net.ops]
    assert kinds[0] == "conv" and kinds[-1] == "fc"
    assert kinds.count("add_prev") == 14  # residual blocks
    first = net.ops[0]
    assert first.weight is not None and first.weight.shape == (32, 3, 7, 7)
    assert (first.stride, first.pad) == (2, 0)  # stride-2 convolutions are unpadded in dlib


def test_reader_rejects_a_truncated_or_padded_file() -> None:
    data = find_model_paths().resnet.read_bytes()
    with pytest.raises(ModelError):
        parse_dlib_resnet(data[: len(data) // 2])
    with pytest.raises(ModelError):
        parse_dlib_resnet(data + b"\0")


@pytest.mark.parametrize("name", ["onnxruntime", "opencv", "numpy"])
def test_backend_matches_dlib_on_the_sample_chip_in_a_batch(bio_engine, name) -> None:  # noqa: F811
    chip = sample_chip()
    reference = DlibChipEncoder(bio_engine._models.encoder).encode_chips([chip])
    out = _backend(name).encode_chips([chip, chip, np.ascontiguousarray(chip[:, ::-1])])
    assert out.shape == (3, 128) and out.dtype == np.float32
    assert max_abs_diff(out[:2], np.vstack([reference, reference])) <= TOLERANCE
    assert max_abs_diff(out[2:], reference) > 0.01  # a different chip gives another template


def _photos(faces: Path) -> list[Path]:
    return [faces / row["file"] for row in manifest(faces)]


def test_engine_templates_match_dlib_on_every_shared_photo(bio_engine, faces) -> None:  # noqa: F811
    """Done-when of issue 18: <= 1e-5 max abs on every face of every shared photo, and the
    same match decision for every pair of faces."""
    assert bio_engine.encoder_backend != "dlib", bio_engine.encoder_choice
    ours, dlibs, labels = [], [], []
    for path in _photos(faces):
        image = load_image(path)
        analysis = bio_engine.analyse_photo(image)
        reference = bio_engine.encode_reference(image, analysis.boxes)
        assert len(reference) == analysis.face_count
        for i, (a, b) in enumerate(zip(analysis.encodings, reference, strict=True)):
            assert max_abs_diff(a, b) <= TOLERANCE, (path.name, i, max_abs_diff(a, b))
            ours.append(a)
            dlibs.append(b)
            labels.append(f"{path.name}#{i}")
    assert len(ours) >= 25
    for i, j in itertools.combinations(range(len(ours)), 2):
        same_ours = np.linalg.norm(ours[i] - ours[j]) < MATCH_THRESHOLD
        same_dlib = np.linalg.norm(dlibs[i] - dlibs[j]) < MATCH_THRESHOLD
        assert same_ours == same_dlib, (labels[i], labels[j])


@pytest.mark.parametrize("name", ["opencv", "numpy"])
def test_other_backends_match_dlib_on_the_shared_photos(bio_engine, faces, name) -> None:  # noqa: F811
    """The fallbacks are held to the same bar as the default backend (one photo per identity
    and the group photos, to keep the numpy run short)."""
    import dlib

    encoder = _backend(name)
    seen: set[str] = set()
    checked = 0
    for row in manifest(faces):
        if row["identity"] and row["identity"] in seen:
            continue
        seen.add(row["identity"])
        image = load_image(faces / row["file"])
        boxes = bio_engine.detect(image)
        reference = bio_engine.encode_reference(image, boxes)
        shapes = dlib.full_object_detections()
        for b in boxes:
            shapes.append(
                bio_engine._models.shape_5(image, dlib.rectangle(b.left, b.top, b.right, b.bottom))
            )
        chips = dlib.get_face_chips(image, shapes, size=150, padding=0.25)
        out = encoder.encode_chips(chips)
        assert max_abs_diff(out, np.asarray(reference)) <= TOLERANCE, row["file"]
        checked += len(boxes)
    assert checked >= 10


def test_batched_photos_give_the_same_templates(bio_engine, faces) -> None:  # noqa: F811
    paths = [faces / n for n in ("group_obama_and_biden.jpg", "obama_1.jpg", "biden_2.jpg")]
    images = [load_image(p) for p in paths]
    batched = bio_engine.analyse_photos(images)
    assert [a.face_count for a in batched] == [3, 1, 1]
    for image, together in zip(images, batched, strict=True):
        alone = bio_engine.analyse_photo(image)
        assert alone.boxes == together.boxes
        for a, b in zip(alone.encodings, together.encodings, strict=True):
            assert max_abs_diff(a, b) <= 1e-6
    assert bio_engine.encode_many([]) == []


def test_a_backend_that_disagrees_with_dlib_falls_back_to_dlib(bio_engine, tmp_path) -> None:  # noqa: F811
    """A weight file dlib would still load but whose numbers we would get wrong: here one fc
    weight near the end of the file (the fc layer's parameters are stored last) is changed in
    our copy only, so the start check sees a difference and keeps dlib."""
    data = bytearray(find_model_paths().resnet.read_bytes())
    pos = len(data) - 60_000
    data[pos : pos + 4] = np.float32(3.0).tobytes()
    tampered = tmp_path / "resnet.dat"
    tampered.write_bytes(bytes(data))
    lines: list[str] = []
    choice = select_encoder(
        bio_engine._models.encoder, tampered, prefer=("numpy", "dlib"), log=lines.append
    )
    assert choice.encoder.name == "dlib"
    assert any("differs from dlib" in line for line in lines), lines

    tampered.write_bytes(bytes(data[:1000]))
    lines.clear()
    choice = select_encoder(bio_engine._models.encoder, tampered, log=lines.append)
    assert choice.encoder.name == "dlib" and "cannot convert" in lines[0]


def test_jittered_templates_still_come_from_dlib(bio_engine, faces) -> None:  # noqa: F811
    """dlib's random jitter cannot be reproduced elsewhere: num_jitters > 1 is dlib's."""
    image = load_image(faces / "obama_1.jpg")
    boxes = bio_engine.detect(image)
    plain = bio_engine.encode(image, boxes)[0]
    jittered = bio_engine.encode(image, boxes, num_jitters=3)[0]
    assert max_abs_diff(plain, jittered) > 0 and np.linalg.norm(plain - jittered) < 0.2


def test_encoder_pinned_to_dlib_by_the_factory_and_68_points_loaded_on_demand(faces) -> None:
    with BioEngine.create(encoder="dlib") as engine:
        assert engine.encoder_backend == "dlib"
        assert isinstance(engine._models._shape_68, Path)  # not loaded yet: photos skip it
        engine.preload_landmarks().result(timeout=120)
        assert not isinstance(engine._models._shape_68, Path)
        image = load_image(faces / "obama_1.jpg")
        (landmarks,) = engine.landmarks(image, engine.detect(image))
        assert landmarks.shape == (68, 2)


def test_thread_policy_leaves_a_core_to_the_camera_on_the_desk_pc() -> None:
    assert [default_threads(n) for n in (1, 2, 3, 4, 8, 32)] == [1, 1, 1, 2, 4, 4]


def test_cached_face_detector_detects_exactly_like_dlibs_own(faces, tmp_path) -> None:
    """The binary copy that spares 1.3 s of start-up finds the same faces with the same scores
    and sub-detectors, on every shared photo, with and without upsampling; a damaged copy is
    rebuilt."""
    import dlib

    from app.bio.models import load_frontal_detector

    first = load_frontal_detector(tmp_path)  # builds and writes the copy
    (copy,) = tmp_path.glob("frontal_face_detector-*.svm")
    cached = load_frontal_detector(tmp_path)  # reads it
    reference = dlib.get_frontal_face_detector()
    found = 0
    for row in manifest(faces):
        image = load_image(faces / row["file"], max_side=DETECT_MAX_SIDE_PHOTO)  # as detected
        for upsample in (0, 1):
            want = reference.run(image, upsample, -0.3)
            for detector in (first, cached):
                got = detector.run(image, upsample, -0.3)
                assert [list(x) for x in got] == [list(x) for x in want], row["file"]
            found += len(want[0])
    assert found >= 25
    copy.write_bytes(b"not a detector")
    rebuilt = load_frontal_detector(tmp_path)
    assert len(rebuilt(load_image(faces / "obama_1.jpg"), 0)) == 1
    assert copy.stat().st_size > 100_000


def test_a_kept_conversion_spares_dlib_at_the_next_start_and_is_still_checked(
    bio_engine,  # noqa: F811
    tmp_path,
) -> None:
    """The graph and dlib's template of the sample chip are kept in the cache folder; the next
    start runs the fast backend against that template without loading dlib's encoder. A
    damaged graph or a wrong kept template sends the start back to dlib, live."""
    from app.bio import encoder_cache

    pytest.importorskip("onnxruntime")
    resnet = tmp_path / "resnet.dat"
    resnet.write_bytes(find_model_paths().resnet.read_bytes())
    cache = tmp_path / "cache"
    loads: list[int] = []

    def dlib_encoder():  # type: ignore[no-untyped-def]
        loads.append(1)
        return bio_engine._models.encoder

    first = select_encoder(dlib_encoder, resnet, cache_dir=cache)
    assert first.encoder.name == "onnxruntime" and loads  # dlib made the reference
    kept = sorted(p.suffix for p in cache.glob("dlib-resnet-*"))
    assert kept == [".json", ".onnx"]
    loads.clear()
    second = select_encoder(dlib_encoder, resnet, cache_dir=cache)
    assert second.encoder.name == "onnxruntime" and not loads
    assert second.max_abs_diff is not None and second.max_abs_diff <= TOLERANCE
    chip = sample_chip()
    np.testing.assert_array_equal(
        second.encoder.encode_chips([chip]), first.encoder.encode_chips([chip])
    )

    # A kept template that is not dlib's: the fast backend "disagrees", dlib is asked again.
    (note_path,) = cache.glob("dlib-resnet-*.json")
    note = json.loads(note_path.read_text())
    note["reference"][0] += 0.01
    note_path.write_text(json.dumps(note))
    third = select_encoder(dlib_encoder, resnet, cache_dir=cache)
    assert third.encoder.name == "onnxruntime" and loads  # checked live, and rewritten
    assert encoder_cache.load(cache, resnet, chip) is not None
    # A damaged graph is not used (its hash no longer matches the note).
    (graph,) = cache.glob("dlib-resnet-*.onnx")
    graph.write_bytes(graph.read_bytes()[:-10] + b"0123456789")
    assert encoder_cache.load(cache, resnet, chip) is None
    # Another weight file (here: touched) is another key; the old copy is removed.
    loads.clear()
    st = resnet.stat()
    os.utime(resnet, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fourth = select_encoder(dlib_encoder, resnet, cache_dir=cache)
    assert fourth.encoder.name == "onnxruntime" and loads
    assert len(list(cache.glob("dlib-resnet-*.onnx"))) == 1
    assert encoder_cache.load(cache, resnet, chip) is not None


def test_self_test_checks_the_fast_backend_against_dlib_live(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--self-test``'s models line names the backend and its live difference to dlib on a
    generated face; a fast backend that computes something else fails the check."""
    import re

    from app import selftest

    line = selftest.check_models(selftest.State(tmp_path))
    assert "encoder onnxruntime" in line, line
    found = re.search(r"max diff to dlib ([0-9.e+-]+)", line)
    assert found and float(found.group(1)) <= TOLERANCE, line
    assert re.search(r"\([12] thread\(s\) for still photos\)", line), line

    # The same engine with a wrong fast backend (fc weights changed), as a broken bundle
    # or a converter bug would give: the self-test refuses it.
    net = _net()
    fc = net.ops[-1]
    assert fc.kind == "fc" and fc.weight is not None
    weight = fc.weight.copy()
    weight[:, 0] += 0.5  # template component 0 moves by half the sum of the pooled features
    wrong = DlibResNet(net.means, [*net.ops[:-1], dataclasses.replace(fc, weight=weight)])
    real_create = BioEngine.create.__func__  # type: ignore[attr-defined]

    def create(cls, *args, **kw):  # type: ignore[no-untyped-def]
        engine = real_create(cls, *args, **kw)
        engine._chip_encoder = OnnxRuntimeEncoder(wrong, build_onnx(wrong), threads=1)
        return engine

    monkeypatch.setattr(BioEngine, "create", classmethod(create))
    with pytest.raises(AssertionError, match="onnxruntime encoder differs from dlib"):
        selftest.check_models(selftest.State(tmp_path))


def test_the_input_table_gives_dlibs_arithmetic_bit_for_bit() -> None:
    """Every 8-bit value of every channel becomes exactly ``float((p - mean) / 256)`` computed
    in double, as dlib's ``to_tensor`` does; the table only spares doing it per pixel."""
    from app.bio.resnet_numpy import chips_to_tensor

    means = _net().means
    values = np.arange(150 * 150, dtype=np.int64) % 256
    chip = np.stack([values, values[::-1], (values * 7) % 256], axis=-1).reshape(150, 150, 3)
    chip = chip.astype(np.uint8)
    got = chips_to_tensor([chip, chip[::-1].copy()], means)
    for k, c in enumerate((chip, chip[::-1])):
        want = (c.astype(np.float64) - np.asarray(means, np.float32).astype(np.float64)) / 256.0
        assert np.array_equal(got[k], want.astype(np.float32).transpose(2, 0, 1))
    with pytest.raises(ValueError, match="150x150 RGB"):
        chips_to_tensor([chip[:10]], means)
