"""``consentdesk --self-test``: prove that this installation's native parts load and work.

A standalone bundle can look complete and still miss a shared library, a model file, a font or
a Qt plugin; the first sign would then be a crash at the front desk with a person waiting. The
self-test exercises every native dependency once, on throwaway data, and prints one line per
check with the time it took::

    ok   vault      1.02 s  SQLCipher 4.x; created, locked and reopened with Argon2id
    FAIL pdf        0.31 s  FileNotFoundError: font file wqy-microhei.ttc is missing ...

It never touches the workstation's real vault: everything happens in a temporary folder that is
deleted afterwards. Nothing here uses a person's data; the face check runs on a generated image
(noise and shapes, no face), so it proves that dlib, OpenCV and the model files load and compute
the right shapes, not that a face would be recognised (``consentdesk bench`` does that on the
shared test photos).

Qt is imported lazily through :mod:`importlib` inside :func:`check_qt`: the core package never
imports Qt at module level (see the import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

import app

_ADMIN = "selftest"
# A throwaway vault in a temporary folder; the password protects nothing worth guessing.
_PASSWORD = "self-test-only-" + "x" * 8
_CJK_SAMPLE = "同意 撤回 Consent"


@dataclass
class State:
    """What the checks hand to each other: the temporary home and the open desk."""

    home: Path
    desk: Any = None
    purpose_id: int | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    seconds: float
    detail: str


Check = Callable[[State], str]


# ---------------------------------------------------------------------------------- the checks
def check_vault(state: State) -> str:
    """Create a vault (real Argon2id cost), lock it, and reopen it from the files on disk."""
    import sqlcipher3

    from app.desk import Desk

    desk, recovery = Desk.initialise(state.home, "ConsentDesk self-test", _ADMIN, _PASSWORD)
    desk.lock()
    if not recovery:
        raise AssertionError("no recovery code was issued")
    desk = Desk.unlock(state.home, _ADMIN, _PASSWORD)
    state.desk = desk
    purpose = desk.add_purpose(
        title="Self-test purpose",
        controller="ConsentDesk self-test",
        contact="selftest@example.invalid",
        retention_days=30,
        alternative="None (self-test)",
        title_zh="自检用途",  # issue-13: shown in Chinese only with its Chinese texts
        controller_zh="ConsentDesk 自检",
        alternative_zh="无需（自检）",
    )
    from app.compliance.service import Compliance  # issue-16: enrolment needs a signed test
    from app.compliance.types import NecessityAnswers

    Compliance(desk).assess_purpose(
        purpose.id,
        NecessityAnswers("Self-test", "Self-test", "other", "Nobody (temporary vault)"),
    )
    state.purpose_id = purpose.id
    audit = desk.audit_verify()
    if not audit.ok:
        raise AssertionError(f"the new vault's audit chain does not verify: {audit.problems}")
    probe = sqlcipher3.connect(":memory:")
    try:
        row = probe.execute("PRAGMA cipher_version").fetchone()
    finally:
        probe.close()
    if not row:
        raise AssertionError("sqlcipher3 is linked against plain SQLite, not SQLCipher")
    return f"SQLCipher {row[0]}; vault created with Argon2id, locked, reopened ({audit.entries} audit entries)"


def check_resources(state: State) -> str:
    """The shipped disclosure texts render in both languages."""
    from app.models import LANGUAGES
    from app.resources import resources_root

    if state.desk is None or state.purpose_id is None:
        raise AssertionError("skipped: the vault check failed")
    sizes = []
    for language in LANGUAGES:
        disclosure = state.desk.disclosure(state.purpose_id, language)
        text = disclosure.text
        if len(text) < 200:
            raise AssertionError(f"the {language} disclosure is suspiciously short")
        sizes.append(f"{language} {len(text)} chars")
    return f"{resources_root()}: " + ", ".join(sizes)


def check_models(state: State) -> str:
    """Load the HOG detector, both landmark predictors and the ResNet encoder, and run each.

    The engine runs the ResNet in the fastest backend that matched dlib when it started
    (onnxruntime, cv2.dnn or numpy; see ``app.bio.encoder``); here the template is computed
    by both the backend and dlib itself and must agree within the engine's tolerance, and the
    line names the backend, so a bundle that silently lost onnxruntime shows up here."""
    import cv2
    import dlib

    from app.bio.encoder import TOLERANCE as ENCODER_TOLERANCE
    from app.bio.encoder_threads import WIDE_AFTER_CHIPS
    from app.bio.engine import BioEngine, FaceBox

    image = _generated_image()
    engine = BioEngine.create()
    try:
        boxes = engine.detect(image)  # 800x600 > the detector's 640 px: OpenCV resizes it
        box = FaceBox(top=200, right=500, bottom=500, left=300)
        (landmarks,) = engine.landmarks(image, [box])
        (encoding,) = engine.encode(image, [box])
        (again,) = engine.encode(image, [box])
        (reference,) = engine.encode_reference(image, [box])
        # Enough still-photo work for the encoder to build (and check) its wider session,
        # so a bundle whose multi-threaded onnxruntime misbehaves shows up here too.
        many = [e for (e,) in engine.encode_many([(image, [box])] * WIDE_AFTER_CHIPS)]
        threads = engine.encoder_threads
        backend = engine.encoder_backend
        notes = engine.encoder_choice.notes if engine.encoder_choice else ()
    finally:
        engine.close()
    if landmarks.shape != (68, 2) or not np.isfinite(landmarks).all():
        raise AssertionError(f"68-point landmarks came back with shape {landmarks.shape}")
    if encoding.shape != (128,) or encoding.dtype != np.float32:
        raise AssertionError(f"template came back as {encoding.dtype}{encoding.shape}")
    if not np.isfinite(encoding).all() or not np.any(encoding):
        raise AssertionError("template is not a finite non-zero vector")
    if not np.array_equal(encoding, again):
        raise AssertionError("the encoder is not deterministic on the same input")
    diff = max(float(np.max(np.abs(e - reference))) for e in (encoding, *many))
    if diff > ENCODER_TOLERANCE:
        raise AssertionError(f"the {backend} encoder differs from dlib by {diff:.1e}")
    fallback = f" ({'; '.join(notes)})" if notes else ""
    return (
        f"dlib {dlib.__version__}, OpenCV {cv2.__version__}; detector ran "
        f"({len(boxes)} face box(es) in a generated image), landmarks 68x2, template 128-d; "
        f"encoder {backend}{fallback} ({threads} thread(s) for still photos), "
        f"max diff to dlib {diff:.0e}"
    )


def check_video(state: State) -> str:
    """OpenCV's video I/O (the camera and video-file sources): the platform's camera backend is
    compiled in, and a short MJPEG clip written to the temporary folder reads back frame by
    frame. No camera is opened: none need be attached, and on macOS opening one would ask the
    user for permission."""
    import cv2
    from cv2 import videoio_registry

    expected = {"linux": "V4L2", "win32": "MSMF", "darwin": "AVFOUNDATION"}.get(sys.platform)
    cameras = [videoio_registry.getBackendName(b) for b in videoio_registry.getCameraBackends()]
    if expected and expected not in cameras:
        raise AssertionError(f"OpenCV has no {expected} camera backend (it has {cameras})")
    state.home.parent.mkdir(parents=True, exist_ok=True)
    clip = state.home.parent / "selftest.avi"
    size, count = (160, 120), 8
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size)
    if not writer.isOpened():
        raise AssertionError("OpenCV cannot write an MJPEG clip")
    try:
        frame = _generated_image()[:120, :160]
        for i in range(count):
            writer.write(np.ascontiguousarray(np.roll(frame, 4 * i, axis=1)))
    finally:
        writer.release()
    reader = cv2.VideoCapture(str(clip))
    try:
        read = 0
        while True:
            ok, got = reader.read()
            if not ok:
                break
            if got.shape != (120, 160, 3):
                raise AssertionError(f"a frame came back as {got.shape}")
            read += 1
        backend = reader.getBackendName() if read else "?"
    finally:
        reader.release()
        clip.unlink(missing_ok=True)
    if read != count:
        raise AssertionError(f"wrote {count} frames, read back {read}")
    return f"camera backends {', '.join(cameras) or 'none'}; {count}-frame clip read back via {backend}"


def check_pdf(state: State) -> str:
    """Write signed retention notices in both languages (embedded CJK font) and verify them."""
    from app.documents.fonts import default_font_path
    from app.models import LANGUAGES

    if state.desk is None or state.purpose_id is None:
        raise AssertionError("skipped: the vault check failed")
    font = default_font_path()
    sizes = []
    pdf = b""
    for language in LANGUAGES:
        pdf = state.desk.retention_notice(state.purpose_id, language)
        check = state.desk.verify_document(pdf)
        if not check.valid or check.status != "stored":
            raise AssertionError(
                f"the {language} notice does not verify: {check.status}; {'; '.join(check.problems)}"
            )
        sizes.append(f"{language} {len(pdf) // 1024} KB")
    # A changed byte inside the signed range must be caught, or the check above proves nothing.
    at = len(pdf) // 3
    tampered = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    if state.desk.verify_document(tampered).valid:
        raise AssertionError("a tampered PDF still verifies")
    return f"signed and verified ({', '.join(sizes)}); tampering detected; font {font.name}"


def check_qt(state: State) -> str:
    """Start Qt on the offscreen platform and draw Chinese text with the bundled CJK font."""
    from app.documents.fonts import default_font_path

    qt_core = importlib.import_module("PySide6.QtCore")
    qt_gui = importlib.import_module("PySide6.QtGui")
    # The UI also needs these libraries; importing them proves they and their Qt libraries load.
    importlib.import_module("PySide6.QtWidgets")
    importlib.import_module("PySide6.QtPrintSupport")

    app_instance = qt_gui.QGuiApplication.instance()
    if app_instance is None:
        with _environment(QT_QPA_PLATFORM="offscreen"):
            app_instance = qt_gui.QGuiApplication(["consentdesk-self-test"])
        # Keep a reference for the life of the process: Qt objects made later need it alive.
        _QT_KEEPALIVE.append(app_instance)
    font_id = qt_gui.QFontDatabase.addApplicationFont(str(default_font_path()))
    families = list(qt_gui.QFontDatabase.applicationFontFamilies(font_id)) if font_id >= 0 else []
    if not families:
        raise AssertionError("Qt could not load the CJK font")
    font = qt_gui.QFont(families[0], 28)
    metrics = qt_gui.QFontMetrics(font)
    missing = [ch for ch in _CJK_SAMPLE if not ch.isspace() and not metrics.inFontUcs4(ord(ch))]
    if missing:
        raise AssertionError(f"the CJK font lacks {''.join(missing)!r}")
    image = qt_gui.QImage(360, 64, qt_gui.QImage.Format.Format_RGB32)
    image.fill(qt_gui.QColor("white"))
    painter = qt_gui.QPainter(image)
    try:
        painter.setFont(font)
        painter.setPen(qt_gui.QColor("black"))
        painter.drawText(image.rect(), int(qt_core.Qt.AlignmentFlag.AlignCenter), _CJK_SAMPLE)
    finally:
        painter.end()
    inked = _dark_pixels(image, qt_gui)
    if inked < 200:
        raise AssertionError(f"drawing text left only {inked} dark pixels")
    return (
        f"Qt {qt_core.qVersion()} on '{app_instance.platformName()}', "
        f"font '{families[0]}' drew {inked} dark pixels"
    )


CHECKS: dict[str, Check] = {
    "vault": check_vault,
    "resources": check_resources,
    "models": check_models,
    "video": check_video,
    "pdf": check_pdf,
    "qt": check_qt,
}
_QT_KEEPALIVE: list[Any] = []


# ---------------------------------------------------------------------------------- the runner
def run(
    out: TextIO | None = None,
    *,
    checks: Sequence[str] | None = None,
    as_json: bool = False,
) -> int:
    """Run the checks (all by default), print one line each, return 0 if all passed, else 1."""
    stream = out if out is not None else sys.stdout
    names = list(checks) if checks is not None else list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown self-test checks: {', '.join(unknown)}")
    started = time.perf_counter()
    results = run_checks(names)
    total = time.perf_counter() - started
    ok = all(r.ok for r in results)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": ok,
                    "seconds": round(total, 3),
                    **environment_summary(),
                    "checks": [
                        {
                            "name": r.name,
                            "ok": r.ok,
                            "seconds": round(r.seconds, 3),
                            "detail": r.detail,
                        }
                        for r in results
                    ],
                },
                ensure_ascii=False,
            ),
            file=stream,
        )
        return 0 if ok else 1
    summary = environment_summary()
    print(
        f"ConsentDesk {summary['version']} self-test ({summary['mode']}, Python "
        f"{summary['python']}, {summary['platform']})",
        file=stream,
    )
    for r in results:
        if r.ok:
            print(f"ok   {r.name:<9} {r.seconds:6.2f} s  {r.detail}", file=stream)
        else:
            print(f"FAIL {r.name}: {r.detail} ({r.seconds:.2f} s)", file=stream)
    failed = [r.name for r in results if not r.ok]
    verdict = "all checks passed" if ok else f"{len(failed)} failed: {', '.join(failed)}"
    print(f"{verdict} in {total:.2f} s", file=stream)
    stream.flush()
    return 0 if ok else 1


def run_checks(names: Sequence[str]) -> list[CheckResult]:
    """Run the named checks in order in one temporary home; a failure never stops the rest."""
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="consentdesk-selftest-") as tmp:
        state = State(home=Path(tmp) / "vault")
        try:
            for name in names:
                t0 = time.perf_counter()
                try:
                    detail = CHECKS[name](state)
                    ok = True
                except Exception as exc:  # a self-test reports every failure, it never crashes
                    detail = _describe(exc)
                    ok = False
                results.append(CheckResult(name, ok, time.perf_counter() - t0, detail))
        finally:
            if state.desk is not None:
                with contextlib.suppress(Exception):
                    state.desk.lock()
    return results


def environment_summary() -> dict[str, str]:
    frozen = bool(getattr(sys, "frozen", False))
    return {
        "version": app.__version__,
        "mode": "bundle" if frozen else "source",
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.machine()}",
    }


# ---------------------------------------------------------------------------------- helpers
def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:297] + "..."
    if isinstance(exc, AssertionError):
        return message or "check failed"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _generated_image() -> Any:
    """An 800x600 RGB image of smooth noise and a few shapes: deterministic, and no one's face."""
    rng = np.random.default_rng(20240601)
    h, w = 600, 800
    yy, xx = np.mgrid[0:h, 0:w]
    base = 96 + 64 * np.sin(xx / 37.0) * np.cos(yy / 29.0)
    image = np.stack([base, base * 0.9 + 10, base * 0.8 + 20], axis=-1)
    image += rng.normal(0, 12, size=image.shape)
    ellipse = ((xx - 400) / 110.0) ** 2 + ((yy - 330) / 150.0) ** 2 <= 1.0
    image[ellipse] = (205, 170, 150)
    for cx in (355, 445):
        eye = ((xx - cx) / 22.0) ** 2 + ((yy - 290) / 12.0) ** 2 <= 1.0
        image[eye] = (40, 30, 30)
    mouth = (np.abs(yy - 410) < 8) & (np.abs(xx - 400) < 45)
    image[mouth] = (120, 40, 40)
    return np.ascontiguousarray(np.clip(image, 0, 255).astype(np.uint8))


def _dark_pixels(image: Any, qt_gui: Any) -> int:
    """Number of clearly non-white pixels of a QImage (sampled on a 1-pixel grid)."""
    converted = image.convertToFormat(qt_gui.QImage.Format.Format_Grayscale8)
    width, height, stride = converted.width(), converted.height(), converted.bytesPerLine()
    raw = bytes(converted.constBits())[: stride * height]
    pixels = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride)[:, :width]
    return int((pixels < 128).sum())


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
