"""Device sequence high-water marks kept *outside* the database, so a restore cannot roll them
back (issue 17).

Why: a door refuses any bundle or revocation list whose sequence number is not newer than the
last one it imported. ``restore`` replaces ``vault.db`` with an older copy, whose ``devices``
rows carry older sequence numbers; without this file the desk would then write bundle and list
numbers the door has already seen. The door would refuse them (so a withdrawal replayed from the
erasure ledger would never reach it), and revocation entry numbers (``n``) would be reused for
different templates.

The file sits beside the erasure ledger in the home folder, is never replaced by ``restore``,
and holds per device only numbers (no template, no person): the newest bundle and list sequence
numbers written and the newest revocation entry number, plus the highest entry number of any
device. It is MAC'd with a key derived from the audit key, like the ledger, and named by that
key's fingerprint, so a foreign vault's marks never apply.

Ordering: the marks are written (and fsynced) inside the transaction that advances the numbers,
before COMMIT. A crash between leaves marks ahead of the database: the next numbers skip one,
which a door accepts; the failure mode is never a reused number.

At every open (:func:`reconcile`, before the ledger replay adds revocations) the database's
numbers are raised to the marks; a device whose bundle number went back is flagged for a full
bundle next, because it may hold templates handed after the backup was taken that the restored
database does not know about (a full bundle replaces everything the door holds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.audit import AuditLog
from app.db import Connection, transaction
from app.filecheck import read_own_file

FULL_NEEDED_META = "device_full_needed:"
_FIELDS = ("bundle_seq", "revocation_seq", "revocations_through")


def _key(audit_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"consentdesk-device-marks"
    ).derive(audit_key)


def marks_path(home: Path, audit_key: bytes) -> Path:
    fingerprint = hashlib.sha256(b"marks-id|" + _key(audit_key)).hexdigest()[:16]
    return Path(home) / f"device-marks-{fingerprint}.json"


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def read_marks(home: Path, audit_key: bytes) -> dict[str, dict[str, int]]:
    """Per device ID the highest numbers ever written; ``{}`` when there is no (authentic)
    file. A file that fails its MAC is ignored rather than trusted."""
    try:
        doc = json.loads(read_own_file(marks_path(home, audit_key), 16 * 1024 * 1024))
        body = doc["body"]
        if not hmac.compare_digest(_mac(_key(audit_key), body), str(doc["mac"])):
            return {}
        return {str(d): {f: int(v.get(f, 0)) for f in _FIELDS} for d, v in body["devices"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # absent, unreadable or not a regular file: as if there were none


def record(home: Path, audit_key: bytes, device_id: str, **numbers: int) -> None:
    """Raise the marks of one device (never lower them); atomic replace, fsynced."""
    marks = read_marks(home, audit_key)
    current = marks.setdefault(device_id, dict.fromkeys(_FIELDS, 0))
    for name, value in numbers.items():
        if name not in _FIELDS:
            raise ValueError(f"unknown device mark {name!r}")
        current[name] = max(current[name], int(value))
    body = {"devices": marks}
    path = marks_path(home, audit_key)
    tmp = path.with_name(path.name + ".next")
    data = json.dumps({"body": body, "mac": _mac(_key(audit_key), body)}, sort_keys=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dirfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def reconcile(conn: Connection, home: Path, audit_key: bytes, now: dt.datetime) -> list[str]:
    """Raise the database's device numbers to the marks; returns the device IDs changed.

    Run at every open, before the ledger replay, so revocations it adds take fresh numbers.
    Each raised device is audited (``device.marks_restored``) and flagged for a full bundle."""
    marks = read_marks(home, audit_key)
    if not marks:
        return []
    highest = max(m["revocations_through"] for m in marks.values())
    changed: list[str] = []
    rows = conn.execute("SELECT id, bundle_seq, revocation_seq FROM devices").fetchall()
    stored = conn.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'device_revocations'"
    ).fetchone()
    behind_ids = stored is None or int(stored[0]) < highest
    todo = [
        (str(r[0]), int(r[1]), int(r[2]), marks[str(r[0])])
        for r in rows
        if str(r[0]) in marks
        and (
            int(r[1]) < marks[str(r[0])]["bundle_seq"]
            or int(r[2]) < marks[str(r[0])]["revocation_seq"]
        )
    ]
    if not todo and not behind_ids:
        return []
    audit = AuditLog(conn, audit_key)
    with transaction(conn):
        if behind_ids:
            if stored is None:
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('device_revocations', ?)",
                    (highest,),
                )
            else:
                conn.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = 'device_revocations'",
                    (highest,),
                )
        for device_id, bundle_seq, revocation_seq, mark in todo:
            conn.execute(
                "UPDATE devices SET bundle_seq = max(bundle_seq, ?), "
                "revocation_seq = max(revocation_seq, ?) WHERE id = ?",
                (mark["bundle_seq"], mark["revocation_seq"], device_id),
            )
            if bundle_seq < mark["bundle_seq"]:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (FULL_NEEDED_META + device_id, now.astimezone(dt.UTC).isoformat().encode()),
                )
            audit.append(
                "restore",
                "device.marks_restored",
                None,
                {
                    "device": device_id,
                    "bundle_seq": [bundle_seq, max(bundle_seq, mark["bundle_seq"])],
                    "revocation_seq": [
                        revocation_seq,
                        max(revocation_seq, mark["revocation_seq"]),
                    ],
                    "full_bundle_next": bundle_seq < mark["bundle_seq"],
                },
                at=now,
            )
            changed.append(device_id)
    return changed


def full_needed(conn: Connection, device_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM meta WHERE key = ?", (FULL_NEEDED_META + device_id,)
    ).fetchone()
    return row is not None


def clear_full_needed(conn: Connection, device_id: str) -> None:
    conn.execute("DELETE FROM meta WHERE key = ?", (FULL_NEEDED_META + device_id,))
