"""Paper scans attached to a paper consent record: checked, converted, one page per frame.

Why a format list and limits: the scan comes from a CSV someone else wrote. Pillow would open
EPS (running Ghostscript on PostScript from that file, with a plaintext copy in the temp
folder), a 60-page TIFF (gigabytes once decoded) or a 400-megapixel PNG. Only PDF, JPEG, PNG and
TIFF of a few pages within pixel limits are accepted, each checked by actually parsing or
decoding it (:func:`check_scan`), before anything is stored.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageFile, ImageSequence, UnidentifiedImageError
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
SCAN_FORMATS = ("JPEG", "PNG", "TIFF")
MAX_SCAN_PDF_PAGES = 50
MAX_SCAN_IMAGE_PAGES = 10  # a single- or few-page TIFF
MAX_SCAN_PAGE_PIXELS = 60_000_000  # A3 at 500 dpi; A4 at 600 dpi is 35 MP
MAX_SCAN_TOTAL_PIXELS = 200_000_000
# Pillow's own decompression-bomb limit, set explicitly rather than trusting its default: it
# applies to every image opened anywhere in the process (photos use the same ceiling).
PILImage.MAX_IMAGE_PIXELS = MAX_SCAN_PAGE_PIXELS

_BAD_SCAN = "The paper scan must be a PDF or an image (PNG, JPEG, TIFF)."


@dataclass(frozen=True)
class ScanInfo:
    """What :func:`check_scan` found: ``kind`` is "PDF", "JPEG", "PNG" or "TIFF"."""

    kind: str
    pages: int


def check_scan(scan: bytes) -> ScanInfo:
    """Parse the whole scan and refuse anything outside the format list and limits.

    A PDF must parse as one (a file merely starting with ``%PDF-`` is not a PDF) with at most
    ``MAX_SCAN_PDF_PAGES`` pages; an image is fully decoded, frame by frame, so a truncated JPEG
    or an oversized TIFF is refused here and not while the consent record is being made.
    """
    if not scan:
        raise InvalidInput("The paper scan is empty.")
    if scan.lstrip()[:5] == b"%PDF-":
        return ScanInfo("PDF", _pdf_pages(scan))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(scan), formats=SCAN_FORMATS) as image:
                kind = str(image.format)
                frames = int(getattr(image, "n_frames", 1))
                if frames > MAX_SCAN_IMAGE_PAGES:
                    raise InvalidInput(
                        f"The paper scan has more than {MAX_SCAN_IMAGE_PAGES} pages; "
                        "scan it as a PDF."
                    )
                total = 0
                for frame in ImageSequence.Iterator(image):
                    width, height = frame.size
                    if width * height > MAX_SCAN_PAGE_PIXELS or width <= 0 or height <= 0:
                        raise InvalidInput("The paper scan's pages are too large (pixels).")
                    total += width * height
                    if total > MAX_SCAN_TOTAL_PIXELS:
                        raise InvalidInput("The paper scan is too large (pixels).")
                    _load_strict(frame)
                return ScanInfo(kind, frames)
    except InvalidInput:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise InvalidInput("The paper scan's pages are too large (pixels).") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise InvalidInput(_BAD_SCAN + " This one is damaged or of another kind.") from None


def _load_strict(frame: PILImage.Image) -> None:
    """Decode the pixels and refuse a truncated file even if someone flipped Pillow's global
    ``LOAD_TRUNCATED_IMAGES`` (the photo loader guards it the same way)."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        frame.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _pdf_pages(scan: bytes) -> int:
    """Page count of a PDF that really parses; anything else is refused."""
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(scan), strict=False)
            if reader.is_encrypted:
                raise InvalidInput(
                    "The paper scan is an encrypted PDF; scan it without a password."
                )
            pages = len(reader.pages)
            if pages < 1:
                raise ValueError("no pages")
            if pages > MAX_SCAN_PDF_PAGES:
                raise InvalidInput(f"The paper scan has more than {MAX_SCAN_PDF_PAGES} pages.")
            for page in reader.pages:
                page.mediabox  # noqa: B018 - every page object must resolve
    except InvalidInput:
        raise
    except Exception:  # pypdf raises many kinds on hostile input; none may escape as "unexpected"
        raise InvalidInput("The paper scan is not a readable PDF (damaged or not a PDF).") from None
    return pages


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


def scan_pages(scan: bytes) -> list[bytes]:
    """The scan's frames as images reportlab can embed. JPEG stays byte-identical (no
    re-compression of evidence); other formats become lossless PNG."""
    try:
        with PILImage.open(io.BytesIO(scan), formats=SCAN_FORMATS) as image:
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
