"""Reading the PDFs in tests: pypdf where a Python library suffices, poppler where it must not.

Why both: most tests only need to know that a name or an ID is printed, and pypdf (a test
dependency) answers that on any machine. Some checks are worth something only because another
implementation makes them: ``pdftoppm`` renders as a viewer would, ``pdffonts`` lists what is
embedded, ``pdfsig`` validates the signature without pyHanko. Those need poppler-utils, which
``make test`` installs when it can (``tools/system_deps.sh``); without it they skip with a reason,
except under ``CI=true``, where a missing tool is a failure rather than a silent gap.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest
from pypdf import PdfReader

POPPLER_TOOLS = ("pdftotext", "pdftoppm", "pdffonts", "pdfsig")


def _missing(name: str) -> str:
    return (
        f"{name} (poppler-utils) is not installed; `make test` installs it when run as root "
        "with apt-get, or see tools/system_deps.sh"
    )


def poppler(name: str) -> str:
    """The path of poppler's ``name`` tool; skips the test without it (fails under CI)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(_missing(name))
        pytest.skip(_missing(name))
    return path


def optional_poppler(name: str) -> str | None:
    """The tool's path, or None outside CI: for extra checks on top of a pypdf check."""
    if shutil.which(name) is None and os.environ.get("CI", "").lower() != "true":
        return None
    return poppler(name)


def pdf_text(pdf: bytes) -> str:
    """The text of every page, extracted by pypdf (no external tool, nothing written to disk)."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
