"""The image loader: every bad input gives an ImageError with a plain message (never a Pillow
or dlib traceback), every odd-but-valid input gives an upright 8-bit RGB array."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.bio.errors import BioError, ImageError
from app.bio.images import ensure_rgb, load_image
from tests.core.test_bio_support import bio_engine  # noqa: F401  (fixture)

RNG = np.random.default_rng(42)


def _png_bytes(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _face_like(size: tuple[int, int] = (120, 100)) -> Image.Image:
    arr = RNG.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


def _png_with_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _jpeg() -> bytes:
    return _save(_face_like((200, 160)), "JPEG", quality=90)


# name -> bytes factory; all must be REFUSED with ImageError
BAD: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "truncated_jpeg": lambda: _jpeg()[: len(_jpeg()) // 2],
    "random_bytes": lambda: RNG.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
    "text": lambda: b"hello, this is not an image\n" * 20,
    "pdf": lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    "html": lambda: b"<!doctype html><html><body><img src=x></body></html>",
    "svg": lambda: (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        b'width="100" height="100"><circle cx="50" cy="50" r="40"/></svg>'
    ),
    "zero_size_png": lambda: _png_with_header(0, 0),
    "one_by_one": lambda: _png_bytes(Image.new("RGB", (1, 1))),
    "bomb_header": lambda: _png_with_header(100_000, 100_000),
    "wide_header": lambda: _png_with_header(60_000, 2_000),
    "truncated_png": lambda: _png_bytes(_face_like())[:400],
    "zip": lambda: b"PK\x03\x04" + b"\x00" * 100,
    "ico": lambda: _save(_face_like((64, 64)), "ICO"),
    "jpeg_header_only": lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_bytes_are_refused_with_a_clear_error(kind: str, tmp_path: Path) -> None:
    data = BAD[kind]()
    path = tmp_path / f"upload_{kind}.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = info.value.message
    assert message and "Traceback" not in message
    assert str(path) in message  # the caller's own file name only
    # The same through bytes with a neutral label: no path leaks, and still an ImageError.
    with pytest.raises(ImageError) as info2:
        load_image(data, label="upload")
    assert info2.value.message.startswith("upload: ")
    assert isinstance(info2.value, BioError)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as missing:
        load_image(tmp_path / "nope.jpg")
    assert missing.value.code == "image_missing"
    with pytest.raises(ImageError) as directory:
        load_image(tmp_path)
    assert directory.value.code == "image_not_file"


def _loads(data: bytes) -> np.ndarray:
    rgb = load_image(data)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.flags["C_CONTIGUOUS"]
    return rgb


def test_16bit_greyscale_png_is_scaled_not_clipped() -> None:
    arr = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    im = Image.fromarray(arr)
    rgb = _loads(_png_bytes(im))
    assert rgb.shape == (64, 64, 3)
    assert 100 < rgb.mean() < 155  # a gradient, not a white (clipped) square
    assert rgb[0, 0, 0] < 5 and rgb[-1, -1, 0] > 250


def test_cmyk_jpeg() -> None:
    im = Image.new("CMYK", (80, 60), (0, 255, 255, 0))  # pure red in CMYK
    rgb = _loads(_save(im, "JPEG"))
    assert rgb[30, 40, 0] > 200 and rgb[30, 40, 1] < 60


def test_palette_png_with_transparency_composites_on_white() -> None:
    im = Image.new("P", (64, 64), 0)
    im.putpalette([0, 0, 0] * 256)
    rgb = _loads(_png_bytes(im, transparency=0))
    assert rgb.min() == 255  # fully transparent -> white, not black


def test_rgba_png_composites_on_white() -> None:
    im = Image.new("RGBA", (50, 40), (10, 20, 30, 0))
    assert _loads(_png_bytes(im)).min() == 255


@pytest.mark.parametrize(
    "fmt,mode",
    [
        ("JPEG", "L"),
        ("PNG", "LA"),
        ("GIF", "P"),
        ("TIFF", "RGB"),
        ("WEBP", "RGB"),
        ("BMP", "RGB"),
        ("TIFF", "I;16"),
        ("PNG", "1"),
        ("TIFF", "F"),
    ],
)
def test_other_valid_formats_load(fmt: str, mode: str) -> None:
    base = _face_like((90, 70)).convert("L" if mode in ("I;16", "F", "1", "LA") else "RGB")
    im = (
        base.convert(mode)
        if mode not in ("I;16", "F")
        else Image.fromarray(
            (np.asarray(base).astype(np.float32) * (257.0 if mode == "I;16" else 1.0)).astype(
                np.uint16 if mode == "I;16" else np.float32
            )
        )
    )
    rgb = _loads(_save(im, fmt))
    assert rgb.shape == (70, 90, 3)


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb = _loads(buf.getvalue())
    assert rgb[20, 20, 0] > 200 and rgb[20, 20, 2] < 50


def test_large_photo_is_downscaled_and_bomb_refused_before_decoding() -> None:
    big = Image.new("RGB", (5000, 3000), (120, 110, 100))
    rgb = _loads(_save(big, "JPEG", quality=70))
    assert max(rgb.shape[:2]) == 2048 and abs(rgb.shape[1] / rgb.shape[0] - 5 / 3) < 0.01
    with pytest.raises(ImageError) as info:
        load_image(_png_with_header(20_000, 20_000))
    assert info.value.code == "image_too_large"


def test_broken_and_odd_exif_does_not_cost_the_photo() -> None:
    im = _face_like((64, 48))
    exif = Image.Exif()
    exif[0x0112] = 9  # not a valid orientation
    rgb = _loads(_save(im, "JPEG", exif=exif.tobytes()))
    assert rgb.shape == (48, 64, 3)
    data = bytearray(_save(im, "JPEG", exif=b"Exif\x00\x00MM\x00*garbage"))
    assert _loads(bytes(data)).shape == (48, 64, 3)


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (60, 40), (0, 0, 0))
    im.paste((255, 255, 255), (0, 0, 20, 40))  # white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways, display = rotate 90 degrees clockwise
    stored = im.transpose(Image.Transpose.ROTATE_90)
    rgb = _loads(_save(stored, "PNG", exif=exif.tobytes()))
    assert rgb.shape == (40, 60, 3)
    assert rgb[:, :15].mean() > 200 and rgb[:, 25:].mean() < 50


def test_ensure_rgb_rejects_unusable_frames() -> None:
    for bad in (
        np.zeros((10, 10, 3), np.uint8),
        np.zeros((100, 100, 3), np.float32),
        np.zeros((100, 100, 2), np.uint8),
        "not an array",
    ):
        with pytest.raises(ImageError):
            ensure_rgb(bad)  # type: ignore[arg-type]
    assert ensure_rgb(np.zeros((40, 40), np.uint8)).shape == (40, 40, 3)
    assert ensure_rgb(np.zeros((40, 40, 4), np.uint8)).flags["C_CONTIGUOUS"]


def test_everything_that_loads_is_safe_for_the_engine(bio_engine) -> None:  # noqa: F811
    """Odd inputs that do load must go through detection and encoding without errors."""
    for data in (
        _png_bytes(Image.new("RGB", (16, 16))),
        _save(_face_like((300, 200)), "JPEG"),
        _png_bytes(Image.new("RGBA", (70, 50))),
    ):
        rgb = load_image(data)
        analysis = bio_engine.analyse_photo(rgb)
        assert analysis.face_count == 0
        assert bio_engine.analyse_frame(rgb).face_count == 0


_VALID_JPEG = _save(_face_like((96, 80)), "JPEG", quality=85)
_VALID_PNG = _png_bytes(_face_like((64, 48)))


@settings(max_examples=80, deadline=None)
@given(
    base=st.sampled_from([_VALID_JPEG, _VALID_PNG]),
    cuts=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=12),
    truncate=st.one_of(st.none(), st.integers(0, 4000)),
)
def test_fuzzed_files_load_or_raise_image_error(
    base: bytes, cuts: list[tuple[int, int]], truncate: int | None
) -> None:
    """Flipped bytes and truncations anywhere: an RGB array or an ImageError, nothing else."""
    data = bytearray(base)
    for pos, value in cuts:
        data[pos % len(data)] = value
    if truncate is not None:
        data = data[: truncate % (len(data) + 1)]
    try:
        rgb = load_image(bytes(data))
    except ImageError as exc:
        assert exc.message
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
