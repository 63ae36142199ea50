"""The erasure ledger: a record of every withdrawal, expiry and erasure that lives *outside* the
database, so restoring an older backup cannot bring a withdrawn face or an erased person back.

Why a separate file: ``restore`` replaces ``vault.db`` (and with it the audit log), so anything
kept only inside the database is rolled back together with the data it should keep destroyed.
The ledger sits next to the vault in the home folder and is never replaced by ``restore``.

What it holds: pseudonymous facts only (the random person ID, consent IDs, counts of what was
destroyed, when, by which staff account or ``retention``, the SHA-256 of the document handed to
the person: the erasure certificate, the withdrawal or rectification receipt, in
``certificate_sha256``). No name, reference or free-text reason ever goes in in plaintext, so
keeping it forever keeps nobody. A rectification (kind ``rectify``) carries the corrected values
*sealed* (``sealed``: AES-GCM under a per-person key, :mod:`app.ledger_seal`), which an erasure
shreds by deleting that key.

Authentication: each line carries an HMAC-SHA256 over its content and the previous line's MAC
(a chain like the audit log's). The key is derived with HKDF from the vault's audit key, which
lives inside the encrypted database and is never changed by ``rekey`` nor by restoring a backup
of the same vault, so the ledger verifies across both. The file name carries a fingerprint of
that key, so each vault lineage has its own ledger and a foreign backup never replays it.

Ordering with the database: an entry is appended (and fsynced) *inside* the transaction that
makes the change, just before COMMIT. A crash in between leaves an entry whose change was not
committed; the next open replays it, so the failure mode is "destroyed", never "brought back".
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import hmac
import json
import os
import secrets
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.ledger_seal import SealedValues

_NOT_REGULAR = (errno.EISDIR, errno.ENXIO, errno.ELOOP)

GENESIS = "0" * 64
LedgerKind = Literal["erase", "withdraw", "expire", "rectify"]
_KINDS = ("erase", "withdraw", "expire", "rectify")
_TAIL_BYTES = 8192


def ledger_key(audit_key: bytes) -> bytes:
    """Separate key (not the audit key itself) so a ledger MAC can never pass as an audit MAC."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"consentdesk-erasure-ledger"
    ).derive(audit_key)


def ledger_path(home: Path, audit_key: bytes) -> Path:
    """``<home>/erasure-ledger-<fingerprint>.jsonl``: one file per vault lineage."""
    fingerprint = hashlib.sha256(b"ledger-id|" + ledger_key(audit_key)).hexdigest()[:16]
    return Path(home) / f"erasure-ledger-{fingerprint}.jsonl"


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    id: str
    at: dt.datetime
    kind: LedgerKind
    actor: str
    person_id: str | None
    consent_ids: tuple[str, ...]
    destroyed: Mapping[str, int] = field(default_factory=dict)
    certificate_sha256: str | None = None
    prev: str = GENESIS
    mac: str = ""
    # A rectification's corrected values, sealed (app.ledger_seal); None for every other kind.
    sealed: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "seq": self.seq,
            "id": self.id,
            "at": self.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "kind": self.kind,
            "actor": self.actor,
            "person": self.person_id,
            "consents": list(self.consent_ids),
            "destroyed": {str(k): int(v) for k, v in sorted(self.destroyed.items())},
            "certificate_sha256": self.certificate_sha256,
            "prev": self.prev,
        }
        if self.sealed is not None:  # absent otherwise: older entries keep their MACs
            body["sealed"] = self.sealed
        return body

    @property
    def marker(self) -> str:
        """``SEQ:MAC``: what the database remembers as the last entry it has applied."""
        return f"{self.seq}:{self.mac}"


@dataclass(frozen=True)
class LedgerSpec:
    """What one entry records, before the ledger gives it a place in the chain."""

    kind: LedgerKind
    person_id: str | None
    consent_ids: tuple[str, ...] = ()
    destroyed: Mapping[str, int] = field(default_factory=dict)
    certificate_sha256: str | None = None
    sealed: str | None = None


@dataclass(frozen=True)
class LedgerRead:
    """Every line of the file: the authentic entries, and what was wrong with the rest."""

    entries: tuple[LedgerEntry, ...]
    problems: tuple[str, ...] = ()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


class ErasureLedger:
    """Appends and reads one vault's ledger. Appends happen inside the caller's write
    transaction: SQLite's write lock then serialises them across sessions on the same vault."""

    def __init__(self, home: Path, audit_key: bytes) -> None:
        self.path = ledger_path(home, audit_key)
        self._key = ledger_key(audit_key)
        self.seals = SealedValues(home, audit_key)  # a rectification's corrected values

    def append(
        self,
        *,
        kind: LedgerKind,
        at: dt.datetime,
        actor: str,
        person_id: str | None,
        consent_ids: Sequence[str] = (),
        destroyed: Mapping[str, int] | None = None,
        certificate_sha256: str | None = None,
        sealed: str | None = None,
    ) -> LedgerEntry:
        """Write one entry and fsync it before returning (the caller commits afterwards)."""
        spec = LedgerSpec(
            kind, person_id, tuple(consent_ids), dict(destroyed or {}), certificate_sha256, sealed
        )
        return self.append_many([spec], at, actor)[0]

    def append_many(
        self, specs: Sequence[LedgerSpec], at: dt.datetime, actor: str
    ) -> tuple[LedgerEntry, ...]:
        """Write entries chained one onto the next, in one write and one fsync.

        Why (issue 12): a retention purge of 1,000 people appended and fsynced 1,000 times,
        re-reading the tail each time. The promise is unchanged: every entry is on disk before
        the caller commits the transaction that made the changes it records; a crash mid-write
        leaves a torn last line, which the next append cuts off (those changes were never
        committed either)."""
        if not specs:
            return ()
        last = self.last()
        seq, previous = (last.seq, last.mac) if last else (0, GENESIS)
        entries: list[LedgerEntry] = []
        lines: list[str] = []
        for spec in specs:
            seq += 1
            entry = LedgerEntry(
                seq=seq,
                id=secrets.token_hex(8),
                at=at,
                kind=spec.kind,
                actor=actor,
                person_id=spec.person_id,
                consent_ids=tuple(spec.consent_ids),
                destroyed=dict(spec.destroyed),
                certificate_sha256=spec.certificate_sha256,
                prev=previous,
                sealed=spec.sealed,
            )
            body = entry.body()
            mac = _mac(self._key, body)
            lines.append(json.dumps({**body, "mac": mac}, ensure_ascii=False, sort_keys=True))
            entries.append(replace(entry, mac=mac))
            previous = mac
        data = ("\n".join(lines) + "\n").encode("utf-8")
        created = not os.path.lexists(self.path)
        fd = self._open_for_append()
        if fd is None:  # something else was in the ledger's place: moved aside, a new one
            created = True
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._drop_torn_tail(fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)
        return tuple(entries)

    def _open_for_append(self) -> int | None:
        """The ledger opened for appending, or None after moving aside what was not a
        regular file at its name.

        Why: an entry must be on disk before the change it records commits. Through a
        symlink to ``/dev/zero`` every append "succeeded" into nothing (a restore would bring
        the erased back); a FIFO blocked the erasure forever; a folder made it fail with an
        unexpected error. Such a thing is moved aside as it is (``*.damaged-<ns>``) and a new
        ledger started, as when the ledger was deleted (the gap is audited: ``ledger_gap``)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags | getattr(os, "O_NONBLOCK", 0), 0o600)
        except OSError as exc:
            if exc.errno not in _NOT_REGULAR:
                raise
        else:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                _blocking(fd)
                return fd
            os.close(fd)
        os.replace(self.path, self.path.with_name(f"{self.path.name}.damaged-{time.time_ns()}"))
        return None

    def regular(self) -> bool:
        """Whether the ledger's name holds a regular file (or nothing yet)."""
        try:
            return stat.S_ISREG(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return True
        except OSError:
            return False

    def _open_read(self) -> BinaryIO:
        """The ledger for reading; FileNotFoundError when absent; OSError when it is not a
        regular file (opened without blocking: a FIFO must not hang every sign-in)."""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            _blocking(fd)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def _drop_torn_tail(self, fd: int) -> None:
        """A crash mid-append leaves a line without its newline; that entry was never
        committed, so it is cut off before the next one is written."""
        size = os.fstat(fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        os.ftruncate(fd, size - len(tail) + cut + 1 if cut >= 0 else 0)

    def last(self) -> LedgerEntry | None:
        """The newest complete, authentic entry (read from the file's tail, not the whole)."""
        try:
            with self._open_read() as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - _TAIL_BYTES))
                tail = fh.read()
        except OSError:  # absent, or not a regular file (ledger_gap says so)
            return None
        lines = tail.split(b"\n")
        if size > _TAIL_BYTES:
            lines = lines[1:]  # the first piece may be a partial line
        for raw in reversed(lines[:-1]):  # the last piece is "" or a torn line
            entry = self._parse(raw)
            if entry is not None:
                return entry
        return None if size <= _TAIL_BYTES else self._last_by_full_read()

    def _last_by_full_read(self) -> LedgerEntry | None:
        entries = self.read().entries
        return entries[-1] if entries else None

    def _parse(self, raw: bytes) -> LedgerEntry | None:
        try:
            doc = json.loads(raw)
            mac = str(doc.pop("mac"))
            if not hmac.compare_digest(_mac(self._key, doc), mac):
                return None
            if doc["kind"] not in _KINDS:
                return None
            return LedgerEntry(
                seq=int(doc["seq"]),
                id=str(doc["id"]),
                at=dt.datetime.fromisoformat(doc["at"]),
                kind=doc["kind"],
                actor=str(doc["actor"]),
                person_id=doc["person"],
                consent_ids=tuple(str(c) for c in doc["consents"]),
                destroyed={str(k): int(v) for k, v in doc["destroyed"].items()},
                certificate_sha256=doc["certificate_sha256"],
                prev=str(doc["prev"]),
                mac=mac,
                sealed=None if doc.get("sealed") is None else str(doc["sealed"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def read(self) -> LedgerRead:
        """All authentic entries in file order. A line that fails its MAC is skipped and
        reported; the chain is checked so a removed line is reported too. Replay still applies
        every authentic entry: a damaged ledger must never stop an erasure from being final."""
        try:
            with self._open_read() as fh:
                data = fh.read()
        except FileNotFoundError:
            return LedgerRead(())
        except OSError:
            return LedgerRead((), (f"the erasure ledger {self.path.name} cannot be read",))
        lines = data.split(b"\n")
        torn = lines[-1]
        entries: list[LedgerEntry] = []
        problems: list[str] = []
        previous: str | None = GENESIS
        for number, raw in enumerate(lines[:-1], start=1):
            if not raw.strip():
                continue
            entry = self._parse(raw)
            if entry is None:
                problems.append(f"ledger line {number} is damaged or was changed")
                previous = None  # the next entry links to that line: no second problem
                continue
            if previous is not None and entry.prev != previous:
                problems.append(f"ledger entry {entry.seq} does not follow the one before it")
            previous = entry.mac
            entries.append(entry)
        if torn.strip():
            problems.append("the last ledger line is incomplete (an interrupted write)")
        return LedgerRead(tuple(entries), tuple(problems))


def _blocking(fd: int) -> None:
    """Undo ``O_NONBLOCK`` (where it exists; a regular file ignores it anyway)."""
    if getattr(os, "O_NONBLOCK", 0):
        os.set_blocking(fd, True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
