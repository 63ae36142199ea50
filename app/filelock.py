"""An exclusive, re-entrant lock on a small file beside the vault, across processes.

Why: ``keyslots.json`` and ``login-state.json`` are read, changed and written back by whichever
process (window or CLI) is signing in or managing accounts. Without a lock, three ``user add``
running at once each write back the file they read, and two slots are lost; twelve password
guesses started together all read "no failures yet". Every change of those files happens inside
``FileLock``: read fresh, change, write, release.

The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows), held on
a separate ``*.lock`` file so the data file itself can still be replaced atomically; it goes away
with the process, however it ends. Within one process the lock is re-entrant per thread (a
``user add`` holds it around its database transaction and again around writing the slot).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

from app.errors import StorageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

try:
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

_REGISTRY_GUARD = threading.Lock()
_HELD: dict[str, _Held] = {}
WAIT_S = 120.0  # longer than any holder needs (a rekey backs up the whole vault first)


class _Held:
    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


class FileLock:
    """``with FileLock(path):`` holds an exclusive lock on ``path`` (created 0600 if absent)."""

    def __init__(self, path: Path, wait_s: float = WAIT_S) -> None:
        self.path = Path(path)
        self.wait_s = wait_s
        key = os.path.abspath(self.path)
        with _REGISTRY_GUARD:
            self._held = _HELD.setdefault(key, _Held())

    def __enter__(self) -> FileLock:
        held = self._held
        held.thread_lock.acquire()
        try:
            if held.depth == 0:
                held.fd = _lock(self.path, self.wait_s)
            held.depth += 1
        except BaseException:
            held.thread_lock.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        held = self._held
        try:
            held.depth -= 1
            if held.depth == 0 and held.fd is not None:
                _unlock(held.fd)
                held.fd = None
        finally:
            held.thread_lock.release()


def _lock(path: Path, wait_s: float) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(
            f"The lock file {path.name} cannot be opened ({exc.strerror}); nothing was changed.",
            code="lock_unavailable",
        ) from None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif msvcrt is not None:  # pragma: no cover - Windows
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise StorageError(
                    f"Another ConsentDesk process keeps {path.name} locked; try again later. "
                    "Nothing was changed.",
                    code="lock_unavailable",
                ) from None
            time.sleep(0.02)


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif msvcrt is not None:  # pragma: no cover - Windows
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    finally:
        os.close(fd)
