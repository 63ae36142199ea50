"""What the CLI writes: files given with ``--out`` and friends, text for a terminal, numbers it
reads. One place, so no command can get it wrong.

Why:
- A name typed with an escape sequence (``ESC [2J``) or a newline would otherwise clear the
  screen or print a fake row when ``people`` lists it: every value shown in text output passes
  through :func:`shown`, and every text line through :func:`escape_text`.
- ``--out`` may name a file that exists, a folder, a FIFO, a path without a parent, or a vault's
  own ``vault.db``: :func:`prepare_file` answers each with one sentence *before* the command
  changes anything, and :func:`write_file` writes atomically with mode 0600 (exports hold
  personal data).
- ``type=int`` accepts a 40-digit ID that SQLite cannot bind ("unexpected OverflowError"):
  :func:`whole` bounds every number the CLI reads.
"""

from __future__ import annotations

import argparse
import os
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path

from app.errors import InvalidInput, StorageError
from app.paths import write_private

SQLITE_MAX_INT = 2**63 - 1

# Characters that move the cursor, change the terminal or reorder text: shown as \xNN / \uNNNN.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def _unsafe(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Zl", "Zp") or ch in _BIDI


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """A value for one cell of text output: every control character escaped, tab and newline
    included, so it can neither move the cursor nor start a fake row or column."""
    text = "" if value is None else str(value)
    if not any(_unsafe(ch) for ch in text):
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


def escape_text(text: str) -> str:
    """A whole block of text output: control characters escaped except the line breaks and tabs
    the command itself lays out with (values inside were already passed through :func:`shown`
    where they are tabular; this catches everything else, e.g. a path in a message)."""
    if not any(_unsafe(ch) and ch not in "\n\t" for ch in text):
        return text
    return "".join(_escape(ch) if _unsafe(ch) and ch not in "\n\t" else ch for ch in text)


def escape_json(text: str) -> str:
    """JSON text with C1 controls and bidi overrides escaped as ``\\uNNNN`` (``json.dumps`` with
    ``ensure_ascii=False`` escapes only C0); still the same JSON value."""
    if not any(_unsafe(ch) for ch in text):
        return text
    return "".join(f"\\u{ord(ch):04x}" if _unsafe(ch) else ch for ch in text)


# ---------------------------------------------------------------------- numbers
def whole(low: int = 0, high: int = SQLITE_MAX_INT) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number in ``[low, high]``, refused in one line."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    parse.__name__ = "number"  # argparse names the type in its message
    return parse


IDENT = whole(1)
"""An ID (purpose, request, breach ...): 1 up to what SQLite stores."""


# ---------------------------------------------------------------------- output files
def _inside(path: Path, home: Path) -> bool:
    home_r = home.resolve()
    return path == home_r or home_r in path.parents


def _vault_refusal(what: str) -> InvalidInput:
    return InvalidInput(
        f"Refusing to write {what} into a vault folder; choose a place outside it.",
        code="output_in_vault",
    )


def prepare_file(raw: str | Path, home: Path, what: str = "the output file") -> Path:
    """The absolute path for an output file, checked before anything is done: its folder
    exists, it is not a folder or a device/FIFO, and it is not inside a vault folder."""
    path = Path(os.path.abspath(Path(raw).expanduser()))
    resolved = path.resolve()
    if _inside(resolved, home) or (resolved.parent / "keyslots.json").exists():
        raise _vault_refusal(what)
    if not resolved.parent.is_dir():
        raise InvalidInput(
            f"The folder for {what} does not exist: {path.parent}", code="output_path"
        )
    try:
        info = resolved.stat()
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise InvalidInput(
            f"{what.capitalize()} cannot be used ({exc.strerror}).", code="output_path"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(
            f"{what.capitalize()} is a folder; name a file: {path}", code="output_path"
        )
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{what.capitalize()} is not a regular file: {path}", code="output_path")
    return path


def prepare_folder(raw: str | Path, home: Path, what: str = "the output folder") -> Path:
    """An output folder, made (0700) if missing; refused if it is a file or inside a vault."""
    path = Path(os.path.abspath(Path(raw).expanduser()))
    if _inside(path.resolve(), home) or (path / "keyslots.json").exists():
        raise _vault_refusal(what)
    if path.exists() and not path.is_dir():
        raise InvalidInput(
            f"{what.capitalize()} is a file, not a folder: {path}", code="output_path"
        )
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StorageError(f"{what.capitalize()} cannot be made ({exc.strerror}).") from None
    return path


def write_file(path: Path, data: bytes, home: Path) -> Path:
    """Write an output file atomically with mode 0600 (it holds personal data), after the
    checks of :func:`prepare_file`; a full disk or a read-only folder is one clear line."""
    path = prepare_file(path, home)
    try:
        write_private(path, data)
    except OSError as exc:
        raise StorageError(f"{path.name} could not be written ({exc.strerror}).") from None
    return path
