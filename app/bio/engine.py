"""The face engine: HOG detection, 68/5-point landmarks and the dlib ResNet 128-d encoder.

Threading: dlib's detector, shape predictors and DNN keep per-object scratch buffers and are not
thread-safe. Every model call therefore runs on ONE worker thread (a single-thread executor owned
by the engine). Callers on any thread (Qt UI, CLI, tests) just call the blocking methods, or the
``*_async`` ones to get a :class:`concurrent.futures.Future`; calls are serialised in order.
There is no module-level engine: build one with :meth:`BioEngine.create` and pass it around.

Speed: HOG cost grows with pixel count, and face_recognition's default runs it on the full photo
upsampled 2x (a 2333x1434 photo becomes 13 MP). A face big enough to enroll is found just as well
on a copy scaled to ~800 px, so we detect there, only upsample when the faces found are small
(or none were), map the boxes back, and run the landmark predictors and the encoder on the
full-resolution pixels so the template keeps all the detail.

Encoder: dlib still detects, finds landmarks and cuts the aligned 150x150 face chip, but the
ResNet itself runs in the fastest backend that matches dlib (:mod:`app.bio.encoder`: onnxruntime,
cv2.dnn or numpy on dlib's own weights, checked against dlib at start), 10–30x faster than the
BLAS-less dlib wheel. dlib remains the fallback and handles ``num_jitters`` > 1, whose random
jitter only dlib can reproduce. :meth:`BioEngine.analyse_photos` batches the encoder over
several photos (bulk import, identify with many photos).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from app.bio.encoder import BACKENDS, ChipEncoder, EncoderChoice, select_encoder
from app.bio.encoder_threads import LIVE_WINDOW_S
from app.bio.errors import EngineClosed, FaceCountError
from app.bio.images import RGBImage, ensure_rgb
from app.bio.models import (
    DlibModels,
    default_cache_dir,
    find_model_paths,
    load_dlib_models,
    load_frontal_detector,
)
from app.bio.thresholds import (
    DETECT_MAX_SIDE_FRAME,
    DETECT_MAX_SIDE_PHOTO,
    DETECT_SMALL_FACE_PX,
)

T = TypeVar("T")

Embedding = npt.NDArray[np.float32]
"""A 128-d float32 face template (dlib ResNet); Euclidean distance < 0.6 means same person."""

Landmarks = npt.NDArray[np.float32]
"""``(68, 2)`` float32 (x, y) pixel coordinates in the iBUG 300-W order, full-resolution frame."""

EMBEDDING_DIM = 128

ENCODER_ENV = "CONSENTDESK_ENCODER"
"""Environment variable naming the encoder backend to prefer (``onnxruntime``, ``opencv``,
``numpy`` or ``dlib``), read by :meth:`BioEngine.create` only: for support cases and benchmarks."""

CHIP_SIZE = 150
CHIP_PADDING = 0.25
"""dlib's ``compute_face_descriptor`` defaults: the chips the ResNet was trained on."""


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle in full-resolution pixel coordinates, face_recognition's CSS order."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)

    def css(self) -> tuple[int, int, int, int]:
        """``(top, right, bottom, left)`` as face_recognition returns locations."""
        return (self.top, self.right, self.bottom, self.left)


@dataclass(frozen=True, eq=False)
class FaceObservation:
    """One face in one image: its box, optionally 68 landmarks and a template."""

    box: FaceBox
    landmarks: Landmarks | None = None
    encoding: Embedding | None = None


@dataclass(frozen=True, eq=False)
class PhotoAnalysis:
    """What the engine found in one image (a still photo or a camera frame)."""

    width: int
    height: int
    faces: tuple[FaceObservation, ...]

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def boxes(self) -> tuple[FaceBox, ...]:
        return tuple(f.box for f in self.faces)

    @property
    def encodings(self) -> tuple[Embedding, ...]:
        return tuple(f.encoding for f in self.faces if f.encoding is not None)

    def single_face(self) -> FaceObservation:
        """The only face, or :class:`FaceCountError` (enrollment needs exactly one person)."""
        if len(self.faces) == 1:
            return self.faces[0]
        if not self.faces:
            raise FaceCountError("No face was found in the image.", count=0, code="no_face")
        raise FaceCountError(
            f"{len(self.faces)} faces were found; enrollment needs a photo of one person only.",
            count=len(self.faces),
            code="several_faces",
        )

    def single_encoding(self) -> Embedding:
        face = self.single_face()
        if face.encoding is None:
            raise ValueError("this analysis was made without encodings")
        return face.encoding


class BioEngine:
    """Owns the dlib models and the one worker thread allowed to use them.

    ``models`` is injected (build it with :func:`app.bio.models.load_dlib_models`, or use
    :meth:`create`). The engine must be :meth:`close`-d (or used as a context manager) to stop
    its worker thread.
    """

    def __init__(
        self,
        models: DlibModels,
        *,
        photo_max_side: int = DETECT_MAX_SIDE_PHOTO,
        frame_max_side: int = DETECT_MAX_SIDE_FRAME,
        small_face_px: int = DETECT_SMALL_FACE_PX,
        chip_encoder: ChipEncoder | None = None,
        detector_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``detector_factory`` builds a second face detector for :meth:`analyse_photos` to
        detect two photos at a time (None: one at a time); ``clock`` is monotonic seconds."""
        self._models = models
        self._detector_factory = detector_factory
        self._second_detector: Any = None
        self._helper: ThreadPoolExecutor | None = None
        self._clock = clock
        self._live_until = float("-inf")
        self._chip_encoder = chip_encoder
        self.encoder_choice: EncoderChoice | None = None
        self.photo_max_side = photo_max_side
        self.frame_max_side = frame_max_side
        self.small_face_px = small_face_px
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="bio-dlib", initializer=self._mark_worker
        )
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        model_dir: Path | None = None,
        *,
        encoder: str | None = None,
        encoder_threads: int | None = None,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        **options: Any,
    ) -> BioEngine:
        """Locate and load the models (about one second), pick the encoder backend (checked
        against dlib, about half a second) and start the worker thread.

        ``encoder`` pins a backend (default: ``$CONSENTDESK_ENCODER``, else the fastest that
        matches dlib); a pinned backend that fails its check still falls back to dlib.
        ``cache_dir`` (default: the user's cache folder; none if ``use_cache`` is False) keeps
        a binary copy of dlib's face detector, which loads 1.3 s faster."""
        paths = find_model_paths(model_dir)
        cache = (cache_dir or default_cache_dir()) if use_cache else None
        # dlib's own encoder loads on first use: with a kept conversion (encoder_cache) a
        # still-photo command never needs it.
        models = load_dlib_models(paths, cache_dir=cache, lazy_encoder=True)
        wanted = encoder or os.environ.get(ENCODER_ENV) or None
        prefer = (wanted, "dlib") if wanted else BACKENDS
        choice = select_encoder(
            lambda: models.encoder,
            paths.resnet,
            prefer=prefer,
            threads=encoder_threads,
            cache_dir=cache,
        )
        pair = (lambda: load_frontal_detector(cache)) if (os.cpu_count() or 1) >= 2 else None
        options.setdefault("detector_factory", pair)
        engine = cls(models, chip_encoder=choice.encoder, **options)
        engine.encoder_choice = choice
        return engine

    def preload_landmarks(self) -> Future[None]:
        """Load the 68-point predictor now, on the worker, without waiting for it.

        It is loaded on first use (still-photo commands never need it, and it is the slowest
        model to load); a screen about to show the live camera calls this so that the first
        frame does not wait for it."""

        def load(m: DlibModels) -> None:
            _ = m.shape_68  # the property loads the file

        return self.submit(load)

    @property
    def encoder_backend(self) -> str:
        """Which engine runs the ResNet: ``onnxruntime``, ``opencv``, ``numpy`` or ``dlib``."""
        return self._chip_encoder.name if self._chip_encoder is not None else "dlib"

    @property
    def camera_live(self) -> bool:
        """A camera frame was analysed within the last 2 s: still-photo work keeps to one core
        (the encoder's wider session and the second detector wait until it is over)."""
        return self._clock() < self._live_until

    @property
    def encoder_threads(self) -> int:
        """Threads the encoder would use for the next still-photo call (1 for dlib)."""
        return int(getattr(self._chip_encoder, "threads_in_use", 1))

    def _mark_worker(self) -> None:
        self._local.is_worker = True

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker after the calls already queued have finished."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True)
        if self._helper is not None:
            self._helper.shutdown(wait=True)

    def __enter__(self) -> BioEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, fn: Callable[[DlibModels], T]) -> Future[T]:
        """Run ``fn(models)`` on the worker thread. The only door to the dlib objects."""
        with self._lock:
            if self._closed:
                raise EngineClosed("The face engine has been shut down.")
            return self._executor.submit(fn, self._models)

    def _call(self, fn: Callable[[DlibModels], T]) -> T:
        if getattr(self._local, "is_worker", False):
            return fn(self._models)  # already on the worker: queueing would deadlock
        return self.submit(fn).result()

    # -- primitives ----------------------------------------------------------------------------

    def detect(
        self, rgb: RGBImage, *, max_side: int | None = None, upsample: int | None = None
    ) -> tuple[FaceBox, ...]:
        """HOG face boxes, found on a copy scaled to ``max_side`` and mapped back.

        ``upsample=None`` is adaptive: try without upsampling, and upsample once only if
        nothing or only small faces were found (small faces suggest smaller ones were missed).
        """
        image = ensure_rgb(rgb)
        side = max_side or self.photo_max_side
        return self._call(lambda m: _detect(m, image, side, upsample, self.small_face_px))

    def landmarks(self, rgb: RGBImage, boxes: Sequence[FaceBox]) -> tuple[Landmarks, ...]:
        """68-point landmarks on the full-resolution image for each box."""
        image = ensure_rgb(rgb)
        return self._call(lambda m: tuple(_landmarks68(m, image, b) for b in boxes))

    def encode(
        self, rgb: RGBImage, boxes: Sequence[FaceBox], *, num_jitters: int = 1
    ) -> tuple[Embedding, ...]:
        """128-d templates for each box, computed exactly as ``face_recognition.face_encodings``
        does (5-point alignment on the full-resolution image, dlib ResNet), as float32.

        ``num_jitters`` > 1 averages over randomly jittered crops: ~N times slower, slightly
        more stable; worth it for a stored enrollment template, not for live identification.
        """
        image = ensure_rgb(rgb)
        enc = self._chip_encoder
        return self._call(lambda m: _encode(m, image, boxes, num_jitters, enc))

    def encode_reference(self, rgb: RGBImage, boxes: Sequence[FaceBox]) -> tuple[Embedding, ...]:
        """dlib's own encoder whatever the backend: the reference for ``bench``, the self-test
        and the tests that hold the fast backend to dlib's templates."""
        image = ensure_rgb(rgb)
        return self._call(lambda m: _encode(m, image, boxes, 1, None))

    def encode_many(
        self, items: Sequence[tuple[RGBImage, Sequence[FaceBox]]]
    ) -> list[tuple[Embedding, ...]]:
        """Templates for the given boxes of several images, one batched encoder run."""
        images = [(ensure_rgb(rgb), tuple(boxes)) for rgb, boxes in items]
        enc = self._chip_encoder
        return self._call(lambda m: _encode_batch(m, images, enc))

    # -- pipelines -----------------------------------------------------------------------------

    def analyse_photo(
        self, rgb: RGBImage, *, num_jitters: int = 1, with_landmarks: bool = False
    ) -> PhotoAnalysis:
        """Still-photo pipeline: all faces, their boxes and templates (optionally landmarks).

        Same decisions as face_recognition's face_locations + face_encodings for faces large
        enough to enroll, several times faster on full-size photos (see ``bench``).
        """
        image = ensure_rgb(rgb)

        def run(m: DlibModels) -> PhotoAnalysis:
            boxes = _detect(m, image, self.photo_max_side, None, self.small_face_px)
            encs = _encode(m, image, boxes, num_jitters, self._chip_encoder)
            faces = tuple(
                FaceObservation(b, _landmarks68(m, image, b) if with_landmarks else None, e)
                for b, e in zip(boxes, encs, strict=True)
            )
            return PhotoAnalysis(image.shape[1], image.shape[0], faces)

        return self._call(run)

    def analyse_photos(
        self, images: Sequence[RGBImage], *, with_landmarks: bool = False
    ) -> list[PhotoAnalysis]:
        """:meth:`analyse_photo` for several photos, with one batched encoder run over all
        their faces (bulk import, identify with many photos). Same results, one at a time."""
        rgbs = [ensure_rgb(i) for i in images]

        def run(m: DlibModels) -> list[PhotoAnalysis]:
            found = list(zip(rgbs, self._detect_all(m, rgbs), strict=True))
            encs = _encode_batch(m, found, self._chip_encoder)
            return [
                PhotoAnalysis(
                    img.shape[1],
                    img.shape[0],
                    tuple(
                        FaceObservation(b, _landmarks68(m, img, b) if with_landmarks else None, e)
                        for b, e in zip(boxes, es, strict=True)
                    ),
                )
                for (img, boxes), es in zip(found, encs, strict=True)
            ]

        return self._call(run)

    def _detect_all(self, m: DlibModels, images: Sequence[RGBImage]) -> list[tuple[FaceBox, ...]]:
        """Boxes for several photos, two at a time when there is a second detector.

        Why: HOG detection is most of a still photo's cost, and dlib lets go of Python's lock
        while it runs, so a second detector object (dlib's are not thread-safe: each thread
        has its own) on a helper thread nearly halves the wall time of a bulk import or a
        many-photo ``identify`` on the 2-core desk PC. The same model finds the same boxes.
        Not while the camera is live: the live gate needs that core. Runs on the worker."""

        def one(detector: Any, image: RGBImage) -> tuple[FaceBox, ...]:
            return _detect_with(detector, image, self.photo_max_side, None, self.small_face_px)

        factory = self._detector_factory
        if len(images) < 2 or factory is None or self.camera_live:
            return [one(m.detector, img) for img in images]
        if self._helper is None:
            self._second_detector = factory()
            self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bio-detect")
        results: list[tuple[FaceBox, ...]] = [()] * len(images)
        pending = iter(range(len(images)))
        lock = threading.Lock()

        def drain(detector: Any) -> None:
            while True:
                with lock:
                    i = next(pending, None)
                if i is None:
                    return
                results[i] = one(detector, images[i])

        helper = self._helper.submit(drain, self._second_detector)
        try:
            drain(m.detector)
        finally:
            failed = helper.exception()  # always wait: the helper reads ``images``
        if failed is not None:
            raise failed
        return results

    def analyse_photo_async(
        self, rgb: RGBImage, *, num_jitters: int = 1, with_landmarks: bool = False
    ) -> Future[PhotoAnalysis]:
        """Non-blocking :meth:`analyse_photo` (for the UI thread)."""
        image = ensure_rgb(rgb)
        return self._executor_submit(
            lambda: self.analyse_photo(
                image, num_jitters=num_jitters, with_landmarks=with_landmarks
            )
        )

    def analyse_frame(self, rgb: RGBImage, *, encode: bool = False) -> PhotoAnalysis:
        """Live-camera pipeline: faces with 68 landmarks (for quality and liveness), and
        templates only if ``encode`` (the encoder is ~10x the cost of everything else)."""
        image = ensure_rgb(rgb)

        def run(m: DlibModels) -> PhotoAnalysis:
            self._live_until = self._clock() + LIVE_WINDOW_S  # leave a core to the camera
            if self._chip_encoder is not None:
                self._chip_encoder.note_live_frame()
            boxes = _detect(m, image, self.frame_max_side, None, self.small_face_px)
            encs: tuple[Embedding | None, ...] = (
                _encode(m, image, boxes, 1, self._chip_encoder) if encode else (None,) * len(boxes)
            )
            faces = tuple(
                FaceObservation(b, _landmarks68(m, image, b), e)
                for b, e in zip(boxes, encs, strict=True)
            )
            return PhotoAnalysis(image.shape[1], image.shape[0], faces)

        return self._call(run)

    def analyse_frame_async(self, rgb: RGBImage, *, encode: bool = False) -> Future[PhotoAnalysis]:
        image = ensure_rgb(rgb)
        return self._executor_submit(lambda: self.analyse_frame(image, encode=encode))

    def encode_face(
        self, rgb: RGBImage, face: FaceObservation, *, num_jitters: int = 1
    ) -> Embedding:
        """Template for one already-detected face (e.g. a captured frame)."""
        return self.encode(rgb, [face.box], num_jitters=num_jitters)[0]

    def _executor_submit(self, fn: Callable[[], T]) -> Future[T]:
        return self.submit(lambda _m: fn())


# -- worker-thread functions (never call these from another thread) ------------------------------


def _rect(box: FaceBox) -> Any:
    import dlib

    return dlib.rectangle(box.left, box.top, box.right, box.bottom)


def _detect(
    m: DlibModels, image: RGBImage, max_side: int, upsample: int | None, small_face_px: int
) -> tuple[FaceBox, ...]:
    return _detect_with(m.detector, image, max_side, upsample, small_face_px)


def _detect_with(
    detector: Any, image: RGBImage, max_side: int, upsample: int | None, small_face_px: int
) -> tuple[FaceBox, ...]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / float(max(h, w)))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        sx, sy = w / size[0], h / size[1]
    else:
        small, sx, sy = image, 1.0, 1.0
    if upsample is None:
        rects = detector(small, 0)
        if len(rects) == 0 or min(r.height() for r in rects) < small_face_px:
            rects = detector(small, 1)
    else:
        rects = detector(small, upsample)
    boxes = []
    for r in rects:
        # Same trimming as face_recognition's _trim_css_to_bounds.
        top = max(round(r.top() * sy), 0)
        right = min(round(r.right() * sx), w)
        bottom = min(round(r.bottom() * sy), h)
        left = max(round(r.left() * sx), 0)
        if right > left and bottom > top:
            boxes.append(FaceBox(top, right, bottom, left))
    # Biggest face first: the one standing at the desk, for callers that take faces[0].
    boxes.sort(key=lambda b: -(b.width * b.height))
    return tuple(boxes)


def _landmarks68(m: DlibModels, image: RGBImage, box: FaceBox) -> Landmarks:
    shape = m.shape_68(image, _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def _shapes(m: DlibModels, image: RGBImage, boxes: Sequence[FaceBox]) -> Any:
    import dlib

    shapes = dlib.full_object_detections()
    for b in boxes:
        shapes.append(m.shape_5(image, _rect(b)))
    return shapes


def _encode(
    m: DlibModels,
    image: RGBImage,
    boxes: Sequence[FaceBox],
    num_jitters: int,
    chip_encoder: ChipEncoder | None,
) -> tuple[Embedding, ...]:
    if not boxes:
        return ()
    shapes = _shapes(m, image, boxes)
    if num_jitters > 1 or chip_encoder is None or chip_encoder.name == "dlib":
        # dlib's own path: the reference, and the only one that can jitter.
        descriptors = m.encoder.compute_face_descriptor(image, shapes, max(1, int(num_jitters)))
        return tuple(np.asarray(d, dtype=np.float32).reshape(EMBEDDING_DIM) for d in descriptors)
    return _encode_batch(m, [(image, boxes)], chip_encoder, [shapes])[0]


def _encode_batch(
    m: DlibModels,
    items: Sequence[tuple[RGBImage, Sequence[FaceBox]]],
    chip_encoder: ChipEncoder | None,
    shapes: Sequence[Any] | None = None,
) -> list[tuple[Embedding, ...]]:
    """Cut every face's chip with dlib (exactly as ``compute_face_descriptor`` does), then run
    the encoder once over all of them."""
    import dlib

    if chip_encoder is None or chip_encoder.name == "dlib":
        return [_encode(m, img, boxes, 1, None) for img, boxes in items]
    chips: list[Any] = []
    for i, (img, boxes) in enumerate(items):
        if boxes:
            s = shapes[i] if shapes is not None else _shapes(m, img, boxes)
            chips.extend(dlib.get_face_chips(img, s, size=CHIP_SIZE, padding=CHIP_PADDING))
    out = chip_encoder.encode_chips(chips) if chips else np.zeros((0, EMBEDDING_DIM), np.float32)
    result: list[tuple[Embedding, ...]] = []
    pos = 0
    for _img, boxes in items:
        result.append(tuple(np.array(out[pos + k], dtype=np.float32) for k in range(len(boxes))))
        pos += len(boxes)
    return result
