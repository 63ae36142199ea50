"""Paper scans attached to a paper consent record: checked, converted, one page per frame."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from PIL import ImageSequence, UnidentifiedImageError
from reportlab.platypus import Flowable, PageBreak

from app.documents.drafting import Draft
from app.documents.labels import label
from app.documents.layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    PAGE_HEIGHT,
    image_flowable,
    para,
)
from app.errors import InvalidInput

_MAX_SCAN_PAGES = 50


def scan_flowables(draft: Draft, pages: list[bytes]) -> list[Flowable]:
    """One page per scan frame, scaled to fit under its caption."""
    usable_height = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM - 40
    out: list[Flowable] = []
    for number, page in enumerate(pages, start=1):
        caption = label(draft.language, "scan.page", page=number, pages=len(pages))
        out += [
            PageBreak(),
            para(caption, draft.styles.h3),
            image_flowable(page, FRAME_WIDTH, usable_height),
        ]
    return out


def image_format(scan: bytes) -> str:
    try:
        with PILImage.open(io.BytesIO(scan)) as image:
            return str(image.format or "IMAGE")
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput("The paper scan must be a PDF or an image (PNG, JPEG, TIFF).") from exc


def scan_pages(scan: bytes) -> list[bytes]:
    """The scan's frames as images reportlab can embed. JPEG stays byte-identical (no
    re-compression of evidence); other formats become lossless PNG."""
    try:
        with PILImage.open(io.BytesIO(scan)) as image:
            if image.format == "JPEG":
                image.verify()
                return [scan]
            out: list[bytes] = []
            for frame in ImageSequence.Iterator(image):
                if len(out) >= _MAX_SCAN_PAGES:
                    break
                buf = io.BytesIO()
                converted = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
                converted.save(buf, format="PNG", optimize=True)
                out.append(buf.getvalue())
            return out
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InvalidInput("The paper scan must be a PDF or an image (PNG, JPEG, TIFF).") from exc
