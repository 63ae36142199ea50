"""Shared fixtures. The face photos and the video live outside the repo (../shared/testdata or
$CONSENTDESK_TESTDATA); tests that need them skip when absent, except under CI where a missing
fixture is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent.parent


def _testdata_dir() -> Path:
    env = os.environ.get("CONSENTDESK_TESTDATA")
    return Path(env) if env else _REPO.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared test data folder (faces/, video/)."""
    root = _testdata_dir()
    if not (root / "faces" / "MANIFEST.csv").is_file():
        msg = f"shared test data not found at {root} (set CONSENTDESK_TESTDATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture(scope="session")
def faces(testdata: Path) -> Path:
    return testdata / "faces"


@pytest.fixture(scope="session")
def video(testdata: Path) -> Path:
    return testdata / "video" / "short_hamilton_clip.mp4"
