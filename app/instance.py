"""One workstation window per vault: a second one is told, not silently allowed.

Why: two ConsentDesk windows on one vault (a second start, a forgotten window on another
virtual desktop) each keep their own gallery and screens; the vault stays consistent (SQLite
serialises writers, and sessions reload after another one's change), but an operator looking at
the older window sees a person who was withdrawn or erased in the newer one. The window takes an
advisory lock on ``<home>/window.lock`` for its lifetime; a second window finds it held and says
which process holds it. Command-line use does not take it: scripts run beside the window.

The lock is the operating system's (``flock``), so it is released when the process dies, however
it dies: no stale lock file ever blocks a restart. Where ``fcntl`` does not exist (Windows) the
check is skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "window.lock"


class WindowLock:
    """Held by one workstation window on the vault in ``home`` from :meth:`acquire` to
    :meth:`release`."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> str | None:
        """Take the lock; None when taken (or no vault folder yet), else who holds it."""
        if fcntl is None or self._fd is not None or not self.path.parent.is_dir():
            return None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode("ascii", "replace").strip()
            os.close(fd)
            return holder or "another window"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        os.ftruncate(fd, 0)
        # issue-11: on a full disk the lock holds; only its "who" note is missing
        with contextlib.suppress(OSError):
            os.write(fd, f"process {os.getpid()}, since {stamp}".encode("ascii"))
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd = None
