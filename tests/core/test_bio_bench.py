"""The benchmark runs and reports every key (photo metrics need the shared photos)."""

from __future__ import annotations

from app.bio.bench import run_benchmark
from tests.core.test_bio_support import bio_engine  # noqa: F401  (fixture)

KEYS = {
    "detect_fps_640x480",
    "quality_fps_640x480",
    "encode_ms_per_face",
    "enroll_ms",
    "photo_ms_ours",
    "photo_ms_naive",
    "photo_throughput_ratio_vs_naive",
    "same_decisions",
    "identify_ms_10k",
    "identify_ms_100k",
    "gallery_load_ms_100k",
    "dlib_blas",
    "encode_backend",
    "encode_ms_per_face_dlib",
    "encode_speedup_vs_dlib",
}


def test_benchmark_without_photos_still_measures_the_gallery(bio_engine) -> None:  # noqa: F811
    steps: list[tuple[str, float]] = []
    result = run_benchmark(None, lambda msg, frac: steps.append((msg, frac)), engine=bio_engine)
    assert set(result) >= KEYS
    assert result["photo_ms_ours"] is None and result["detect_fps_640x480"] is None
    assert result["identify_ms_100k"] > 0 and result["gallery_load_ms_100k"] > 0
    assert isinstance(result["dlib_blas"], bool)
    assert result["encode_backend"] == bio_engine.encoder_backend
    assert steps[-1] == ("done", 1.0)
    assert [f for _, f in steps] == sorted(f for _, f in steps)
