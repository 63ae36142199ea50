"""Locate read-only files shipped with the application (disclosure texts and the like).

The ``resources/`` folder sits at the repository root, next to ``app/``, so that translators and
reviewers find the texts without reading code. In a PyInstaller bundle the same folder is
unpacked under ``sys._MEIPASS``; the spec file must add it as ``("resources", "resources")``.
Looking it up here, in one place, keeps every caller independent of how the app was started.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ENV_HINT = "resources"


def resources_root() -> Path:
    """The ``resources`` folder of this installation.

    The bundle is checked first because a frozen app must never read files from whatever
    checkout happens to sit around it.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    candidates: list[Path] = []
    if bundle:
        candidates.append(Path(bundle) / _ENV_HINT)
    candidates.append(Path(__file__).resolve().parent.parent / _ENV_HINT)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the application's resources folder is missing; reinstall ConsentDesk")


def resource_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``resource_path("disclosure", "en.txt")``.

    Parts are joined under the resources root; ``..`` is refused so that a value that came from
    a database (a language code, say) cannot point outside the shipped files.
    """
    if any(part in ("", ".", "..") or "/" in part or "\\" in part for part in parts):
        raise ValueError("resource path parts must be plain names")
    return resources_root().joinpath(*parts)
