"""Shared helpers for the biometric tests (a module, not a conftest, so the bio tests stay in
files the bio engineer owns). One engine per test session: loading the models takes ~1 s and
100 MB, and the engine's single worker thread is exactly what production uses."""

from __future__ import annotations

import atexit
import csv
import functools
from pathlib import Path

import numpy as np
import pytest

from app.bio.engine import BioEngine, PhotoAnalysis
from app.bio.images import load_image


@functools.cache
def shared_engine() -> BioEngine:
    engine = BioEngine.create()
    atexit.register(engine.close)
    return engine


@functools.cache
def _analysis(path: str) -> PhotoAnalysis:
    return shared_engine().analyse_photo(load_image(path))


def analysis_of(path: Path) -> PhotoAnalysis:
    """Photo analysis, computed once per photo per session."""
    return _analysis(str(path))


def manifest(faces: Path) -> list[dict[str, str]]:
    with (faces / "MANIFEST.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def single_face_rows(faces: Path) -> list[dict[str, str]]:
    return [r for r in manifest(faces) if r["faces"] == "1"]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


@pytest.fixture(scope="session")
def bio_engine() -> BioEngine:
    return shared_engine()


def test_support_module_loads() -> None:
    assert callable(shared_engine)
