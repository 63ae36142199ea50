"""Handwritten signatures: checking that one was really drawn, and drawing it for documents.

The pad in the UI records pen strokes; this module decides, without Qt, whether those strokes
are a plausible signature rather than an accidental tap or a dot, and renders them to an image
for the PDF. Rejecting a stray tap matters because a consent without a real mark is weak
evidence, and the operator must be able to tell the person *why* the pad wants a second try.

Coordinates are in the pad's own units (``Signature.width`` x ``Signature.height``), so the
thresholds are relative to the pad size and do not depend on screen DPI.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from app.models import Signature, SignaturePoint


class SignatureError(ValueError):
    """The strokes are not acceptable as a signature; ``str()`` is a sentence for the person."""


@dataclass(frozen=True)
class SignatureRules:
    """Minimums a signature must meet, as fractions of the pad where relevant.

    The defaults accept a short initialled signature on a typical 600x200 pad and reject taps,
    dots and single short dashes.
    """

    min_points: int = 12
    min_ink_ratio: float = 0.6  # total stroke length / pad width
    min_box_width_ratio: float = 0.12  # bounding-box width / pad width
    min_box_height_ratio: float = 0.08  # bounding-box height / pad height
    max_outside_ratio: float = 0.05  # coordinates may overshoot the pad edge by this much


DEFAULT_RULES = SignatureRules()


@dataclass(frozen=True)
class SignatureStats:
    """Measurements of a signature, useful for the UI's feedback and for tests."""

    strokes: int
    points: int
    ink_length: float
    box_width: float
    box_height: float


def _segment_length(stroke: tuple[SignaturePoint, ...]) -> float:
    return sum(math.hypot(b.x - a.x, b.y - a.y) for a, b in itertools.pairwise(stroke))


def measure(signature: Signature) -> SignatureStats:
    """Stroke count, point count, ink length and bounding box of the strokes."""
    points = [p for stroke in signature.strokes for p in stroke]
    if not points:
        return SignatureStats(len(signature.strokes), 0, 0.0, 0.0, 0.0)
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    return SignatureStats(
        strokes=sum(1 for s in signature.strokes if s),
        points=len(points),
        ink_length=sum(_segment_length(s) for s in signature.strokes),
        box_width=max(xs) - min(xs),
        box_height=max(ys) - min(ys),
    )


def validate_signature(signature: Signature, rules: SignatureRules = DEFAULT_RULES) -> None:
    """Raise :class:`SignatureError` unless the strokes look like a deliberate signature.

    Messages are addressed to the signer and contain no coordinates or personal data.
    """
    if signature.width <= 0 or signature.height <= 0:
        raise SignatureError("The signature pad reported no size; please sign again.")
    points = [p for stroke in signature.strokes for p in stroke]
    if not points:
        raise SignatureError("The signature is empty. Please sign inside the box.")
    if not all(math.isfinite(p.x) and math.isfinite(p.y) for p in points):
        raise SignatureError(
            "The signature could not be read. Please clear the box and sign again."
        )
    slack_x = signature.width * rules.max_outside_ratio
    slack_y = signature.height * rules.max_outside_ratio
    if any(
        p.x < -slack_x
        or p.y < -slack_y
        or p.x > signature.width + slack_x
        or p.y > signature.height + slack_y
        for p in points
    ):
        raise SignatureError(
            "Part of the signature lies outside the box. Please clear it and sign inside the box."
        )
    stats = measure(signature)
    if stats.points < rules.min_points:
        raise SignatureError(
            "The signature is too short: it looks like a tap or a dot. Please sign your name."
        )
    if stats.ink_length < rules.min_ink_ratio * signature.width:
        raise SignatureError(
            "The signature has too little ink. Please sign your name as you would on paper."
        )
    if (
        stats.box_width < rules.min_box_width_ratio * signature.width
        or stats.box_height < rules.min_box_height_ratio * signature.height
    ):
        raise SignatureError("The signature is too small. Please sign larger, using the box.")


def is_valid_signature(signature: Signature, rules: SignatureRules = DEFAULT_RULES) -> bool:
    try:
        validate_signature(signature, rules)
    except SignatureError:
        return False
    return True


def signature_sha256(signature: Signature) -> str:
    """Hash of the stroke data in canonical JSON, printed on forms to tie image and record."""
    canonical = json.dumps(signature.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_signature(
    signature: Signature,
    *,
    width_px: int = 600,
    transparent: bool = False,
    ink: tuple[int, int, int] = (16, 32, 96),
    margin: float = 0.04,
    supersample: int = 4,
) -> Image.Image:
    """Draw the strokes as an antialiased RGBA image keeping the pad's aspect ratio.

    Lines are drawn at ``supersample`` times the size and scaled down with a Lanczos filter,
    which gives smooth edges without depending on a drawing backend that supports
    antialiasing. Single-point strokes are drawn as dots so nothing the person drew is lost.
    """
    if signature.width <= 0 or signature.height <= 0:
        raise SignatureError("The signature pad reported no size; please sign again.")
    width_px = max(16, int(width_px))
    height_px = max(8, round(width_px * signature.height / signature.width))
    big_w, big_h = width_px * supersample, height_px * supersample
    background = (255, 255, 255, 0) if transparent else (255, 255, 255, 255)
    canvas = Image.new("RGBA", (big_w, big_h), background)
    draw = ImageDraw.Draw(canvas)
    inner = 1.0 - 2 * margin
    scale = big_w * inner / signature.width
    off_x, off_y = big_w * margin, big_h * margin
    stroke_w = max(2, round(big_w / 180))
    colour = (*ink, 255)

    def to_px(p: SignaturePoint) -> tuple[float, float]:
        return (off_x + p.x * scale, off_y + p.y * big_h * inner / signature.height)

    for stroke in signature.strokes:
        pts = [to_px(p) for p in stroke if math.isfinite(p.x) and math.isfinite(p.y)]
        if not pts:
            continue
        if len(pts) > 1:
            draw.line(pts, fill=colour, width=stroke_w, joint="curve")
        r = stroke_w / 2
        for x, y in (pts[0], pts[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return canvas.resize((width_px, height_px), Image.Resampling.LANCZOS)


def signature_png(signature: Signature, *, width_px: int = 600, transparent: bool = False) -> bytes:
    """PNG bytes of :func:`render_signature`, kept in memory (no temp files)."""
    image = render_signature(signature, width_px=width_px, transparent=transparent)
    if not transparent:
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
