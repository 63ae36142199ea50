"""The append-only, HMAC-chained audit log.

Each entry's MAC covers the previous entry's MAC and the entry's canonical JSON, keyed with an
audit key that is separate from the database key (so a rekey does not break the chain). Changing,
reordering, inserting or deleting any entry breaks the chain; cutting off the newest entries is
caught by comparing with a head exported earlier (``consentdesk audit head``).

Entries name people only by their random person ID, never by name, so erasing a person leaves the
chain intact and holds nothing that identifies them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.db import Connection
from app.models import AuditEvent, AuditVerification

GENESIS = "0" * 64


def canonical(
    seq: int, at: str, actor: str, action: str, subject: str | None, details: str
) -> bytes:
    return json.dumps(
        [seq, at, actor, action, subject, details], ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def compute_mac(key: bytes, previous: str, entry: bytes) -> str:
    return hmac.new(key, previous.encode("ascii") + b"\n" + entry, hashlib.sha256).hexdigest()


class AuditLog:
    """Writes and verifies the chain. It must be called inside the caller's transaction so that an
    event is recorded if and only if the change it describes is committed."""

    def __init__(
        self,
        conn: Connection,
        key: bytes,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        # The clock is the desk's: entries written without an explicit time follow the same
        # clock as the change they describe (a fake one in tests).
        self._conn = conn
        self._key = key
        self._clock = clock
        # issue-11: signs each new entry's chained MAC with the signed-in account's key
        # (``app.authority``); None writes HMAC-only entries (replay at unlock, old vaults).
        self.signer: Callable[[int, str], tuple[str, str] | None] | None = None

    def rebind(self, conn: Connection) -> None:
        """Write through ``conn`` from now on (a rekey replaced the vault's connection)."""
        self._conn = conn

    def append(
        self,
        actor: str,
        action: str,
        subject: str | None = None,
        details: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> int:
        row = self._conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (row[0] + 1, row[1]) if row else (1, GENESIS)
        when = (at or self._clock()).astimezone(dt.UTC).isoformat(timespec="microseconds")
        body = json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True, default=str)
        mac = compute_mac(self._key, previous, canonical(seq, when, actor, action, subject, body))
        signed = self.signer(int(seq), mac) if self.signer is not None else None
        if signed is None:
            self._conn.execute(
                "INSERT INTO audit (seq, at, actor, action, subject, details, mac) "
                "VALUES (?,?,?,?,?,?,?)",
                (seq, when, actor, action, subject, body, mac),
            )
        else:
            self._conn.execute(
                "INSERT INTO audit (seq, at, actor, action, subject, details, mac, signer, sig) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (seq, when, actor, action, subject, body, mac, signed[0], signed[1]),
            )
        return int(seq)

    def append_many(
        self,
        actor: str,
        entries: Sequence[tuple[str, str | None, Mapping[str, Any]]],
        at: dt.datetime | None = None,
    ) -> int:
        """Append ``(action, subject, details)`` entries in order, each chained and signed
        exactly as :meth:`append` would, with one read of the head and one multi-row insert.

        Why: a retention purge writes one entry per person erased; 1,000 single appends each
        re-read the head and ran their own INSERT (issue 12). Returns the last sequence number
        (0 when ``entries`` is empty)."""
        if not entries:
            return 0
        row = self._conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        when = (at or self._clock()).astimezone(dt.UTC).isoformat(timespec="microseconds")
        plain: list[tuple[Any, ...]] = []
        signed_rows: list[tuple[Any, ...]] = []
        for action, subject, details in entries:
            seq += 1
            body = json.dumps(dict(details), ensure_ascii=False, sort_keys=True, default=str)
            mac = compute_mac(
                self._key, previous, canonical(seq, when, actor, action, subject, body)
            )
            signed = self.signer(seq, mac) if self.signer is not None else None
            if signed is None:
                plain.append((seq, when, actor, action, subject, body, mac))
            else:
                signed_rows.append((seq, when, actor, action, subject, body, mac, *signed))
            previous = mac
        if plain:
            self._conn.executemany(
                "INSERT INTO audit (seq, at, actor, action, subject, details, mac) "
                "VALUES (?,?,?,?,?,?,?)",
                plain,
            )
        if signed_rows:
            self._conn.executemany(
                "INSERT INTO audit (seq, at, actor, action, subject, details, mac, signer, sig) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                signed_rows,
            )
        return seq

    def head(self) -> str:
        """``SEQ:MAC`` of the newest entry; keep it somewhere else to detect a cut-off tail."""
        row = self._conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return f"{row[0]}:{row[1]}" if row else f"0:{GENESIS}"

    def events(
        self, subject: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[AuditEvent]:
        sql = "SELECT seq, at, actor, action, subject, details FROM audit"
        args: list[Any] = []
        if subject is not None:
            sql += " WHERE subject = ?"
            args.append(subject)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [_event(r) for r in self._conn.execute(sql, args)]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM audit").fetchone()[0])

    def verify(
        self,
        expected_head: str | None = None,
        check_signature: Callable[[int, str, str, Any, Any], str | None] | None = None,
    ) -> AuditVerification:
        """The chain, the signatures (``check_signature``, from ``app.authority``) and, given an
        exported head, the tail."""
        problems: list[str] = []
        previous = GENESIS
        expected_seq = 1
        entries = 0
        last_mac = GENESIS
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(audit)").fetchall()}
        signed = "sig" in columns
        cursor = self._conn.execute(
            "SELECT seq, at, actor, action, subject, details, mac"
            + (", signer, sig" if signed else ", NULL, NULL")
            + " FROM audit ORDER BY seq"
        )
        for seq, at, actor, action, subject, details, mac, signer, sig in cursor:
            if check_signature is not None:
                problem = check_signature(int(seq), str(action), str(mac), signer, sig)
                if problem is not None:
                    problems.append(problem)
            entries += 1
            if seq != expected_seq:
                problems.append(f"entry {expected_seq} is missing (next present entry is {seq})")
            mine = compute_mac(
                self._key, previous, canonical(seq, at, actor, action, subject, details)
            )
            if not hmac.compare_digest(mine, str(mac)):
                problems.append(f"entry {seq} was changed, inserted or moved")
            previous = str(mac)
            last_mac = str(mac)
            expected_seq = seq + 1
        last_seq = expected_seq - 1
        if expected_head:
            try:
                head_seq_text, head_mac = expected_head.strip().split(":", 1)
                head_seq = int(head_seq_text)
            except ValueError:
                problems.append("the head given is not in SEQ:MAC form")
            else:
                row = self._conn.execute(
                    "SELECT mac FROM audit WHERE seq = ?", (head_seq,)
                ).fetchone()
                if row is None:
                    problems.append(
                        f"entries up to {head_seq} were recorded but the log ends at {last_seq}: "
                        "its tail was cut off"
                    )
                elif not hmac.compare_digest(str(row[0]), head_mac):
                    problems.append(f"entry {head_seq} does not match the exported head")
        return AuditVerification(
            ok=not problems,
            entries=entries,
            head=f"{last_seq}:{last_mac}",
            problems=tuple(problems),
        )


def _event(r: Any) -> AuditEvent:
    """One entry as stored. A row damaged outside ConsentDesk (details that are not JSON, a
    time that is not ISO) is still listed and exported, marked ``damaged``, instead of the
    whole export failing: ``audit verify`` is what reports the break."""
    try:
        details = json.loads(r[5])
        if not isinstance(details, dict):
            raise ValueError("not an object")
    except (TypeError, ValueError):
        details = {"damaged": "details unreadable"}
    try:
        at = dt.datetime.fromisoformat(str(r[1]))
    except (TypeError, ValueError):
        at = dt.datetime.min.replace(tzinfo=dt.UTC)
        details = {**details, "damaged": "time unreadable"}
    return AuditEvent(
        seq=int(r[0]),
        at=at,
        actor=str(r[2]),
        action=str(r[3]),
        subject=None if r[4] is None else str(r[4]),
        details=details,
    )
