"""Turn whatever the desk is handed (a path, an upload's bytes) into a safe RGB array.

Why not ``face_recognition.load_image_file``: it ignores the EXIF Orientation tag, so a phone
photo taken in portrait arrives sideways and HOG finds no face (or a worse template); it hands
RGBA/16-bit/CMYK straight to ``convert`` (16-bit greyscale comes out white); and it decodes any
size, so a 1 KB "decompression bomb" header can allocate gigabytes. Here every failure is an
:class:`~app.bio.errors.ImageError` with a plain message, raised before anything reaches dlib.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, UnidentifiedImageError

from app.bio.errors import ImageError
from app.bio.thresholds import (
    IMAGE_MAX_FILE_BYTES,
    IMAGE_MAX_PIXELS,
    IMAGE_MAX_SIDE,
    IMAGE_MIN_SIDE,
)
from app.errors import InvalidInput
from app.filecheck import read_regular

RGBImage = npt.NDArray[np.uint8]
"""An ``(height, width, 3)`` C-contiguous uint8 array in RGB order."""

ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview

# Formats a camera, phone or scanner plausibly produces. Anything else Pillow happens to parse
# (EPS via Ghostscript, ICNS, PSD...) is refused: fewer decoders, fewer attack surfaces.
ALLOWED_FORMATS: Final[frozenset[str]] = frozenset(
    {"JPEG", "MPO", "PNG", "BMP", "TIFF", "WEBP", "GIF", "PPM", "DIB"}
)
# What Image.open is asked to try. MPO (a phone's multi-picture JPEG) has no opener of its own:
# the JPEG plugin opens it and returns an MpoImageFile, and asking Pillow for "MPO" by name
# raises KeyError, which broke every format sorted after it (PNG, TIFF, WEBP).
_OPEN_FORMATS: Final[tuple[str, ...]] = tuple(sorted(ALLOWED_FORMATS - {"MPO"}))

# EXIF Orientation tag (0x0112) -> Pillow transpose op that makes the pixels upright.
_ORIENTATION_OPS: Final[dict[int, tuple[Image.Transpose, ...]]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}

# What Pillow (and the codecs under it) raise on bad input. Catching these, and only these,
# keeps real bugs (TypeError in our own code...) visible.
_DECODE_ERRORS: Final = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    MemoryError,
    ZeroDivisionError,
    OverflowError,
    Image.DecompressionBombError,
    UnidentifiedImageError,
)


_TRUNCATION_LOCK = threading.Lock()


def _load_strict(im: Image.Image) -> None:
    """Decode pixels, refusing truncated files even if someone flipped Pillow's global
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` (importing face_recognition sets it to True!). A
    truncated photo would otherwise decode with a grey lower half and still yield a template."""
    with _TRUNCATION_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            im.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _fail(label: str | None, reason: str, code: str = "image_error") -> ImageError:
    return ImageError(f"{label}: {reason}" if label else reason, code=code)


def _read_source(source: ImageInput, label: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) > IMAGE_MAX_FILE_BYTES:
            raise _fail(label, "file is too large to be a photo.", "image_too_large")
        return bytes(source), label
    if not isinstance(source, str | os.PathLike):
        raise TypeError("load_image expects a path or bytes")
    path = Path(source)
    shown = label if label is not None else os.fspath(source)
    try:
        if not path.exists():
            raise _fail(shown, "file not found.", "image_missing")
        if not path.is_file():
            raise _fail(shown, "not a file.", "image_not_file")
        size = path.stat().st_size
        if size > IMAGE_MAX_FILE_BYTES:
            raise _fail(shown, "file is too large to be a photo.", "image_too_large")
        # Checked again on the opened descriptor: the path may have become a FIFO or device.
        return read_regular(path, "The photo", IMAGE_MAX_FILE_BYTES), shown
    except (OSError, InvalidInput) as exc:  # permission denied, I/O error, swapped file...
        raise _fail(shown, "file could not be read.", "image_unreadable") from exc


def _orientation(im: Image.Image) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data" is handled right here
            value = im.getexif().get(0x0112, 1)
        return int(value) if value in _ORIENTATION_OPS else 1
    except _DECODE_ERRORS:
        # A broken EXIF block must not cost the whole photo; upright is the safe default.
        return 1


def _to_rgb(im: Image.Image) -> RGBImage:
    """Normalise any Pillow mode to 8-bit RGB.

    Transparent pixels are composited on white (not left as black, which would read as very
    dark skin/background to the exposure check); high bit depths are scaled, not clipped.
    """
    mode = im.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        raw = np.asarray(im)
        arr = raw.astype(np.float32)
        peak = float(np.max(arr)) if arr.size else 0.0
        if mode.startswith("I;16") or 255.0 < peak <= 65535.0:
            arr = arr / 257.0
        elif peak > 65535.0:
            arr = arr * (255.0 / peak)
        grey = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba).convert("RGB")
    elif mode != "RGB":
        im = im.convert("RGB")
    return np.array(im, dtype=np.uint8, order="C")


def load_image(
    source: ImageInput,
    *,
    max_side: int = IMAGE_MAX_SIDE,
    max_pixels: int = IMAGE_MAX_PIXELS,
    label: str | None = None,
) -> RGBImage:
    """Decode ``source`` (a path or the file's bytes) to an upright RGB uint8 array.

    - EXIF orientation is applied, so the array is the way a person would look at the photo.
    - Images larger than ``max_side`` on their long side are downscaled (aspect kept): a
      face does not need 12 MP and HOG/landmarks cost grows with pixels. JPEGs are decoded
      straight at a reduced scale (libjpeg DCT scaling), which is much faster than decode+resize.
    - Headers announcing more than ``max_pixels`` are refused before decoding (decompression
      bombs); so are files above ``IMAGE_MAX_FILE_BYTES``.
    - Animated images (GIF/WebP/MPO) use their first frame.

    ``label`` replaces the path in error messages (for bytes, it is the only name shown); pass
    e.g. "upload" if even the file name should not reach a log.

    Raises :class:`ImageError` for every unusable input.
    """
    data, shown = _read_source(source, label)
    if not data:
        raise _fail(shown, "file is empty.", "image_empty")
    try:
        with warnings.catch_warnings():
            # DecompressionBombWarning would otherwise only warn between 1x and 2x Pillow's
            # limit; we apply our own, stricter limit below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # "Corrupt EXIF data" and similar metadata complaints: the pixels still decode,
            # and a warning printed to the desk's console helps nobody.
            warnings.simplefilter("ignore", UserWarning)
            im: Image.Image = Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
            im.seek(0)
            fmt = im.format or ""
            if fmt not in ALLOWED_FORMATS:
                raise _fail(shown, "not a supported photo format.", "image_format")
            width, height = im.size
            if width <= 0 or height <= 0:
                raise _fail(shown, "image has no pixels.", "image_empty")
            if width * height > max_pixels:
                raise _fail(shown, "image dimensions are too large.", "image_too_large")
            if min(width, height) < IMAGE_MIN_SIDE:
                raise _fail(shown, "image is too small to contain a face.", "image_too_small")
            if max(width, height) > max_side and fmt in ("JPEG", "MPO"):
                scale = max_side / max(width, height)
                im.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            _load_strict(im)
            orientation = _orientation(im)
            for op in _ORIENTATION_OPS.get(orientation, ()):
                im = im.transpose(op)
            rgb = _to_rgb(im)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own limit, hit inside open()
        raise _fail(shown, "image dimensions are too large.", "image_too_large") from exc
    except _DECODE_ERRORS as exc:
        raise _fail(
            shown, "not a readable image (corrupt, truncated or unsupported).", "image_corrupt"
        ) from exc
    if max(rgb.shape[:2]) > max_side:
        # OpenCV's area resampling: correct anti-aliasing for downscaling and ~10x faster
        # than Pillow's Lanczos on a multi-megapixel photo.
        scale = max_side / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise _fail(shown, "image could not be converted to colour.", "image_corrupt")
    if min(rgb.shape[:2]) < IMAGE_MIN_SIDE:
        # A strip (20000 x 80 px) passes the check above but not once scaled down: refused
        # here, as this photo's own error, instead of by the engine for a whole batch of them
        # (identify's and the bulk import's other photos then got no result at all).
        raise _fail(shown, "image is too small to contain a face.", "image_too_small")
    return rgb


def ensure_rgb(image: npt.NDArray[np.generic]) -> RGBImage:
    """Validate an in-memory frame (from a camera/video/UI) before it is given to dlib.

    dlib crashes or silently misbehaves on non-contiguous, non-uint8 or 4-channel arrays; a
    clear ImageError here is cheaper to debug than a segfault in the worker thread.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError("frame is not an image array.", code="image_error")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ImageError("frame must be an RGB image.", code="image_error")
    if image.shape[2] == 4:
        image = image[:, :, :3]
    if image.dtype != np.uint8:
        raise ImageError("frame must be 8-bit.", code="image_error")
    if min(image.shape[0], image.shape[1]) < IMAGE_MIN_SIDE:
        raise ImageError("frame is too small to contain a face.", code="image_too_small")
    return np.ascontiguousarray(image, dtype=np.uint8)
