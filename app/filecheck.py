"""Reading files someone else chose: only regular files, with a size cap checked before reading.

Why: a CSV, a scan, a backup or a document to verify names a path the operator (or whoever wrote
the CSV) chose. ``/dev/zero`` read with ``Path.read_bytes()`` grows without limit until the
kernel kills the program; a FIFO blocks ``open()`` until someone writes to it. So every such file
is opened with ``O_NONBLOCK`` (a FIFO opens at once instead of hanging), checked with ``fstat`` on
the *opened* descriptor (no race between a check and the open), refused unless it is a regular
file, and read with a hard cap even if it grows while being read.

Messages name ``what`` (e.g. "The consent scan"), never the path: a file name may be a
person's name.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

from app.errors import InvalidInput

MIB = 1024 * 1024


def _mb(limit: int) -> str:
    return f"{limit / MIB:.0f} MB" if limit >= MIB else f"{limit} bytes"


def open_regular(path: Path | str, what: str, max_bytes: int) -> BinaryIO:
    """An open binary file for ``path`` if it is a regular file of at most ``max_bytes``.

    Raises :class:`InvalidInput` (one sentence naming ``what``) for a missing, unreadable,
    non-regular (device, FIFO, socket, folder) or too large file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(os.fspath(path), flags)
    except FileNotFoundError:
        raise InvalidInput(f"{what} was not found.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{what} is a folder, not a file.") from None
    except PermissionError:
        raise InvalidInput(f"{what} cannot be read (permission denied).") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = getattr(exc, "strerror", None) or "not a valid path"
        raise InvalidInput(f"{what} cannot be opened ({reason}).") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InvalidInput(f"{what} is a folder, not a file.")
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{what} is not a regular file (a device, pipe or socket).")
        if info.st_size > max_bytes:
            raise InvalidInput(f"{what} is larger than {_mb(max_bytes)}.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str, what: str, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see :func:`open_regular`);
    a file that grows past the cap while being read is refused too."""
    with open_regular(path, what, max_bytes) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InvalidInput(f"{what} could not be read ({exc.strerror}).") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{what} is larger than {_mb(max_bytes)}.")
    return data


def text_stream(path: Path | str, what: str, max_bytes: int) -> io.TextIOWrapper:
    """A UTF-8 text stream (BOM accepted) over a capped regular file, read into memory first."""
    data = read_regular(path, what, max_bytes)
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same existing file (hard links and symlinks included)."""
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return False


SMALL_STATE_BYTES = 4 * MIB
"""keyslots.json, login-state.json, device marks, the restore journal: kilobytes in use."""


def read_own_file(path: Path | str, max_bytes: int = SMALL_STATE_BYTES) -> bytes:
    """A file ConsentDesk keeps beside the vault, read like :func:`read_regular` (no blocking,
    regular files only, capped) but failing with ``OSError`` (``FileNotFoundError`` when
    absent), which each caller already turns into its own one-line message.

    Why: these files are read at every sign-in. A FIFO at ``login-state.json`` or
    ``keyslots.json`` hung every sign-in forever; ``/dev/zero`` there ran out of memory."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(os.fspath(path), flags | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"larger than {_mb(max_bytes)}")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {_mb(max_bytes)}")
    return data
