"""Signature validation (no Qt) and rendering."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.models import Signature, SignaturePoint
from app.signature import (
    SignatureError,
    is_valid_signature,
    measure,
    render_signature,
    signature_png,
    signature_sha256,
    validate_signature,
)
from tests.core.test_documents_fixtures import sample_signature


def test_a_real_signature_is_accepted() -> None:
    sig = sample_signature()
    validate_signature(sig)
    stats = measure(sig)
    assert stats.strokes == 3
    assert stats.ink_length > sig.width


def test_empty_signature_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(SignatureError, match="empty"):
        validate_signature(Signature(strokes=(), width=600, height=200))
    with pytest.raises(SignatureError, match="empty"):
        validate_signature(Signature(strokes=((), ()), width=600, height=200))


def test_a_tap_is_rejected() -> None:
    tap = Signature(strokes=((SignaturePoint(300, 100, 0),),), width=600, height=200)
    with pytest.raises(SignatureError, match="tap or a dot"):
        validate_signature(tap)


def test_a_tiny_scribble_is_rejected() -> None:
    tiny = sample_signature(scale=0.05)
    with pytest.raises(SignatureError, match=r"too little ink|too small"):
        validate_signature(tiny)
    assert not is_valid_signature(tiny)


def test_a_straight_dash_is_too_small() -> None:
    dash = tuple(SignaturePoint(100 + k * 12, 100, k) for k in range(40))
    with pytest.raises(SignatureError, match="too small"):
        validate_signature(Signature(strokes=(dash,), width=600, height=200))


def test_strokes_outside_the_pad_and_bad_numbers_are_rejected() -> None:
    sig = sample_signature()
    outside = dataclasses.replace(sig, strokes=(*sig.strokes, (SignaturePoint(2000, 50, 9),)))
    with pytest.raises(SignatureError, match="outside the box"):
        validate_signature(outside)
    nan = dataclasses.replace(sig, strokes=(*sig.strokes, (SignaturePoint(math.nan, 5, 0),)))
    with pytest.raises(SignatureError, match="could not be read"):
        validate_signature(nan)
    with pytest.raises(SignatureError, match="no size"):
        validate_signature(dataclasses.replace(sig, width=0))


def test_error_is_a_value_error() -> None:
    assert issubclass(SignatureError, ValueError)


def test_render_is_antialiased_and_keeps_aspect_ratio() -> None:
    image = render_signature(sample_signature(), width_px=300)
    assert image.size == (300, 100)
    grey = image.convert("L")
    values = {level for level, count in enumerate(grey.histogram()) if count}
    assert min(values) < 80  # real ink
    assert any(80 < v < 240 for v in values)  # smoothed edges, not just 2 colours


def test_transparent_png_has_clear_background() -> None:
    png = signature_png(sample_signature(), width_px=200, transparent=True)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
    white = Image.open(io.BytesIO(signature_png(sample_signature(), width_px=200)))
    assert white.mode == "RGB"
    assert white.getpixel((0, 0)) == (255, 255, 255)


def test_fingerprint_is_stable_across_json_round_trip() -> None:
    sig = sample_signature()
    assert signature_sha256(Signature.from_json(sig.to_json())) == signature_sha256(sig)
    moved = dataclasses.replace(sig, strokes=sig.strokes[:-1])
    assert signature_sha256(moved) != signature_sha256(sig)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.floats(-50, 700) | st.just(math.nan),
                st.floats(-50, 250) | st.just(math.inf),
            ),
            max_size=30,
        ),
        max_size=5,
    )
)
def test_property_validation_never_crashes(raw: list[list[tuple[float, float]]]) -> None:
    sig = Signature(
        strokes=tuple(tuple(SignaturePoint(x, y, i) for i, (x, y) in enumerate(s)) for s in raw),
        width=600,
        height=200,
    )
    try:
        validate_signature(sig)
    except SignatureError as exc:
        assert str(exc).endswith(".")
    render_signature(sig, width_px=60)
