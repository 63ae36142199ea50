"""Checking ``vault.db-wal`` before SQLite reads it (issue 11: damage must be reported).

Why: SQLite replays a WAL frame by frame and stops at the first frame whose checksum or salt
does not fit, silently ignoring everything after it, and ignores the whole log when its header
is damaged. A committed change sitting in a damaged WAL would therefore vanish at the next
checkpoint with nobody told. This module reads the log the way SQLite does (header checksum,
salts, cumulative frame checksums; https://sqlite.org/fileformat2.html#walformat) and tells a
torn tail (a crash while writing an uncommitted transaction: harmless, SQLite discards it) from
damage with committed frames after it (reported, and the file is left as it is).

The work is bounded by the size of the WAL, never by the size of the vault; the checksum of a
frame is computed with numpy as a linear recurrence (see :func:`_checksum`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import VaultCorrupt

if TYPE_CHECKING:  # loaded only when a WAL needs checking: CLI start stays light
    import numpy as np

WAL_MAGIC = (0x377F0682, 0x377F0683)  # little-endian / big-endian checksums
WAL_HEADER = 32
FRAME_HEADER = 24
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class WalReport:
    """What the log holds: frames SQLite will replay, and whether damage hides committed work."""

    frames: int
    valid_frames: int
    committed_frames: int
    damaged: bool
    reason: str = ""


def _powers(n: int) -> np.ndarray:
    """``M**(n-1-k)`` for k in 0..n-1, M = [[1,1],[1,2]], modulo 2**64 (wraps; we keep 32 bits)."""
    import numpy as np

    out = np.empty((n, 2, 2), dtype=np.uint64)
    m = np.array([[1, 0], [0, 1]], dtype=np.uint64)
    step = np.array([[1, 1], [1, 2]], dtype=np.uint64)
    for k in range(n - 1, -1, -1):
        out[k] = m
        m = (step @ m) & np.uint64(_MASK)
    return out


_POWER_CACHE: dict[int, np.ndarray] = {}


def _checksum(data: bytes, big_endian: bool, s0: int, s1: int) -> tuple[int, int]:
    """SQLite's WAL checksum over ``data`` (a multiple of 8 bytes), seeded with ``s0, s1``.

    The loop ``s0 += x0 + s1; s1 += x1 + s0`` is linear: with v = (s0, s1) each step is
    v' = M v + (x0, x0 + x1), M = [[1,1],[1,2]], so after n steps
    v_n = M^n v_0 + sum_k M^(n-1-k) b_k, computed at once with precomputed powers of M.
    """
    import numpy as np

    words = np.frombuffer(data, dtype=">u4" if big_endian else "<u4").astype(np.uint64)
    x0, x1 = words[0::2], words[1::2]
    n = x0.shape[0]
    table = _POWER_CACHE.get(n)
    if table is None:
        table = _POWER_CACHE[n] = _powers(n + 1)  # M^n, M^(n-1), ..., M^0
    full, powers = table[0], table[1:]
    b0, b1 = x0, (x0 + x1) & np.uint64(_MASK)
    with np.errstate(over="ignore"):
        r0 = int(np.sum(powers[:, 0, 0] * b0 + powers[:, 0, 1] * b1, dtype=np.uint64))
        r1 = int(np.sum(powers[:, 1, 0] * b0 + powers[:, 1, 1] * b1, dtype=np.uint64))
    f = [[int(full[0, 0]), int(full[0, 1])], [int(full[1, 0]), int(full[1, 1])]]
    n0 = (f[0][0] * s0 + f[0][1] * s1 + r0) & _MASK
    n1 = (f[1][0] * s0 + f[1][1] * s1 + r1) & _MASK
    return n0, n1


def inspect_wal(wal: Path) -> WalReport:
    """Read the WAL the way SQLite recovers it and report damage (never changes the file)."""
    try:
        size = wal.stat().st_size
    except FileNotFoundError:
        return WalReport(0, 0, 0, False)
    if size == 0:
        return WalReport(0, 0, 0, False)
    with open(wal, "rb") as fh:
        header = fh.read(WAL_HEADER)
        if len(header) < WAL_HEADER:
            return WalReport(0, 0, 0, False)  # a header being written when the power went
        magic, version, page_size, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", header)
        frame_size = FRAME_HEADER + page_size if 512 <= page_size <= 65536 else 0
        frames = (size - WAL_HEADER) // frame_size if frame_size else 0
        if magic not in WAL_MAGIC or version != 3007000 or not frame_size:
            return WalReport(frames, 0, 0, frames > 0, "the log header is not valid")
        big = magic == WAL_MAGIC[1]
        if _checksum(header[:24], big, 0, 0) != (c0, c1):
            return WalReport(frames, 0, 0, frames > 0, "the log header checksum does not match")
        s0, s1 = c0, c1
        valid = committed = 0
        broken_at: int | None = None
        for index in range(frames):
            frame = fh.read(frame_size)
            if len(frame) < frame_size:
                break
            _pgno, commit, fsalt1, fsalt2, f0, f1 = struct.unpack(">6I", frame[:FRAME_HEADER])
            if (fsalt1, fsalt2) != (salt1, salt2):
                # A frame of an earlier generation of the log: SQLite stops here by design.
                if broken_at is None:
                    break
                continue
            body = frame[:8] + frame[FRAME_HEADER:]
            if broken_at is None:
                if _checksum(body, big, s0, s1) == (f0, f1):
                    valid += 1
                    if commit:
                        committed = valid
                    s0, s1 = f0, f1
                    continue
                broken_at = index
                s0, s1 = f0, f1  # carry on from the stored values to see what follows
                continue
            # After a bad frame: a later frame of this generation whose checksum follows on
            # from its predecessor's stored value was written after it, so the bad frame is
            # damage, not a torn tail, and SQLite would drop that committed work.
            if _checksum(body, big, s0, s1) == (f0, f1) and commit:
                return WalReport(
                    frames,
                    valid,
                    committed,
                    True,
                    f"frame {broken_at + 1} is damaged and committed changes follow it",
                )
            s0, s1 = f0, f1
        return WalReport(frames, valid, committed, False)


def check_wal(database: Path) -> WalReport:
    """Raise :class:`VaultCorrupt` (code ``wal_damaged``) when the WAL of ``database`` is
    damaged in a way that would lose committed changes; nothing is changed on disk."""
    report = inspect_wal(database.with_name(database.name + "-wal"))
    if report.damaged:
        raise VaultCorrupt(
            "The vault's write-ahead log is damaged "
            f"({report.reason}): committed changes would be lost, so the vault was not opened "
            "and nothing was changed. Keep a copy of the vault folder and restore the latest "
            "backup (consentdesk restore FILE).",
            code="wal_damaged",
        )
    return report
