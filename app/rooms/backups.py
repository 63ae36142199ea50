"""Making and listing backups of the open vault (admins only: a backup holds everyone's data).

Why a room rather than a Desk method: a backup is more than a copy. It is audited (deferred when
the disk is full, recorded even for a damaged vault), and once ``<home>/backups`` holds it the
erasure ledger must be settled against it (``app.finality``): a person erased by another process
while the copy was made must not come back from it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.backups import BackupInfo, list_backups
from app.finality import Finality
from app.readonly import audit_or_defer
from app.session import Session


class Backups:
    def __init__(self, session: Session, finality: Finality) -> None:
        self._s = session
        self._finality = finality

    def make(self, target: Path, progress: Callable[[float], None] | None = None) -> Path:
        """Streamed, verified backup; ``progress`` gets 0..1 and may raise to cancel."""
        s = self._s
        s.require_admin()
        with s.lock:
            path = s.vault.backup(Path(target), progress)
            # a damaged vault is still backed up; a full disk's too (issue-11, app.readonly)
            audit_or_defer(s, "vault.backup", despite_damage=True)
            if not s.vault.read_only and self._finality.holds_backup(path):
                if s.writes_locked:  # a damaged vault: settling would need a write
                    self._finality.prune()  # retention limits of <home>/backups
                else:
                    # Also brings this copy in line when another process erased someone
                    # while it was made (its manifest names an older ledger entry; issue 12).
                    self._finality.settle(s.user.username)
            return path

    def kept(self) -> tuple[BackupInfo, ...]:
        """The backups kept in ``<home>/backups``."""
        self._s.require_admin()
        return list_backups(self._s.vault.paths.backups)
