"""The converted face ResNet and dlib's own template of the sample chip, kept between starts.

Why: every ``consentdesk identify`` or ``import`` process starts the face engine. Reading
dlib's 22 MB weight file and writing the ONNX graph cost 0.3–0.9 s, and loading dlib's own
encoder and running it on the sample chip for the start check another 0.4–1 s (measured on the
2-core machine, more when it is busy): a large part of a short command. Both results depend
only on the weight file, dlib's version, the sample chip and our converter, so they are kept in
the user's cache folder (never the vault), keyed by all four, as the issue allows ("converted
once and cached").

What is still done at every start: the fast backend runs on the sample chip and must agree
with dlib's template within :data:`app.bio.encoder.TOLERANCE`. Only dlib's half of that check
is remembered: computed by this dlib, from this weight file (same size and modification time),
on this machine, at an earlier start. ``--self-test`` runs dlib live on a real face and compares
again. A copy that cannot be read, whose graph does not hash to what its note says, or whose key
differs is ignored and rewritten; writing is atomic and a read-only cache folder only costs the
faster start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

CACHE_VERSION = 1
"""Bump when :mod:`app.bio.resnet_dat` or :mod:`app.bio.resnet_onnx` change the graph they
produce (a stale graph would still be caught by the start check, then rebuilt)."""

PREFIX = "dlib-resnet-"
MAX_GRAPH_BYTES = 256 * 1024 * 1024
"""The graph is 22 MB; anything much larger at its name is not ours (e.g. /dev/zero)."""
MAX_NOTE_BYTES = 1024 * 1024
STALE_TMP_S = 3600.0
"""A temporary copy older than this belongs to a process that died while writing it."""


def read_capped(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit``; OSError for anything else.

    Why not ``read_bytes``: this folder is the user's, and a start reads it before anything
    else. A FIFO at a cached name blocked every ``identify`` forever, ``/dev/zero`` ended it
    with MemoryError: such a copy must count as "not usable" like a damaged one."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise OSError(f"{path.name} is not a regular file of at most {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(f"{path.name} grew past {limit} bytes")
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """``path`` replaced by ``data`` through a temporary copy that never stays behind: a
    failed write (a full disk, a folder at ``path``) left a 22 MB ``*.tmp`` at every start."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@dataclass(frozen=True)
class Conversion:
    """What a start needs to run and check the fast backend without dlib's encoder."""

    onnx_model: bytes
    means: tuple[float, float, float]
    reference: F32
    """dlib's template of the sample chip, shape (1, 128)."""


def cache_key(resnet_path: Path, chip: npt.NDArray[np.uint8]) -> str:
    import dlib

    st = resnet_path.stat()
    text = "|".join(
        (
            str(CACHE_VERSION),
            str(dlib.__version__),
            os.fspath(resnet_path.resolve()),
            str(st.st_size),
            str(st.st_mtime_ns),
            hashlib.sha256(np.ascontiguousarray(chip).tobytes()).hexdigest(),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load(cache_dir: Path, resnet_path: Path, chip: npt.NDArray[np.uint8]) -> Conversion | None:
    """The kept conversion for this weight file, dlib and chip; None if absent or unusable."""
    try:
        key = cache_key(resnet_path, chip)
        note = json.loads(read_capped(cache_dir / f"{PREFIX}{key}.json", MAX_NOTE_BYTES))
        model = read_capped(cache_dir / f"{PREFIX}{key}.onnx", MAX_GRAPH_BYTES)
        if note.get("key") != key or hashlib.sha256(model).hexdigest() != note["onnx_sha256"]:
            return None
        means = tuple(float(m) for m in note["means"])
        reference = np.asarray(note["reference"], dtype=np.float32).reshape(1, -1)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(means) != 3 or reference.shape != (1, 128) or not np.isfinite(reference).all():
        return None
    return Conversion(model, (means[0], means[1], means[2]), reference)


def save(
    cache_dir: Path, resnet_path: Path, chip: npt.NDArray[np.uint8], conversion: Conversion
) -> None:
    """Keep ``conversion`` (graph first, then the note that makes it valid) and remove copies
    kept for other keys (an updated dlib or weight file), so at most one 22 MB graph stays."""
    try:
        key = cache_key(resnet_path, chip)
        cache_dir.mkdir(parents=True, exist_ok=True)
        note = {
            "key": key,
            "onnx_sha256": hashlib.sha256(conversion.onnx_model).hexdigest(),
            "means": list(conversion.means),
            # float32 -> float -> JSON -> float -> float32 is exact
            "reference": [float(v) for v in np.asarray(conversion.reference).reshape(-1)],
        }
        for suffix, data in (
            (".onnx", conversion.onnx_model),
            (".json", json.dumps(note).encode()),
        ):
            write_atomic(cache_dir / f"{PREFIX}{key}{suffix}", data)
        for old in cache_dir.glob(f"{PREFIX}*"):
            if old.name.endswith(".tmp"):  # another start may be writing it right now
                if time.time() - old.stat().st_mtime > STALE_TMP_S:
                    old.unlink(missing_ok=True)
            elif not old.name.startswith(f"{PREFIX}{key}."):
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache folder: the next start converts again
