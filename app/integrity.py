"""Integrity checks: the cheap ones at every unlock, the full ones in the background.

Why two kinds (issue 12): ``cipher_integrity_check`` and ``integrity_check`` read every page of
the file, so at 100,000 people (several GB) they took minutes at every sign-in. What must be
caught at once is cheap to check and does not grow with the vault:

* the WAL (:mod:`app.walcheck`, before SQLite reads it): damage is reported, not dropped;
* the key fits the header (page 1 decrypts and authenticates: SQLCipher checks the HMAC of
  every page it reads, so a damaged page is still caught the moment it is used);
* the schema version, and the triggers that keep the audit log append-only and templates tied
  to active consents, present and unchanged;
* the newest audit entries chain correctly onto each other (the tail continuity).

The full checks run on their own connection (the desk keeps working), on a schedule (at least
daily, :data:`FULL_CHECK_INTERVAL`) and on demand (``unlock-check --full``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

from app.audit import GENESIS, canonical, compute_mac
from app.db import Connection, key_pragma, split_sql
from app.doc_parts import count_refs
from app.errors import VaultCorrupt

FULL_CHECK_INTERVAL = dt.timedelta(days=1)
AUDIT_TAIL = 32  # newest entries whose chain is checked at every unlock

# (trigger name, the migration version that creates it)
_TRIGGERS: tuple[tuple[str, int], ...] = (
    ("templates_need_active_consent", 1),
    ("consent_inactive_drops_templates", 1),
    ("audit_no_update", 1),
    ("audit_no_delete", 1),
    ("templates_deleted_revoke", 4),
    ("people_deleted_forget_device_log", 4),
    ("signers_no_update", 7),  # issue-11: certified signing keys are append-only
    ("signers_no_delete", 7),
)


def _normal(sql: str) -> str:
    return " ".join(sql.strip().rstrip(";").split())


def _expected_triggers() -> dict[str, str]:
    from app.devices.schema import DEVICES_SQL
    from app.migrations import _V1_SQL, ACCOUNTS_TRIGGERS_SQL

    out: dict[str, str] = {}
    sql = split_sql(_V1_SQL) + split_sql(DEVICES_SQL) + split_sql(ACCOUNTS_TRIGGERS_SQL)
    for statement in sql:
        words = statement.split()
        if len(words) > 2 and words[0].upper() == "CREATE" and words[1].upper() == "TRIGGER":
            out[words[2]] = _normal(statement)
    return out


def quick_checks(conn: Connection, audit_key: bytes | None) -> None:
    """What every unlock checks; raises :class:`VaultCorrupt`. Cost: a few index probes."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    expected = _expected_triggers()
    present = {
        str(name): _normal(str(sql or ""))
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    }
    for name, since in _TRIGGERS:
        if version >= since and present.get(name) != expected.get(name):
            raise VaultCorrupt(
                "A safeguard of the vault database (a trigger that keeps records append-only) "
                "is missing or was changed outside ConsentDesk. Restore the latest backup "
                "(consentdesk restore FILE).",
                code="vault_tampered",
            )
    if audit_key is not None:
        check_audit_tail(conn, audit_key)


def check_audit_tail(conn: Connection, key: bytes, count: int = AUDIT_TAIL) -> None:
    """The newest ``count`` audit entries are numbered without gaps and each MAC chains onto
    its predecessor: an edited, removed or inserted recent entry is caught at sign-in."""
    rows = conn.execute(
        "SELECT seq, at, actor, action, subject, details, mac FROM audit ORDER BY seq DESC LIMIT ?",
        (count + 1,),
    ).fetchall()
    rows.reverse()
    if not rows:
        return
    previous = GENESIS if rows[0][0] == 1 else str(rows[0][6])
    start = 0 if rows[0][0] == 1 else 1
    expected_seq = int(rows[start][0]) if start < len(rows) else 0
    for seq, at, actor, action, subject, details, mac in rows[start:]:
        mine = compute_mac(key, previous, canonical(seq, at, actor, action, subject, details))
        if seq != expected_seq or not hmac.compare_digest(mine, str(mac)):
            raise VaultCorrupt(
                "The newest audit log entries do not chain together: the log was changed "
                "outside ConsentDesk. Run 'consentdesk audit verify' and restore the latest "
                "backup.",
                code="audit_broken",
            )
        previous = str(mac)
        expected_seq = int(seq) + 1


# ---------------------------------------------------------------------- the full check
@dataclass(frozen=True)
class FullCheckResult:
    """``problems``: damage (writes are locked until a check passes). ``parts_off``: shared
    document parts whose stored reference count differs from the documents that name them
    (found on the check's own snapshot). ``repaired``: what was found out of step and set right
    once the check passed (counters, those reference counts): reported, not damage."""

    ok: bool
    at: dt.datetime
    seconds: float
    problems: tuple[str, ...] = ()
    cancelled: bool = False
    parts_off: int = 0
    repaired: tuple[str, ...] = ()


Progress = Callable[[float], None]


class FullCheck:
    """``cipher_integrity_check`` (every page's HMAC), ``integrity_check`` (structure) and the
    shared document parts' reference counts (``app.doc_parts.count_refs``) on a
    connection of its own. Progress is reported per phase and cancel uses
    ``sqlite3_interrupt`` from the cancelling thread: no Python callback runs inside SQLite's
    long loops on the background thread (a progress handler there crashed the interpreter
    while the UI's face engine loaded on another thread)."""

    def __init__(self, database: Path, key: bytes) -> None:
        self._database = Path(database)
        self._key = bytes(key)
        self._cancel = False
        self._conn: Any = None

    def cancel(self) -> None:
        self._cancel = True
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.interrupt()

    def run(
        self, clock: Callable[[], dt.datetime], progress: Progress | None = None
    ) -> FullCheckResult:
        started = time.monotonic()
        at = clock()
        report = progress or (lambda _f: None)
        problems, parts_off = self._attempt(report)
        if problems and not self._cancel:
            # A page being checkpointed while it was read can look torn: check once more
            # before calling the vault damaged.
            problems, parts_off = self._attempt(report)
        seconds = time.monotonic() - started
        if self._cancel:
            return FullCheckResult(False, at, seconds, (), cancelled=True)
        report(1.0)
        return FullCheckResult(not problems, at, seconds, tuple(problems), parts_off=parts_off)

    def _attempt(self, report: Progress) -> tuple[list[str], int]:
        """The problems found, and how many document parts' reference counts are off."""
        uri = f"{self._database.resolve().as_uri()}?mode=ro"
        conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA key = {key_pragma(self._key)}")
            conn.execute("PRAGMA cipher_log_level = NONE")
            self._conn = conn
            if self._cancel:
                return [], 0
            report(0.02)
            try:
                if self._cancel:  # asked to yield while ``report`` ran
                    return [], 0
                cipher = [str(r[0]) for r in conn.execute("PRAGMA cipher_integrity_check")]
                if self._cancel:
                    return [], 0
                report(0.4)  # the page check is about two fifths of the work
                if self._cancel:
                    return [], 0
                structure = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
                problems = cipher + ([] if structure == ["ok"] else structure)
                if problems or self._cancel:
                    return problems[:20], 0
                report(0.85)
                parts = count_refs(conn, lambda: self._cancel)
            except sqlcipher3.OperationalError:
                if self._cancel:
                    return [], 0
                raise
            except sqlcipher3.DatabaseError:
                return ([] if self._cancel else ["unreadable"]), 0
            # Problem texts name pages, tables and counts, never content; keep only a few.
            if parts.missing:
                problems.append(
                    f"document_parts: {parts.missing} part(s) named by documents are missing"
                )
            if parts.malformed:
                problems.append(f"documents: {parts.malformed} part listing(s) are malformed")
            return problems[:20], len(parts.off)
        finally:
            self._conn = None
            conn.close()
