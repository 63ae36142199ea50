"""The vault's upkeep verbs of ``Desk``: its audit trail, backups, full check and counters.

Why apart from ``app.desk``: these verbs look after the vault as a whole rather than after a
person or a consent (the Settings screen's lower half, ``audit``, ``backup``, ``unlock-check``
and ``stats`` on the command line). Each is a one-line call into a room
(``app.rooms.audit_trail``, ``app.rooms.backups``, ``app.rooms.integrity``) or the session;
``Desk`` inherits them, so ``desk.backup(...)`` and the rest keep working for every caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app import counts
from app.backups import BackupInfo
from app.finality import Finality
from app.integrity import FullCheckResult
from app.models import AuditEvent, AuditVerification, Stats
from app.replay import ReplayResult
from app.rooms.archive import Archive
from app.rooms.audit_trail import AuditTrail
from app.rooms.backups import Backups
from app.rooms.integrity import FullCheckStatus, Integrity
from app.session import Session


class VaultUpkeep:
    """Mixed into ``Desk``, which builds the rooms named here."""

    session: Session
    finality: Finality
    archive: Archive
    audit_trail: AuditTrail
    backups: Backups
    integrity: Integrity

    # ================================================================== audit
    def audit_verify(self, expected_head: str | None = None) -> AuditVerification:
        return self.audit_trail.verify(expected_head)

    def seen_version(self) -> int | None:
        return self.finality.seen_version()  # changes when another session commits

    @property
    def replayed(self) -> ReplayResult:
        return self.session.vault.replayed  # re-applied from the ledger at open (restore report)

    @property
    def ledger_problem(self) -> str | None:
        return self.session.vault.ledger_problem  # ledger deleted or cut short (at unlock)

    def audit_verify_against(self, pdf: bytes) -> AuditVerification:
        return self.archive.audit_witness(pdf)  # rollback: a document names a lost head

    def audit_head(self) -> str:
        return self.audit_trail.head()

    def export_audit(self) -> list[AuditEvent]:
        return self.audit_trail.export()

    def audit_events(self, limit: int | None = None, offset: int = 0) -> list[AuditEvent]:
        return self.audit_trail.events(limit, offset)

    def record_event(
        self, action: str, subject: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        self.audit_trail.record(action, subject, details)

    # ================================================================== backup
    def backup(self, target: Path, progress: Callable[[float], None] | None = None) -> Path:
        """Streamed, verified backup; ``progress`` gets 0..1 and may raise to cancel."""
        return self.backups.make(target, progress)

    def list_backups(self) -> tuple[BackupInfo, ...]:
        return self.backups.kept()

    # ================================================================== integrity (issue 12)
    def full_check(self, progress: Callable[[float], None] | None = None) -> FullCheckResult:
        """Both full integrity checks on their own connection (background-safe); a failure
        locks writes and is recorded. See :class:`app.rooms.integrity.Integrity`."""
        return self.integrity.run_full(progress)

    def full_check_status(self) -> FullCheckStatus:
        """When the last full check ran, whether it passed, whether one is due."""
        return self.integrity.status()

    @property
    def read_only(self) -> bool:
        """issue-11: opened read-only because its disk is full (see app.readonly)."""
        return self.session.vault.read_only

    @property
    def writes_locked(self) -> bool:
        return self.session.writes_locked is not None

    # ================================================================== stats
    def stats(self) -> Stats:
        return self.session.read(counts.stats)
