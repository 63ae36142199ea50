"""What a ``Desk`` does so that a withdrawal or an erasure stays final (issue 10).

The ``Desk`` verbs call this object at three moments, so the rules live here and the verbs only
carry one-line hooks:

* inside the transaction of a withdrawal, expiry, erasure or rectification: :meth:`Finality.record`
  appends the pseudonymous ledger entry (outside the database, survives ``restore``; a
  rectification's corrected values sealed, :mod:`app.ledger_seal`) and marks it applied; an
  erasure also shreds the key of the person's sealed corrections (erasure wins);
* after the commit: :meth:`Finality.settle` removes leftover temporary copies, re-applies the
  ledger to every backup under ``<home>/backups`` (destroying those it cannot open) and applies
  the backup retention limits, audited as ``backup.reapply``;
* before a match: :meth:`Finality.others_changed` tells whether another session (a second
  window, the CLI while the UI runs) committed since we last looked, via ``PRAGMA
  data_version``, so the in-memory gallery is reloaded instead of matching someone withdrawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from app.audit import AuditLog
from app.backups import ReapplyResult, clean_leftovers, list_backups, prune, reapply
from app.db import Connection
from app.errors import StorageError
from app.ledger import ErasureLedger, LedgerEntry, LedgerKind, LedgerSpec
from app.replay import applied_marker, ledger_gap, mark_applied
from app.session import Session
from app.vault import Vault

# The newest ledger entry (``SEQ:MAC``) the backups under <home>/backups were settled to.
META_SETTLED = "backups_settled"


class _Lock(Protocol):
    """The session's lock (a ``threading.RLock``): used as a context manager, and tried
    without waiting by :meth:`Finality.seen_version`."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...
    def release(self) -> None: ...
    def __enter__(self) -> bool: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class Finality:
    def __init__(
        self,
        vault: Vault,
        audit: AuditLog,
        audit_key: bytes,
        *,
        write: Callable[[], AbstractContextManager[Any]],
        setting: Callable[[str], str],
        clock: Callable[[], dt.datetime],
        lock: _Lock,
    ) -> None:
        self._vault = vault
        self._lock = lock  # the desk's: backups read the shared connection
        self._audit = audit
        self._write = write
        self._setting = setting
        self._clock = clock
        self.ledger = ErasureLedger(vault.paths.home, audit_key)
        self._data_version = self._version()

    @classmethod
    def for_session(cls, s: Session, setting: Callable[[str], str]) -> Finality:
        """Built with the session's own write hook, clock and lock, so ledger entries, backup
        settling and audit entries share the desk's transaction discipline."""
        return cls(
            s.vault,
            s.audit,
            s.meta("audit_key") or b"",
            write=s.write,
            setting=setting,
            clock=s.now,
            lock=s.lock,
        )

    # ------------------------------------------------------------------ inside the transaction
    def record(
        self,
        conn: Connection,
        kind: LedgerKind,
        *,
        actor: str,
        at: dt.datetime,
        person_id: str | None,
        consent_ids: Sequence[str] = (),
        destroyed: Mapping[str, int] | None = None,
        certificate_sha256: str | None = None,
        values: Mapping[str, str | None] | None = None,
    ) -> LedgerEntry:
        """``values``: a rectification's corrected fields, sealed into the entry (never
        written in plaintext outside the vault)."""
        gap = ledger_gap(conn, self.ledger)
        if gap is not None:  # deleted while this session ran: the new entry would hide it
            self._audit.append(actor, "ledger.missing", details={"problem": gap}, at=at)
        else:
            self._refuse_unapplied(conn)
        entry = self.ledger.append(
            kind=kind,
            at=at,
            actor=actor,
            person_id=person_id,
            consent_ids=consent_ids,
            destroyed=destroyed,
            certificate_sha256=certificate_sha256,
            sealed=None if values is None else self.ledger.seals.seal(str(person_id), values),
        )
        if kind == "erase":  # after the entry: a crash between is finished by the replay
            self.ledger.seals.forget([person_id])
        mark_applied(conn, entry)
        return entry

    def record_many(
        self, conn: Connection, specs: Sequence[LedgerSpec], *, actor: str, at: dt.datetime
    ) -> tuple[LedgerEntry, ...]:
        """:meth:`record` for a batch (a retention purge): one gap check, one write and fsync
        of the ledger, one applied mark, all inside the caller's transaction."""
        if not specs:
            return ()
        gap = ledger_gap(conn, self.ledger)
        if gap is not None:
            self._audit.append(actor, "ledger.missing", details={"problem": gap}, at=at)
        else:
            self._refuse_unapplied(conn)
        entries = self.ledger.append_many(specs, at, actor)
        self.ledger.seals.forget(s.person_id for s in specs if s.kind == "erase")
        mark_applied(conn, entries[-1])
        return entries

    def _refuse_unapplied(self, conn: Connection) -> None:
        """Refuse a new entry while the ledger ends with one this vault never committed.

        Why: such an entry is a change whose commit failed after it was written (a full disk,
        a process killed), which the next open applies ("destroyed, never brought back").
        A further change in the same session marked *its* entry applied, so the uncommitted
        one was skipped here for good while every restore still applied it: a person the
        desk was told "nothing was changed" about stayed in the vault, corrected even, and was
        erased by the next restore. Signing in again applies it first, then the change goes
        through; the caller's transaction is rolled back, so nothing changes now."""
        newest = self.ledger.last()
        if newest is not None and newest.marker != applied_marker(conn):
            raise StorageError(
                "An earlier change recorded in the erasure ledger was not saved in the vault "
                "(a full disk or an interrupted program). Sign in again to finish it, then "
                "try again. Nothing was changed.",
                code="ledger_unapplied",
            )

    # ------------------------------------------------------------------ after the commit
    def settle(self, actor: str) -> ReapplyResult:
        """Make every copy this workstation holds obey the ledger; audited when it did
        anything. Runs after the commit: the change itself is already final in the vault.

        The vault remembers the newest ledger entry its backups were settled to
        (``meta.backups_settled``): a crash between a commit and this step (mid-purge, say)
        leaves that mark behind the ledger, and the next purge (at every sign-in) settles
        then (:meth:`unsettled`), even when nothing more is due."""
        paths = self._vault.paths
        now = self._clock()
        newest = self.ledger.last()
        with self._lock:
            clean_leftovers(paths, now, after_open=True)
            result = reapply(paths, self._vault.data_key, self.ledger, now, self._vault.backup)
            pruned = self.prune()
        did = bool(result.reapplied or result.destroyed or result.written or pruned)
        mark = newest.marker if newest is not None else None
        if did or (mark is not None and self._settled_mark() != mark):
            with self._write() as conn:
                if did:
                    self._audit.append(
                        actor,
                        "backup.reapply",
                        details={
                            "reapplied": len(result.reapplied),
                            "destroyed": len(result.destroyed),
                            "written": len(result.written),
                            "pruned": len(pruned),
                        },
                        at=now,
                    )
                if mark is not None:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (META_SETTLED, mark.encode()),
                    )
        return ReapplyResult(result.reapplied, result.destroyed, result.written, pruned)

    def _settled_mark(self) -> str | None:
        with self._lock:
            row = self._vault.conn.execute(
                "SELECT value FROM meta WHERE key = ?", (META_SETTLED,)
            ).fetchone()
        return bytes(row[0]).decode() if row else None

    def unsettled(self) -> bool:
        """True when the ledger holds entries the backups under ``<home>/backups`` were not
        yet settled to (one tail read of the ledger and one meta lookup: cheap enough for
        every purge)."""
        newest = self.ledger.last()
        return newest is not None and self._settled_mark() != newest.marker

    def prune(self) -> tuple[str, ...]:
        """The retention limits for ``<home>/backups`` (settings ``backup_keep`` and
        ``backup_retention_days``)."""
        return prune(
            self._vault.paths.backups,
            int(float(self._setting("backup_keep"))),
            float(self._setting("backup_retention_days")),
            self._clock(),
        )

    def backups_held(self) -> int:
        """How many backups ``<home>/backups`` holds: a receipt says how many copies are
        brought in line with the change it records."""
        return len(list_backups(self._vault.paths.backups))

    def holds_backup(self, path: Path) -> bool:
        return Path(path).resolve().parent == self._vault.paths.backups.resolve()

    # ------------------------------------------------------------------ other sessions
    def _version(self) -> int:
        return int(self._vault.conn.execute("PRAGMA data_version").fetchone()[0])

    def seen_version(self) -> int | None:
        """``PRAGMA data_version`` now, or None when the session is busy or locked.

        For a screen polling from the GUI thread: it must never wait for the session lock
        while a background task (a save, a backup) holds it. Unlike :meth:`others_changed` it
        consumes nothing, so the gallery's own check is not disturbed."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if not self._vault._key:
                return None
            return self._version()
        finally:
            self._lock.release()

    def others_changed(self) -> bool:
        """True once after another connection committed to the vault since the last call.

        SQLite changes ``data_version`` for a connection only when *another* connection
        commits; our own changes keep the gallery up to date themselves."""
        version = self._version()
        changed = version != self._data_version
        self._data_version = version
        return changed
