"""Where a workstation keeps its files.

The home folder holds the encrypted database, its keyslot file, the login back-off state and
backups. It is chosen by ``--home``, else ``CONSENTDESK_HOME``, else the platform's per-user data
directory, never the application bundle (an upgrade must not touch the vault).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class VaultPaths:
    """Every file of one workstation's vault, derived from its home folder."""

    home: Path

    @property
    def database(self) -> Path:
        return self.home / "vault.db"

    @property
    def keyslots(self) -> Path:
        return self.home / "keyslots.json"

    @property
    def login_state(self) -> Path:
        return self.home / "login-state.json"

    @property
    def backups(self) -> Path:
        return self.home / "backups"

    def ensure(self) -> None:
        """Create the home with owner-only permissions (the umask 077 equivalent)."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.backups.mkdir(exist_ok=True, mode=0o700)
        for folder in (self.home, self.backups):
            # A filesystem without POSIX modes (some network shares) cannot do better.
            with contextlib.suppress(OSError):
                folder.chmod(0o700)


def resolve_home(explicit: str | Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """Pick the home folder; the environment is passed in so tests need not patch globals."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser().resolve()
    if env.get("CONSENTDESK_HOME"):
        return Path(env["CONSENTDESK_HOME"]).expanduser().resolve()
    return Path(platformdirs.user_data_dir("ConsentDesk", appauthor=False))


def write_private(path: Path, data: bytes) -> None:
    """Write a file atomically with mode 0600: temp file in the same folder, fsync, rename.

    A crash leaves either the old or the new file, never half of one.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
