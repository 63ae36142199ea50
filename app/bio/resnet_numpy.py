"""dlib's face ResNet forward pass in plain numpy: the always-available engine.

Why it exists: onnxruntime (the fast engine) is an optional wheel and OpenCV's ``cv2.dnn`` may
be built without the ONNX importer; numpy is always there, its matrix product uses the BLAS it
ships with, and at ~15–30 ms per face it is still several times faster than a dlib built
without BLAS. It is also the readable reference for what the ONNX graph must compute: every op
follows dlib's CPU code (``dlib/cuda/cpu_dlib.cpp``), in particular ``add_prev``, which zero-pads
the smaller branch in channels and size (the downsampling shortcuts have no projection).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.bio.resnet_dat import INPUT_SIZE, DlibResNet, Op

F32 = npt.NDArray[np.float32]


def input_table(means: tuple[float, float, float]) -> F32:
    """(3, 256) float32: the network input for every 8-bit value of each colour channel.

    dlib's ``input_rgb_image_sized::to_tensor`` computes ``(pixel - mean) / 256`` in double and
    stores it as float; a pixel has only 256 values, so that arithmetic is done once here, in
    the same precision, and a chip becomes its input by table lookup (bit for bit the same
    numbers, about 4x faster than converting every pixel in double)."""
    values = np.arange(256, dtype=np.float64)[None, :]
    mean = np.asarray(means, dtype=np.float32).astype(np.float64)[:, None]
    return ((values - mean) / 256.0).astype(np.float32)


def chips_to_tensor(
    chips: Sequence[npt.NDArray[np.uint8]],
    means: tuple[float, float, float],
    table: F32 | None = None,
) -> F32:
    """150x150 RGB face chips to the network input, (N, 3, 150, 150) float32, as dlib makes
    it (see :func:`input_table`; pass ``table`` to reuse one)."""
    batch = np.stack([np.asarray(c, dtype=np.uint8) for c in chips])
    if batch.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"face chips must be {INPUT_SIZE}x{INPUT_SIZE} RGB")
    lut = input_table(means) if table is None else table
    out = np.empty((batch.shape[0], 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for c in range(3):
        np.take(lut[c], batch[..., c], out=out[:, c])
    return out


def _conv(x: F32, op: Op) -> F32:
    assert op.weight is not None and op.bias is not None
    w = op.weight
    o, c, k, _ = w.shape
    if op.pad:
        x = np.pad(x, ((0, 0), (0, 0), (op.pad, op.pad), (op.pad, op.pad)))
    n, _, h, wd = x.shape
    ho, wo = (h - k) // op.stride + 1, (wd - k) // op.stride + 1
    s = x.strides
    windows = np.lib.stride_tricks.as_strided(
        x,
        (n, c, k, k, ho, wo),
        (s[0], s[1], s[2], s[3], s[2] * op.stride, s[3] * op.stride),
        writeable=False,
    )
    cols = windows.reshape(n, c * k * k, ho * wo)
    out: F32 = np.matmul(w.reshape(o, c * k * k), cols)
    out += op.bias.reshape(1, o, 1)
    return out.reshape(n, o, ho, wo)


def _pool(x: F32, op: Op) -> F32:
    if op.size == 0:  # avg_pool_everything
        pooled: F32 = x.mean(axis=(2, 3), keepdims=True, dtype=np.float32)
        return pooled
    n, c, h, w = x.shape
    k, st = op.size, op.stride
    ho, wo = (h - k) // st + 1, (w - k) // st + 1
    s = x.strides
    windows = np.lib.stride_tricks.as_strided(
        x, (n, c, ho, wo, k, k), (s[0], s[1], s[2] * st, s[3] * st, s[2], s[3]), writeable=False
    )
    if op.kind == "max_pool":
        return np.ascontiguousarray(windows.max(axis=(4, 5)))
    return np.ascontiguousarray(windows.mean(axis=(4, 5), dtype=np.float32))


def _add_padded(a: F32, b: F32) -> F32:
    """dlib's ``add_prev``: the sum has the larger size; the smaller input counts as zero where
    it does not reach (channels and rows/columns at the end)."""
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2], : a.shape[3]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out


def forward(net: DlibResNet, x: F32) -> F32:
    """Run the network on an (N, 3, 150, 150) input; returns (N, 128) float32 descriptors
    (not normalised, exactly as dlib returns them)."""
    tags: dict[int, F32] = {}
    for op in net.ops:
        if op.kind == "conv":
            x = _conv(x, op)
        elif op.kind == "affine":
            assert op.weight is not None and op.bias is not None
            x = x * op.weight.reshape(1, -1, 1, 1) + op.bias.reshape(1, -1, 1, 1)
        elif op.kind == "relu":
            x = np.maximum(x, np.float32(0))
        elif op.kind in ("max_pool", "avg_pool"):
            x = _pool(x, op)
        elif op.kind == "tag":
            tags[op.tag] = x
        elif op.kind == "skip":
            x = tags[op.tag]
        elif op.kind == "add_prev":
            x = _add_padded(x, tags[op.tag])
        elif op.kind == "fc":
            assert op.weight is not None
            x = x.reshape(x.shape[0], -1) @ op.weight
        else:  # pragma: no cover - the reader only produces the kinds above
            raise ValueError(op.kind)
    return np.ascontiguousarray(x.astype(np.float32).reshape(x.shape[0], -1))
