"""Frame sources: no camera is a state, the video stands in for a camera, stills repeat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.bio.errors import CameraUnavailable
from app.bio.sources import (
    CameraSource,
    FrameSource,
    ImageSequenceSource,
    VideoFileSource,
    open_source,
    require_open,
    still_as_camera,
)


class _NoCamera:
    def isOpened(self) -> bool:
        return False

    def release(self) -> None:
        pass


class _FakeCamera:
    """Delivers 3 BGR frames then fails, like a camera being unplugged."""

    def __init__(self) -> None:
        self.n = 0
        self.settings: dict[int, float] = {}

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.n += 1
        if self.n > 3:
            return False, None
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, :, 0] = 255  # blue in BGR
        return True, frame

    def release(self) -> None:
        pass


def test_no_camera_is_a_clear_state() -> None:
    cam = CameraSource(0, capture_factory=lambda _i: _NoCamera())
    assert isinstance(cam, FrameSource)
    cam.open()
    assert cam.status == "unavailable" and "camera" in cam.message.lower()
    assert cam.read() is None
    cam.close()
    with pytest.raises(CameraUnavailable) as info:
        require_open(CameraSource(0, capture_factory=lambda _i: _NoCamera()))
    assert info.value.message


def test_camera_frames_are_rgb_and_unplugging_is_a_state() -> None:
    fake = _FakeCamera()
    with CameraSource(1, capture_factory=lambda _i: fake) as cam:
        frames = [cam.read() for _ in range(3)]
        assert all(f is not None for f in frames)
        first = frames[0]
        assert first is not None and first.image[0, 0].tolist() == [0, 0, 255]
        assert [f.index for f in frames if f] == [0, 1, 2]
        assert cam.read() is None and cam.status == "error" and cam.message


def test_video_file_stands_in_for_a_camera(video: Path) -> None:
    src = VideoFileSource(video)
    src.open()
    assert src.status == "open"
    times = []
    for _ in range(10):
        frame = src.read()
        assert frame is not None and frame.image.dtype == np.uint8 and frame.image.shape[2] == 3
        times.append(frame.timestamp)
    assert times == sorted(times) and times[1] > 0
    src.close()
    missing = VideoFileSource(video.parent / "missing.mp4")
    missing.open()
    assert missing.status == "unavailable" and missing.read() is None


def test_still_photo_as_camera_repeats(faces: Path) -> None:
    src = still_as_camera(faces / "obama_small.jpg", fps=5, seconds=2)
    src.open()
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert len(frames) == 10 and src.status == "ended"
    assert frames[-1].timestamp == pytest.approx(9 / 5)
    assert all(np.array_equal(frames[0].image, f.image) for f in frames)


def test_image_sequence_and_bad_file(faces: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    src = ImageSequenceSource([faces / "obama_small.jpg", bad])
    src.open()
    assert src.read() is not None
    assert src.read() is None and src.status == "error" and "bad.jpg" in src.message
    empty = ImageSequenceSource([])
    empty.open()
    assert empty.status == "unavailable"


def test_open_source_dispatch(faces: Path, video: Path) -> None:
    assert isinstance(open_source("0"), CameraSource)
    assert isinstance(open_source(str(faces)), ImageSequenceSource)
    assert isinstance(open_source(str(video)), VideoFileSource)
