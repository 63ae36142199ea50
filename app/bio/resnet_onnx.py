"""dlib's face ResNet as an ONNX graph, for onnxruntime or OpenCV's ``cv2.dnn``.

Why ONNX, built in memory: both fast engines we can ship without a compiler read ONNX, so one
graph serves both. The graph is produced from dlib's own weight file at start (about 0.1 s), so
there is no converted model to ship, cache or keep in sync with dlib; and we write the few
protobuf messages ONNX needs by hand (:class:`_Proto`) rather than depend on the ``onnx``
package, which is large and not needed at run time.

Each affine (dlib's frozen batch-norm) is folded into the convolution before it (weights and bias
scaled per output channel): one op fewer per convolution, same result within float32 rounding
(checked against dlib at start, see :mod:`app.bio.encoder`). The input is the preprocessed
(N, 3, 150, 150) float32 tensor of :func:`app.bio.resnet_numpy.chips_to_tensor`; the batch size
is dynamic.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from app.bio.resnet_dat import INPUT_SIZE, DlibResNet, Op

F32 = npt.NDArray[np.float32]

OPSET = 13
IR_VERSION = 7
INPUT_NAME = "chips"
OUTPUT_NAME = "descriptor"

_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_INT, _ATTR_INTS = 2, 7  # AttributeProto.AttributeType


class _Proto:
    """Just enough of the protobuf wire format: varints, length-delimited fields."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    @staticmethod
    def _varint(value: int) -> bytes:
        value &= (1 << 64) - 1  # negative int64 as two's complement, as protobuf does
        out = bytearray()
        while True:
            b = value & 0x7F
            value >>= 7
            if value:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    def varint(self, field: int, value: int) -> _Proto:
        self.parts.append(self._varint(field << 3) + self._varint(value))
        return self

    def blob(self, field: int, value: bytes) -> _Proto:
        self.parts.append(self._varint((field << 3) | 2) + self._varint(len(value)) + value)
        return self

    def text(self, field: int, value: str) -> _Proto:
        return self.blob(field, value.encode())

    def msg(self, field: int, value: _Proto) -> _Proto:
        return self.blob(field, value.build())

    def build(self) -> bytes:
        return b"".join(self.parts)


def _tensor(name: str, array: npt.NDArray[np.float32] | npt.NDArray[np.int64]) -> _Proto:
    dtype = _INT64 if array.dtype == np.int64 else _FLOAT
    t = _Proto()
    for d in array.shape:
        t.varint(1, int(d))
    t.varint(2, dtype).text(8, name)
    return t.blob(
        9, np.ascontiguousarray(array).astype("<i8" if dtype == _INT64 else "<f4").tobytes()
    )


def _value_info(name: str, dims: Iterable[int | str]) -> _Proto:
    shape = _Proto()
    for d in dims:
        shape.msg(1, _Proto().text(2, d) if isinstance(d, str) else _Proto().varint(1, d))
    tensor_type = _Proto().varint(1, _FLOAT).msg(2, shape)
    return _Proto().text(1, name).msg(2, _Proto().msg(1, tensor_type))


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[_Proto] = []
        self.inits: list[_Proto] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, prefix: str, array: npt.NDArray[np.float32] | npt.NDArray[np.int64]) -> str:
        name = self.name(prefix)
        self.inits.append(_tensor(name, array))
        return name

    def node(self, op_type: str, inputs: list[str], out: str = "", **ints: int | list[int]) -> str:
        out = out or self.name(op_type.lower())
        n = _Proto()
        for i in inputs:
            n.text(1, i)
        n.text(2, out).text(3, out).text(4, op_type)
        for key, value in ints.items():
            attr = _Proto().text(1, key)
            if isinstance(value, list):
                for v in value:
                    attr.varint(8, v)
                attr.varint(20, _ATTR_INTS)
            else:
                attr.varint(3, value).varint(20, _ATTR_INT)
            n.msg(5, attr)
        self.nodes.append(n)
        return out


def _fold(conv: Op, affine: Op | None) -> tuple[F32, F32]:
    assert conv.weight is not None and conv.bias is not None
    if affine is None:
        return conv.weight, conv.bias
    assert affine.weight is not None and affine.bias is not None
    g = affine.weight.astype(np.float32)
    w = (conv.weight * g.reshape(-1, 1, 1, 1)).astype(np.float32)
    b = (conv.bias * g + affine.bias).astype(np.float32)
    return w, b


def build_onnx(net: DlibResNet) -> bytes:
    """Serialise ``net`` as an ONNX model (opset 13). Shapes are tracked here so that the
    zero-padding of ``add_prev`` becomes a static ``Pad`` exactly where dlib pads."""
    g = _Graph()
    x, shape = INPUT_NAME, (3, INPUT_SIZE, INPUT_SIZE)  # (channels, rows, cols) of x
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    ops = net.ops
    i = 0
    while i < len(ops):
        op = ops[i]
        if op.kind == "conv":
            nxt = ops[i + 1] if i + 1 < len(ops) and ops[i + 1].kind == "affine" else None
            w, b = _fold(op, nxt)
            k = op.size
            x = g.node(
                "Conv",
                [x, g.const("w", w), g.const("b", b)],
                kernel_shape=[k, k],
                strides=[op.stride, op.stride],
                pads=[op.pad] * 4,
            )
            side = (shape[1] + 2 * op.pad - k) // op.stride + 1
            shape = (w.shape[0], side, (shape[2] + 2 * op.pad - k) // op.stride + 1)
            i += 2 if nxt is not None else 1
            continue
        if op.kind == "affine":  # not after a convolution: Mul + Add
            assert op.weight is not None and op.bias is not None
            x = g.node("Mul", [x, g.const("g", op.weight.reshape(1, -1, 1, 1))])
            x = g.node("Add", [x, g.const("beta", op.bias.reshape(1, -1, 1, 1))])
        elif op.kind == "relu":
            x = g.node("Relu", [x])
        elif op.kind in ("max_pool", "avg_pool") and op.size == 0:
            x = g.node("GlobalAveragePool", [x])
            shape = (shape[0], 1, 1)
        elif op.kind in ("max_pool", "avg_pool"):
            x = g.node(
                "MaxPool" if op.kind == "max_pool" else "AveragePool",
                [x],
                kernel_shape=[op.size, op.size],
                strides=[op.stride, op.stride],
                pads=[op.pad] * 4,
            )
            rows, cols = ((s + 2 * op.pad - op.size) // op.stride + 1 for s in shape[1:])
            shape = (shape[0], rows, cols)
        elif op.kind == "tag":
            tags[op.tag] = (x, shape)
        elif op.kind == "skip":
            x, shape = tags[op.tag]
        elif op.kind == "add_prev":
            other, other_shape = tags[op.tag]
            full = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))
            x = _pad_to(g, x, shape, full)
            other = _pad_to(g, other, other_shape, full)
            x, shape = g.node("Add", [x, other]), (full[0], full[1], full[2])
        elif op.kind == "fc":
            assert op.weight is not None
            x = g.node("Flatten", [x], axis=1)
            x = g.node("MatMul", [x, g.const("fc", op.weight)])
        else:  # pragma: no cover
            raise ValueError(op.kind)
        i += 1
    g.node("Identity", [x], out=OUTPUT_NAME)
    graph = _Proto()
    for n in g.nodes:
        graph.msg(1, n)
    graph.text(2, "dlib_face_recognition_resnet_model_v1")
    for t in g.inits:
        graph.msg(5, t)
    graph.msg(11, _value_info(INPUT_NAME, ["N", 3, INPUT_SIZE, INPUT_SIZE]))
    graph.msg(12, _value_info(OUTPUT_NAME, ["N", 128]))
    model = _Proto().varint(1, IR_VERSION).text(2, "consentdesk").msg(7, graph)
    model.msg(8, _Proto().text(1, "").varint(2, OPSET))
    return model.build()


def _pad_to(g: _Graph, x: str, shape: tuple[int, ...], full: tuple[int, ...]) -> str:
    """Zero-pad channels, rows and columns at the end, as dlib's ``add_prev`` does."""
    extra = [f - s for f, s in zip(full, shape, strict=True)]
    if not any(extra):
        return x
    pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
    return g.node("Pad", [x, g.const("pads", pads)])
