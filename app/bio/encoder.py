"""Face encoder backends: dlib's ResNet run by onnxruntime, ``cv2.dnn``, numpy, or dlib itself.

Why: the dlib-bin wheel is built without a BLAS, so dlib's encoder takes 75–90 ms per face and
dominates enrollment, identification and bulk import. The same network with the same weights
(read from dlib's own file by :mod:`app.bio.resnet_dat`) runs in a few milliseconds in
onnxruntime or OpenCV's DNN module. dlib stays the reference: every fast backend is checked
against dlib at start on a built-in sample chip, and a backend whose templates differ by more
than :data:`TOLERANCE` (max abs) is not used; the engine then falls back to the next one, and
finally to dlib, with a log line saying why. ``num_jitters`` > 1 (dlib's random jitter, which
cannot be reproduced outside dlib) always goes to dlib; see :class:`app.bio.engine.BioEngine`.
The converted graph and dlib's template of the sample chip are kept in the user's cache folder
(:mod:`app.bio.encoder_cache`), so a later start checks the fast backend against that template
without converting again or loading dlib's encoder (about 1 s of every command's start).

All backends take 150x150 RGB face chips (``dlib.get_face_chips``: dlib keeps doing detection,
landmarks and alignment) and return (N, 128) float32 templates, not normalised, like dlib.

Threads: the encoder runs on the engine's single worker, the same thread as the live gate's
detector, while the camera thread and the UI want the other core. A multi-threaded forward pass
waits at every layer for its slowest thread, so as soon as another thread holds a core the
second encoder thread costs more than it gives: measured on the 2-core machine in one process,
onnxruntime with 2 threads was 1.2-1.4x faster than with 1 when the machine was nearly idle but
1.3x *slower* under load. :func:`default_threads` therefore uses one thread on machines with up
to two cores (half the cores, at most 4, on bigger ones); with enough still-photo work and the
camera off, onnxruntime builds a second session with twice the threads and uses whichever
measures faster (:mod:`app.bio.encoder_threads`). onnxruntime is told not to spin its threads
while idle (its default spin-wait would keep a core busy between encodes).
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.bio.encoder_threads import SOLO, WIDE, ThreadPicker, wide_threads
from app.bio.resnet_dat import INPUT_SIZE, DlibResNet, load_dlib_resnet
from app.bio.resnet_numpy import chips_to_tensor, forward, input_table
from app.bio.resnet_onnx import INPUT_NAME, build_onnx

LOG = logging.getLogger("consentdesk.bio.encoder")

F32 = npt.NDArray[np.float32]
Chip = npt.NDArray[np.uint8]
Means = tuple[float, float, float]

TOLERANCE = 1e-5
"""Largest difference (max abs, per template component) allowed between a backend and dlib."""

BACKENDS = ("onnxruntime", "opencv", "numpy", "dlib")
"""Preference order: fastest first. ``CONSENTDESK_ENCODER`` (read by the CLI/UI at start and
passed in as ``prefer``) can pin one, e.g. for a support case."""

DEFAULT_BATCH = 16
"""Chips per forward pass (dlib's own batch size in ``compute_face_descriptor``)."""


class ChipEncoder(Protocol):
    """Templates for aligned 150x150 RGB face chips."""

    name: str

    def encode_chips(self, chips: Sequence[Chip]) -> F32:
        """(N, 128) float32 templates for N chips."""
        ...

    def note_live_frame(self) -> None:
        """The camera is live (a frame was just analysed): leave the other core to it."""
        ...


def default_threads(cpu_count: int | None = None) -> int:
    """Encoder threads: 1 on a 1–2 core desk PC (the camera and the UI need the other core;
    see the module docstring), half the cores (at most 4) on bigger machines."""
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return 1 if cpus <= 2 else min(4, cpus // 2)


class DlibChipEncoder:
    """dlib's own encoder on the chips: the reference and the last fallback."""

    name = "dlib"

    def __init__(self, dlib_encoder: Any) -> None:
        """``dlib_encoder``: dlib's ``face_recognition_model_v1``, or a function returning it
        (loaded only when dlib actually has to encode)."""
        self._get: Callable[[], Any] = (
            dlib_encoder if callable(dlib_encoder) else (lambda: dlib_encoder)
        )

    def note_live_frame(self) -> None:
        pass  # dlib's encoder is single-threaded

    def encode_chips(self, chips: Sequence[Chip]) -> F32:
        if not chips:
            return np.zeros((0, 128), np.float32)
        out = self._get().compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.asarray([np.asarray(d, dtype=np.float32) for d in out], dtype=np.float32)


class _TensorEncoder:
    """Shared part of the fast backends: preprocessing and batching."""

    name = "?"

    def __init__(self, net: DlibResNet | Means, batch: int = DEFAULT_BATCH) -> None:
        self._means: Means = net.means if isinstance(net, DlibResNet) else net
        self._table = input_table(self._means)
        self._batch = max(1, batch)

    def _run(self, x: F32) -> F32:
        raise NotImplementedError

    def note_live_frame(self) -> None:
        pass  # a fixed thread count (onnxruntime overrides this)

    def encode_chips(self, chips: Sequence[Chip]) -> F32:
        if not chips:
            return np.zeros((0, 128), np.float32)
        parts = [
            self._run(chips_to_tensor(chips[i : i + self._batch], self._means, self._table))
            for i in range(0, len(chips), self._batch)
        ]
        return np.ascontiguousarray(np.concatenate(parts).astype(np.float32))


class NumpyEncoder(_TensorEncoder):
    """Plain numpy (its BLAS does the convolutions): always available.

    numpy's OpenBLAS uses every core and busy-waits between calls; on a shared 2-core machine
    that made the forward pass 5x slower than with one BLAS thread (measured: ~1 s vs ~0.18 s
    under load). So the BLAS thread count is set to ``threads`` for the duration of each
    forward pass and restored after (the gallery's big matrix products keep theirs)."""

    name = "numpy"

    def __init__(self, net: DlibResNet, batch: int = DEFAULT_BATCH, threads: int = 1) -> None:
        super().__init__(net, batch)
        self._net = net
        self._blas = _OpenBlasThreads.find()
        self._threads = threads

    def _run(self, x: F32) -> F32:
        if self._blas is None:
            return forward(self._net, x)
        before = self._blas.get()
        self._blas.set(self._threads)
        try:
            return forward(self._net, x)
        finally:
            self._blas.set(before)


class _OpenBlasThreads:
    """Get/set the thread count of the OpenBLAS that numpy's wheel bundles (``numpy.libs``),
    through its exported C functions; None where numpy was built against another BLAS."""

    def __init__(self, lib: Any, getter: str, setter: str) -> None:
        self._get = getattr(lib, getter)
        self._set = getattr(lib, setter)
        self._get.restype = ctypes.c_int
        self._set.argtypes = [ctypes.c_int]

    @classmethod
    def find(cls) -> _OpenBlasThreads | None:
        folder = Path(np.__file__).resolve().parent.parent / "numpy.libs"
        pairs = (
            ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads", "openblas_set_num_threads"),
        )
        for path in sorted(folder.glob("*openblas*")) if folder.is_dir() else []:
            try:
                lib = ctypes.CDLL(str(path))
            except OSError:
                continue
            for getter, setter in pairs:
                if hasattr(lib, getter) and hasattr(lib, setter):
                    return cls(lib, getter, setter)
        return None

    def get(self) -> int:
        return int(self._get())

    def set(self, n: int) -> None:
        self._set(max(1, int(n)))


class OnnxRuntimeEncoder(_TensorEncoder):
    """onnxruntime's CPU engine on the in-memory ONNX graph: the fastest.

    With ``reference`` (dlib's templates of :func:`sample_chip`) and a machine with cores to
    spare, a second session with more threads is built once there is enough still-photo work,
    checked against ``reference`` like the first, and used when it measures faster
    (:mod:`app.bio.encoder_threads`); never while the camera is live."""

    name = "onnxruntime"

    def __init__(
        self,
        net: DlibResNet | Means,
        onnx_model: bytes,
        threads: int,
        batch: int = DEFAULT_BATCH,
        *,
        reference: F32 | None = None,
        cpu_count: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = LOG.warning,
    ) -> None:
        import onnxruntime as ort

        super().__init__(net, batch)
        self._model = onnx_model
        self._session = self._new_session(threads)
        self.version = str(ort.__version__)
        wide = wide_threads(threads, cpu_count if cpu_count is not None else os.cpu_count() or 1)
        self._wide_threads = wide if reference is not None else 0
        self._reference = reference
        self._wide: Any = None
        self._log = log
        self.picker = ThreadPicker(clock=clock, wide_available=self._wide_threads > 0)

    def _new_session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # Idle worker threads must sleep, not spin: the camera thread needs that core.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(self._model, options, providers=["CPUExecutionProvider"])

    @property
    def threads_in_use(self) -> int:
        """Threads of the session the next call would prefer (for ``bench`` and logs)."""
        wide_ready = self._wide is not None
        choice = self.picker.ms_per_chip
        if wide_ready and not self.picker.live and choice.get(WIDE, 1e9) <= choice.get(SOLO, 1e9):
            return self._wide_threads
        return int(self._session.get_session_options().intra_op_num_threads)

    def note_live_frame(self) -> None:
        """Called by the engine for every camera frame: one thread while the camera runs."""
        self.picker.note_live_frame()

    def encode_chips(self, chips: Sequence[Chip]) -> F32:
        if chips and self._wide is None and self.picker.wants_wide_session(len(chips)):
            self._build_wide()
        return super().encode_chips(chips)

    def _build_wide(self) -> None:
        """Build and check the wider session once; on any problem keep to one session."""
        assert self._reference is not None
        self.picker.wide_available = False  # one attempt per process, whatever happens
        try:
            session = self._new_session(self._wide_threads)
            x = chips_to_tensor([sample_chip()], self._means)
            for _ in range(2):  # the first run of a session is slow: warm it before timing
                out = np.asarray(session.run(None, {INPUT_NAME: x})[0], dtype=np.float32)
            diff = max_abs_diff(out, self._reference[:1])
        except Exception as exc:
            self._log(f"face encoder: no {self._wide_threads}-thread session ({exc}); one thread")
            return
        if diff > TOLERANCE:
            self._log(f"face encoder: {self._wide_threads} threads differ from dlib ({diff:.1e})")
            return
        self._wide = session
        self.picker.wide_available = True

    def _run(self, x: F32) -> F32:
        which = self.picker.choose(self._wide is not None)
        session = self._wide if which == WIDE else self._session
        t0 = time.perf_counter()
        out = np.asarray(session.run(None, {INPUT_NAME: x})[0], dtype=np.float32)
        self.picker.record(which, x.shape[0], (time.perf_counter() - t0) * 1000.0)
        return out


class OpenCvEncoder(_TensorEncoder):
    """OpenCV's DNN module (``opencv-python-headless`` is installed anyway).

    ``cv2.setNumThreads`` is process-wide (it also drives ``cv2.resize``), so it is left alone
    here; a ``cv2.dnn.Net`` is not thread-safe, which is fine: only the engine's worker calls it.
    """

    name = "opencv"

    def __init__(
        self, net: DlibResNet | Means, onnx_model: bytes, batch: int = DEFAULT_BATCH
    ) -> None:
        import cv2

        super().__init__(net, batch)
        self._net = cv2.dnn.readNetFromONNX(np.frombuffer(onnx_model, dtype=np.uint8))
        self.version = str(cv2.__version__)

    def _run(self, x: F32) -> F32:
        self._net.setInput(x)
        return np.asarray(self._net.forward(), dtype=np.float32).reshape(x.shape[0], -1)


def sample_chip() -> Chip:
    """A deterministic 150x150 chip to compare backends with dlib at start.

    They need not be faces: the check is that both engines compute the same function, so what
    matters is that every weight is exercised by varied, realistic pixel statistics. A smooth
    face-like drawing plus seeded noise does that, and ships no one's photo."""
    import cv2

    rng = np.random.default_rng(20170212)
    yy, xx = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE].astype(np.float32)
    base = np.stack(
        [120 + 60 * np.sin(xx / 17), 100 + 50 * np.cos(yy / 23), 90 + 40 * np.sin((xx + yy) / 31)],
        axis=-1,
    )
    img = np.clip(base, 0, 255).astype(np.uint8)
    cv2.ellipse(img, (75, 80), (45, 60), 0, 0, 360, (205, 160, 140), -1)
    for ex in (58, 92):
        cv2.circle(img, (ex, 65), 7, (40, 30, 30), -1)
    cv2.ellipse(img, (75, 112), (18, 6), 0, 0, 180, (150, 60, 60), 3)
    noise = rng.integers(-12, 13, size=img.shape)
    chip: Chip = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return chip


@dataclass(frozen=True)
class EncoderChoice:
    """The backend in use and why: for logs, ``--self-test`` and ``bench``."""

    encoder: ChipEncoder
    max_abs_diff: float | None
    notes: tuple[str, ...]


def max_abs_diff(a: F32, b: F32) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def select_encoder(
    dlib_encoder: Any,
    resnet_path: Path,
    *,
    prefer: Sequence[str] = BACKENDS,
    threads: int | None = None,
    log: Callable[[str], None] = LOG.warning,
    cache_dir: Path | None = None,
) -> EncoderChoice:
    """Build the first backend in ``prefer`` that loads and agrees with dlib on
    :func:`sample_chip` within :data:`TOLERANCE`; dlib otherwise. Never raises for a backend
    problem: it is logged (``log``) and the next one is tried.

    ``dlib_encoder`` is dlib's encoder or a function returning it. With ``cache_dir``, the ONNX
    graph and dlib's template of the sample chip kept by an earlier start are used when they
    match this weight file and dlib (:mod:`app.bio.encoder_cache`): the fast backend is still
    run and compared at every start, but dlib's encoder is not loaded for it."""
    from app.bio import encoder_cache

    reference_encoder = DlibChipEncoder(dlib_encoder)
    notes: list[str] = []
    wanted = [b for b in prefer if b in BACKENDS]
    if not wanted or wanted[0] == "dlib":
        return EncoderChoice(reference_encoder, 0.0, ("dlib requested",))
    chip = sample_chip()
    n_threads = threads or default_threads()

    def wide_check(reference: F32) -> F32 | None:
        # A caller that set the thread count gets exactly that: no wider session.
        return reference if threads is None else None

    kept = encoder_cache.load(cache_dir, resnet_path, chip) if cache_dir else None
    if kept is not None and wanted[0] in ("onnxruntime", "opencv"):
        try:
            fast: ChipEncoder = (
                OnnxRuntimeEncoder(
                    kept.means, kept.onnx_model, n_threads, reference=wide_check(kept.reference)
                )
                if wanted[0] == "onnxruntime"
                else OpenCvEncoder(kept.means, kept.onnx_model)
            )
            diff = max_abs_diff(fast.encode_chips([chip, chip]), kept.reference)
        except Exception:  # e.g. the wheel went away: the full path below says why
            diff = float("inf")
        if diff <= TOLERANCE:
            LOG.info(
                "face encoder: %s (max abs diff to dlib's kept template %.1e)", fast.name, diff
            )
            return EncoderChoice(fast, diff, ())
    try:
        net = load_dlib_resnet(resnet_path)
        onnx_model = build_onnx(net)
    except Exception as exc:  # a corrupt or unexpected .dat: dlib still reads its own file
        log(f"face encoder: cannot convert {resnet_path.name} ({exc}); using dlib")
        return EncoderChoice(reference_encoder, None, (f"conversion failed: {exc}",))
    # dlib once (it costs ~100 ms); the candidate runs a batch of two copies, so a backend
    # that mishandles the batch dimension fails here too.
    reference = reference_encoder.encode_chips([chip])
    if cache_dir is not None:
        encoder_cache.save(
            cache_dir, resnet_path, chip, encoder_cache.Conversion(onnx_model, net.means, reference)
        )
    for name in wanted:
        if name == "dlib":
            break
        try:
            t0 = time.perf_counter()
            candidate: ChipEncoder
            if name == "onnxruntime":
                candidate = OnnxRuntimeEncoder(
                    net, onnx_model, n_threads, reference=wide_check(reference)
                )
            elif name == "opencv":
                candidate = OpenCvEncoder(net, onnx_model)
            else:
                candidate = NumpyEncoder(net)
            diff = max_abs_diff(candidate.encode_chips([chip, chip]), reference)
        except Exception as exc:  # missing wheel, unsupported op in an old OpenCV, ...
            notes.append(f"{name}: unavailable ({type(exc).__name__}: {exc})")
            continue
        if diff <= TOLERANCE:
            LOG.info(
                "face encoder: %s (max abs diff to dlib %.1e, ready in %.2f s)",
                name,
                diff,
                time.perf_counter() - t0,
            )
            return EncoderChoice(candidate, diff, tuple(notes))
        notes.append(f"{name}: differs from dlib by {diff:.1e} (> {TOLERANCE:.0e})")
        log(f"face encoder: {name} differs from dlib by {diff:.1e}; not used")
    if notes:
        log("face encoder: using dlib (" + "; ".join(notes) + ")")
    return EncoderChoice(reference_encoder, 0.0, tuple(notes))
