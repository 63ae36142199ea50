"""Replaying the erasure ledger into a database: what makes withdrawal and erasure final.

Every open of a vault (an ordinary unlock, a restore before it is swapped in, a backup being
brought up to date) runs :func:`apply_pending`: each ledger entry the database has not applied
yet is applied again, in one transaction, each with its own audit entry (``ledger.replay``).

Replaying is idempotent: an entry whose effect is already present (the person is gone and the
erasure is recorded; the consents are no longer active; the person's details already read as
corrected) changes nothing and is not audited. A rectification is re-applied from its sealed
values (:mod:`app.ledger_seal`) unless the ledger also erases that person: erasure wins. One
that cannot be decrypted is reported in one line (``problems``, audited as ``ledger.problem``);
the ledger keeps it and everything else is still applied. The
database remembers the last entry applied (``meta.ledger_applied`` = ``SEQ:MAC``) so an unlock
does not walk the whole ledger; if that marker is not found in the ledger (a ledger carried over
from another machine, or started afresh) every entry is checked.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from app.audit import AuditLog
from app.db import Connection, transaction
from app.errors import StorageError
from app.ledger import ErasureLedger, LedgerEntry, LedgerRead
from app.ledger_seal import Unsealable
from app.validation import fold
from app.values import _iso

META_APPLIED = "ledger_applied"
REPLAY_ACTOR = "ledger"
PERSON_TABLES = ("people", "consents", "templates", "photos", "documents")


@dataclass(frozen=True)
class ReplayResult:
    """What a replay destroyed again (empty when the database was already up to date)."""

    erased_people: tuple[str, ...] = ()
    withdrawn_consents: tuple[str, ...] = ()
    expired_consents: tuple[str, ...] = ()
    templates_deleted: int = 0
    entries_checked: int = 0
    problems: tuple[str, ...] = ()
    rectified_people: tuple[str, ...] = ()  # corrections re-applied (GDPR Art. 16)

    @property
    def changed(self) -> bool:
        return bool(
            self.erased_people
            or self.withdrawn_consents
            or self.expired_consents
            or self.rectified_people
        )


def audit_key_of(conn: Connection) -> bytes | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'audit_key'").fetchone()
    return bytes(row[0]) if row else None


def applied_marker(conn: Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_APPLIED,)).fetchone()
    return bytes(row[0]).decode() if row else None


def mark_applied(conn: Connection, entry: LedgerEntry) -> None:
    """Called inside the transaction that made the change ``entry`` records."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (META_APPLIED, entry.marker.encode()),
    )


def pending(conn: Connection, read: LedgerRead) -> tuple[LedgerEntry, ...]:
    marker = applied_marker(conn)
    if marker:
        for i, entry in enumerate(read.entries):
            if entry.marker == marker:
                return read.entries[i + 1 :]
    return read.entries


META_GAP_REPORTED = "ledger_gap_reported"


def ledger_gap(conn: Connection, ledger: ErasureLedger) -> str | None:
    """What is wrong when the ledger no longer holds the last entry this database applied.

    Why: the database remembers that entry (``meta.ledger_applied``), so a ledger file that
    was deleted, emptied, cut short or replaced cannot pass unnoticed: without it a restored
    older backup would silently keep the people withdrawn or erased since. An older database
    (a restored backup) simply has entries still to replay: that is no gap."""
    marker = applied_marker(conn)
    if not marker:
        return None
    applied = int(marker.split(":", 1)[0])
    if not ledger.path.exists():
        return (
            f"the erasure ledger {ledger.path.name} is missing (deleted?), although this vault "
            f"has applied {applied} entries of it: withdrawals and erasures it recorded can "
            "no longer be re-applied to a restored backup"
        )
    if not ledger.regular():
        return (
            f"the erasure ledger {ledger.path.name} is no longer a file (a folder, a device or "
            f"a pipe is in its place), although this vault has applied {applied} entries of "
            "it: withdrawals and erasures it recorded can no longer be re-applied to a "
            "restored backup"
        )
    newest = ledger.last()
    if newest is not None and newest.marker == marker:
        return None
    read = ledger.read()
    if any(entry.marker == marker for entry in read.entries):
        return None
    last = read.entries[-1].seq if read.entries else 0
    if last < applied:
        return (
            f"the erasure ledger was cut short: it ends at entry {last}, but this vault has "
            f"applied {applied} entries of it"
        )
    return (
        f"the erasure ledger no longer holds entry {applied}, the last one this vault applied: "
        "it was replaced or rewritten"
    )


def report_gap(
    conn: Connection, ledger: ErasureLedger, now: dt.datetime, actor: str = REPLAY_ACTOR
) -> str | None:
    """:func:`ledger_gap`, audited once per state of the ledger (not at every unlock)."""
    gap = ledger_gap(conn, ledger)
    audit_key = audit_key_of(conn)
    if gap is None or audit_key is None:
        return gap
    newest = ledger.last()
    seen = f"{applied_marker(conn)}|{newest.marker if newest else ''}"
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_GAP_REPORTED,)).fetchone()
    if row is not None and bytes(row[0]).decode() == seen:
        return gap
    with transaction(conn):
        AuditLog(conn, audit_key).append(actor, "ledger.missing", details={"problem": gap}, at=now)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (META_GAP_REPORTED, seen.encode()),
        )
    return gap


def apply_pending(conn: Connection, home_ledger: ErasureLedger, now: dt.datetime) -> ReplayResult:
    """Apply every ledger entry this database has not applied yet; one transaction."""
    audit_key = audit_key_of(conn)
    if audit_key is None:
        return ReplayResult()
    shred_erased_keys(conn, home_ledger, now)
    newest = home_ledger.last()
    if newest is None or newest.marker == applied_marker(conn):
        return ReplayResult()  # the common case at unlock: one tail read, no full walk
    read = home_ledger.read()
    todo = pending(conn, read)
    if not todo:
        return ReplayResult(problems=read.problems)
    audit = AuditLog(conn, audit_key)
    erased: list[str] = []
    withdrawn: list[str] = []
    expired: list[str] = []
    rectified: list[str] = []
    unreadable: list[str] = []
    templates = 0
    # Erasure wins: nobody the ledger erases gets a correction re-applied, and their sealed
    # corrections are shredded (again, should a crash have come between entry and shredding).
    erasing = {str(e.person_id) for e in todo if e.kind == "erase"}
    try:
        home_ledger.seals.forget(erasing)
    except StorageError as exc:
        # Never a reason to keep the erasures from this database (nor anyone from signing
        # in): the keys are shredded at a later open (shred_erased_keys), the erasures now.
        unreadable.append(
            f"the keys of erased people's corrections could not be shredded now ({exc}); "
            "this is tried again at every open"
        )
    with transaction(conn):
        if read.problems:
            audit.append(
                REPLAY_ACTOR, "ledger.problem", details={"problems": list(read.problems)}, at=now
            )
        for run in _runs(todo):
            if run[0].kind == "rectify":
                try:
                    if _replay_rectify(conn, audit, run[0], home_ledger, erasing, now):
                        rectified.append(str(run[0].person_id))
                except Unsealable as exc:
                    unreadable.append(
                        f"ledger entry {run[0].seq} (a correction of person {run[0].person_id}'s "
                        f"details) was not re-applied: {exc}; the entry is kept"
                    )
                continue
            if run[0].kind == "erase":
                for pid, gone in _replay_erasures(conn, audit, run, now):
                    erased.append(pid)
                    templates += gone
                continue
            for entry in run:
                ids, count = _replay_status(conn, audit, entry, now)
                (withdrawn if entry.kind == "withdraw" else expired).extend(ids)
                templates += count
        if unreadable:
            audit.append(REPLAY_ACTOR, "ledger.problem", details={"problems": unreadable}, at=now)
        marker = applied_marker(conn)
        if not marker or todo[-1].seq > int(marker.split(":", 1)[0]):
            # Never backwards: a ledger cut short or replaced must keep showing as such
            # (ledger_gap) instead of being adopted at the first replay.
            mark_applied(conn, todo[-1])
    return ReplayResult(
        tuple(erased),
        tuple(withdrawn),
        tuple(expired),
        templates,
        len(todo),
        (*read.problems, *unreadable),
        tuple(rectified),
    )


def shred_erased_keys(conn: Connection, ledger: ErasureLedger, now: dt.datetime) -> int:
    """Shred again the correction keys of people this database records as erased; how many.

    Why at every open, not only when an erasure is made or replayed: the key file can be put
    back from an older copy (a file-level backup of the home folder, a sync tool, a hand
    restoring "the file that went missing"). Its keys of people erased since would make their
    sealed corrected names, kept forever in the ledger, readable again: the crypto-shredding
    undone without any error. Costs one stat when there is no key file or it did not change;
    best effort (a full disk retries at the next open), audited as ``ledger.problem``."""
    held = sorted(ledger.seals.held())
    erased: list[str] = []
    for i in range(0, len(held), REPLAY_BATCH):
        chunk = held[i : i + REPLAY_BATCH]
        marks = ",".join("?" * len(chunk))
        erased += [
            str(r[0])
            for r in conn.execute(
                f"SELECT person_id FROM erasures WHERE person_id IN ({marks})", chunk
            )
        ]
    if not erased:
        return 0
    try:
        gone = ledger.seals.forget(erased)
    except StorageError:
        return 0
    audit_key = audit_key_of(conn)
    if gone and audit_key is not None:
        problem = (
            f"{ledger.seals.path.name} held the keys of {gone} erased people's corrections "
            "(an older copy of the file put back?); they were shredded again"
        )
        with transaction(conn):
            AuditLog(conn, audit_key).append(
                REPLAY_ACTOR, "ledger.problem", details={"problems": [problem]}, at=now
            )
    return gone


# Erasures replayed together (issue 12: a retention purge of 1,000 people is 1,000 ledger
# entries, replayed into every backup under <home>/backups and at every restore).
REPLAY_BATCH = 500


def _runs(entries: tuple[LedgerEntry, ...]) -> list[list[LedgerEntry]]:
    """Consecutive erasures (at most :data:`REPLAY_BATCH`, each person once) as one run, every
    other entry alone: the order of the ledger is kept."""
    runs: list[list[LedgerEntry]] = []
    seen: set[str] = set()
    for entry in entries:
        last = runs[-1] if runs else None
        if (
            entry.kind == "erase"
            and last is not None
            and last[0].kind == "erase"
            and len(last) < REPLAY_BATCH
            and str(entry.person_id) not in seen
        ):
            last.append(entry)
        else:
            runs.append([entry])
            seen = set()
        seen.add(str(entry.person_id))
    return runs


def _grouped_counts(conn: Connection, pids: list[str]) -> dict[str, dict[str, int]]:
    out = {pid: dict.fromkeys(PERSON_TABLES, 0) for pid in pids}
    marks = ",".join("?" * len(pids))
    for t in PERSON_TABLES:
        column = "id" if t == "people" else "person_id"
        for pid, n in conn.execute(
            f"SELECT {column}, count(*) FROM {t} WHERE {column} IN ({marks}) GROUP BY {column}",
            pids,
        ):
            out[str(pid)][t] = int(n)
    return out


def _replay_erasures(
    conn: Connection, audit: AuditLog, run: list[LedgerEntry], now: dt.datetime
) -> list[tuple[str, int]]:
    """Erase each person of the run again, as a set; returns (person, templates deleted).

    A person already recorded as erased with nothing left is skipped (replaying is
    idempotent). The certificate's hash comes from the ledger, so the certificate the person
    holds still verifies as an erasure certificate after any restore."""
    pids = [str(e.person_id) for e in run]
    marks = ",".join("?" * len(pids))
    before = _grouped_counts(conn, pids)
    recorded = {
        str(r[0])
        for r in conn.execute(f"SELECT person_id FROM erasures WHERE person_id IN ({marks})", pids)
    }
    todo = [
        e for e in run if str(e.person_id) not in recorded or any(before[str(e.person_id)].values())
    ]
    if not todo:
        return []
    ids = [str(e.person_id) for e in todo]
    marks = ",".join("?" * len(ids))
    for table in ("templates", "photos", "documents", "consents"):
        conn.execute(f"DELETE FROM {table} WHERE person_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM people WHERE id IN ({marks})", ids)
    after = _grouped_counts(conn, ids)
    conn.executemany(
        "INSERT OR REPLACE INTO erasures (person_id, erased_at, erased_by, reason, counts, "
        "certificate_sha256) VALUES (?,?,?,?,?,?)",
        [
            (
                str(e.person_id),
                _iso(e.at),
                e.actor,
                "replayed from the erasure ledger",
                json.dumps(
                    {
                        "before": before[str(e.person_id)],
                        "after": after[str(e.person_id)],
                        "replayed_ledger_seq": e.seq,
                    }
                ),
                e.certificate_sha256,
            )
            for e in todo
        ],
    )
    audit.append_many(
        REPLAY_ACTOR,
        [
            ("ledger.replay", str(e.person_id), _details(e, destroyed=before[str(e.person_id)]))
            for e in todo
        ],
        at=now,
    )
    return [(str(e.person_id), before[str(e.person_id)]["templates"]) for e in todo]


def _replay_status(
    conn: Connection, audit: AuditLog, entry: LedgerEntry, now: dt.datetime
) -> tuple[list[str], int]:
    """Withdraw or expire the entry's consents again where they are still active (the
    ``consent_inactive_drops_templates`` trigger deletes their templates and photos)."""
    ids = [
        str(r[0])
        for cid in entry.consent_ids
        for r in conn.execute(
            "SELECT id FROM consents WHERE id = ? AND status = 'active'", (cid,)
        ).fetchall()
    ]
    if not ids:
        return [], 0
    marks = ",".join("?" * len(ids))
    templates = int(
        conn.execute(
            f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids
        ).fetchone()[0]
    )
    photo_forms: list[str] = []
    if entry.kind == "withdraw":
        # The stored consent form of a consent with a kept photo prints that photo; the live
        # vault re-issued it without, but this older copy cannot be re-rendered here (no
        # document maker at open time), so the form goes with the photo.
        photo_forms = [
            str(r[0])
            for r in conn.execute(
                f"SELECT d.id FROM documents d WHERE d.kind = 'consent_form' AND d.consent_id "
                f"IN ({marks}) AND EXISTS (SELECT 1 FROM photos p WHERE p.consent_id = "
                f"d.consent_id)",
                ids,
            ).fetchall()
        ]
        conn.execute(
            f"UPDATE consents SET status = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
            f"withdraw_reason = ? WHERE id IN ({marks})",
            [_iso(entry.at), entry.actor, "replayed from the erasure ledger", *ids],
        )
        for doc_id in photo_forms:
            conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
    else:
        conn.execute(f"UPDATE consents SET status = 'expired' WHERE id IN ({marks})", ids)
    destroyed = {"templates": templates, "forms_with_photo": len(photo_forms)}
    audit.append(
        REPLAY_ACTOR,
        "ledger.replay",
        entry.person_id,
        _details(entry, consents=ids, destroyed=destroyed, documents_deleted=photo_forms),
        at=now,
    )
    return ids, templates


def _replay_rectify(
    conn: Connection,
    audit: AuditLog,
    entry: LedgerEntry,
    ledger: ErasureLedger,
    erasing: set[str],
    now: dt.datetime,
) -> bool:
    """Correct the person's details again from the entry's sealed values; True if it changed
    anything. Skipped for someone erased (here, or by an entry of this replay) or absent from
    this copy (enrolled after it was taken: nothing to correct). The audit entry names the
    fields, never a value; its ``certificate_sha256`` is the receipt handed to the person."""
    pid = str(entry.person_id)
    if (
        pid in erasing
        or conn.execute("SELECT 1 FROM erasures WHERE person_id = ?", (pid,)).fetchone()
    ):
        return False
    row = conn.execute(
        "SELECT name, reference, last_interaction_at FROM people WHERE id = ?", (pid,)
    ).fetchone()
    if row is None:
        return False
    if entry.sealed is None:
        raise Unsealable("the entry carries no sealed values")
    values = ledger.seals.unseal(pid, entry.sealed)
    current = {"name": row[0], "reference": row[1]}
    fields = [f for f in ("name", "reference") if f in values and values[f] != current[f]]
    if not fields:
        return False
    name = values.get("name") or row[0]
    if not name:
        raise Unsealable("the sealed values hold no name")
    reference = values["reference"] if "reference" in values else row[1]
    touched = max(str(row[2] or ""), _iso(entry.at) or "")
    conn.execute(
        "UPDATE people SET name = ?, name_fold = ?, reference = ?, last_interaction_at = ? "
        "WHERE id = ?",
        (name, fold(name), reference, touched, pid),
    )
    audit.append(REPLAY_ACTOR, "ledger.replay", pid, _details(entry, fields=fields), at=now)
    return True


def _details(entry: LedgerEntry, **extra: Any) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "ledger_seq": entry.seq,
        "ledger_entry": entry.id,
        "original_at": _iso(entry.at),
        "original_actor": entry.actor,
        "certificate_sha256": entry.certificate_sha256,
        **extra,
    }
