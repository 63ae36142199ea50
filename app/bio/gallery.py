"""In-memory 1:N search over every active template.

All templates live in ONE contiguous float32 matrix with their squared norms precomputed, so a
query is a single matrix-vector product plus an ``argpartition`` (or, for identification with
a threshold, a comparison and a sort of the few rows under it):

    ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b

which is the Euclidean distance dlib's model is trained for (threshold 0.6). At 100k templates
that is ~51 MB of floats read once per query (a few ms on one core) instead of materialising a
100k x 128 difference matrix. Enrolling and erasing are incremental: rows are appended into
spare capacity (doubling when full) and removed by moving the last rows into the holes, so a
withdrawal never waits for a rebuild and leaves no copy of the erased template in the matrix.

Thread-safe (one lock); search scratch buffers are reused, not reallocated per query.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from app.bio.engine import EMBEDDING_DIM, Embedding
from app.bio.thresholds import LOOKALIKE_MARGIN, MATCH_THRESHOLD

F32 = npt.NDArray[np.float32]
TEMPLATE_BYTES = EMBEDDING_DIM * 4


def template_to_blob(template: Embedding) -> bytes:
    """The storage form: 128 little-endian float32 (512 bytes)."""
    arr = np.asarray(template, dtype="<f4").reshape(-1)
    if arr.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(arr)):
        raise ValueError("a template is 128 finite numbers")
    return arr.tobytes()


def template_from_blob(blob: bytes) -> Embedding:
    if len(blob) != TEMPLATE_BYTES:
        raise ValueError("a template blob is 512 bytes")
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


@dataclass(frozen=True)
class GalleryHit:
    """Best distance of one person to the query (over all their templates)."""

    person_id: str
    distance: float


@dataclass(frozen=True)
class GalleryWarning:
    """Raised at enrollment: ``duplicate`` = this person seems enrolled already (distance below
    the match threshold), ``lookalike`` = someone else is close (within threshold + margin)."""

    kind: Literal["duplicate", "lookalike"]
    person_id: str
    distance: float


class Gallery:
    """Templates of all enrolled people, searchable 1:N."""

    def __init__(self, *, capacity: int = 1024) -> None:
        self._lock = threading.Lock()
        self._mat: F32 = np.zeros((max(16, capacity), EMBEDDING_DIM), dtype=np.float32)
        self._norms: F32 = np.zeros(self._mat.shape[0], dtype=np.float32)
        self._scratch: F32 = np.zeros(self._mat.shape[0], dtype=np.float32)
        self._owner: npt.NDArray[np.int64] = np.zeros(self._mat.shape[0], dtype=np.int64)
        self._n = 0
        self._ids: list[str] = []  # person index -> id ("" when freed)
        self._index: dict[str, int] = {}  # id -> person index
        self._counts: dict[str, int] = {}  # id -> number of templates
        self._free: list[int] = []
        self._max_rows = 0  # most templates any one person has; -1 = recompute lazily

    # -- bulk load -------------------------------------------------------------------------------

    @classmethod
    def from_blobs(cls, rows: Iterable[tuple[str, bytes]]) -> Gallery:
        """Build from ``(person_id, 512-byte blob)`` rows as they come out of the vault, in one
        pass: the blobs are joined and viewed as a matrix, no per-row numpy objects."""
        pairs = list(rows)
        if not pairs:
            return cls(capacity=16)
        ids, blobs = zip(*pairs, strict=True)
        return cls.from_columns(ids, blobs)

    @classmethod
    def from_columns(cls, person_ids: Sequence[str], blobs: Sequence[bytes]) -> Gallery:
        """Build from parallel columns of person ids and 512-byte blobs."""
        if len(person_ids) != len(blobs):
            raise ValueError("one person id per template")
        if blobs and set(map(len, blobs)) != {TEMPLATE_BYTES}:
            raise ValueError("a template blob is 512 bytes")
        return cls.from_packed(person_ids, b"".join(blobs))

    @classmethod
    def from_packed(cls, person_ids: Sequence[str], packed: bytes) -> Gallery:
        """Build from person ids and their templates packed end to end, 512 bytes each in the
        same order (the vault's read at 100,000 people: no per-template object)."""
        if len(packed) != len(person_ids) * TEMPLATE_BYTES:
            raise ValueError("one 512-byte template per person id")
        gallery = cls(capacity=16)
        if not person_ids:
            return gallery
        mat = np.frombuffer(packed, dtype="<f4").reshape(len(person_ids), EMBEDDING_DIM)
        gallery._bulk(list(person_ids), mat)
        return gallery

    @classmethod
    def from_arrays(cls, person_ids: Sequence[str], templates: F32) -> Gallery:
        """Build from parallel sequences: ``templates`` is ``(n, 128)``."""
        mat = np.asarray(templates, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        if len(person_ids) != mat.shape[0]:
            raise ValueError("one person id per template")
        gallery = cls(capacity=max(16, mat.shape[0] + mat.shape[0] // 4))
        gallery._bulk(list(person_ids), mat)
        return gallery

    def _bulk(self, ids: list[str], mat: F32) -> None:
        n = mat.shape[0]
        if not mat.flags.writeable:
            # A view of the vault's read (from_packed): used as it is, without copying 100 MB
            # into a fresh matrix at 100,000 people; the first change copies it (_ensure).
            self._mat = mat
            self._norms = np.empty(n, dtype=np.float32)
            self._owner = np.empty(n, dtype=np.int64)
            self._scratch = np.zeros(n, dtype=np.float32)
        else:
            self._ensure(n)
            self._mat[:n] = mat
        np.einsum("ij,ij->i", self._mat[:n], self._mat[:n], out=self._norms[:n])
        # Row -> person numbers without a per-row Python step: people are numbered
        # in order of first appearance, which is also the order of the dict's keys.
        index: dict[str, int] = {p: i for i, p in enumerate(dict.fromkeys(ids))}
        self._owner[:n] = np.fromiter(map(index.__getitem__, ids), dtype=np.int64, count=n)
        self._index = index
        self._ids = list(index)
        counts = np.bincount(self._owner[:n], minlength=len(index)).tolist()
        self._counts = dict(zip(self._ids, counts, strict=True))
        self._n = n
        self._max_rows = max(counts, default=0)

    # -- size ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of templates."""
        return self._n

    @property
    def person_count(self) -> int:
        return len(self._counts)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._counts

    def person_ids(self) -> tuple[str, ...]:
        return tuple(self._counts)

    def _rows_of(self, person_id: str) -> npt.NDArray[np.intp]:
        """Row numbers of one person: a vectorised scan (~0.1 ms at 100k rows), cheaper than
        keeping a row list per person up to date through every move."""
        idx = self._index.get(person_id)
        if idx is None:
            return np.empty(0, dtype=np.intp)
        return np.flatnonzero(self._owner[: self._n] == idx)

    def templates_of(self, person_id: str) -> F32:
        with self._lock:
            return self._mat[self._rows_of(person_id)].copy()

    # -- mutation --------------------------------------------------------------------------------

    def _ensure(self, needed: int) -> None:
        """Room for ``needed`` rows in a matrix this gallery may write (a read-only view of
        the vault's read is copied here, at its first change)."""
        cap = self._mat.shape[0]
        if needed <= cap and self._mat.flags.writeable:
            return
        new_cap = max(needed, cap * 2, 16)
        mat = np.zeros((new_cap, EMBEDDING_DIM), dtype=np.float32)
        mat[: self._n] = self._mat[: self._n]
        norms = np.zeros(new_cap, dtype=np.float32)
        norms[: self._n] = self._norms[: self._n]
        owner = np.zeros(new_cap, dtype=np.int64)
        owner[: self._n] = self._owner[: self._n]
        self._mat, self._norms, self._owner = mat, norms, owner
        self._scratch = np.zeros(new_cap, dtype=np.float32)

    def add(self, person_id: str, templates: F32 | Sequence[Embedding]) -> int:
        """Append one person's templates (``(k, 128)`` or a list). Returns how many."""
        mat = np.asarray(templates, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        if not np.all(np.isfinite(mat)):
            raise ValueError("templates must be finite")
        k = mat.shape[0]
        with self._lock:
            self._ensure(self._n + k)
            idx = self._index.get(person_id)
            if idx is None:
                idx = self._free.pop() if self._free else len(self._ids)
                if idx == len(self._ids):
                    self._ids.append(person_id)
                else:
                    self._ids[idx] = person_id
                self._index[person_id] = idx
                self._counts[person_id] = 0
            start = self._n
            self._mat[start : start + k] = mat
            np.einsum("ij,ij->i", mat, mat, out=self._norms[start : start + k])
            self._owner[start : start + k] = idx
            self._counts[person_id] += k
            self._n += k
            if self._max_rows >= 0:
                self._max_rows = max(self._max_rows, self._counts[person_id])
        return k

    def remove(self, person_id: str) -> int:
        """Drop every template of ``person_id`` (withdrawal / erasure). Returns how many.

        Holes are filled with the last rows and the vacated tail is zeroed, so the erased
        values do not linger in the matrix."""
        with self._lock:
            if person_id not in self._counts:
                return 0
            self._ensure(self._n)  # a read-only view becomes this gallery's own copy
            rows = self._rows_of(person_id)
            del self._counts[person_id]
            idx = self._index.pop(person_id)
            self._ids[idx] = ""
            self._free.append(idx)
            # Descending, so a removed row sitting at the tail is simply dropped.
            for row in rows[::-1].tolist():
                last = self._n - 1
                if row != last:
                    self._mat[row] = self._mat[last]
                    self._norms[row] = self._norms[last]
                    self._owner[row] = self._owner[last]
                self._mat[last] = 0.0
                self._norms[last] = 0.0
                self._n -= 1
            if len(rows) >= self._max_rows:
                self._max_rows = -1  # recomputed lazily by the next search
            return len(rows)

    def replace(self, person_id: str, templates: F32 | Sequence[Embedding]) -> int:
        self.remove(person_id)
        return self.add(person_id, templates)

    # -- search ----------------------------------------------------------------------------------

    def search(
        self,
        query: Embedding,
        k: int = 5,
        *,
        max_distance: float | None = None,
        exclude: str | None = None,
    ) -> list[GalleryHit]:
        """The ``k`` nearest PEOPLE (each by their best template), nearest first."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(EMBEDDING_DIM)
        with self._lock:
            n = self._n
            if n == 0 or k <= 0:
                return []
            if self._max_rows < 0:
                self._max_rows = max(self._counts.values(), default=0)
            per_person = self._max_rows
            excl_rows = self._counts.get(exclude, 0) if exclude else 0
            # The k best people are among the k*per_person best rows (each person owns at most
            # per_person rows), plus room for the excluded person's rows.
            m = min(n, k * per_person + excl_rows)
            d2 = self._scratch[:n]
            # numpy's own SIMD kernel rather than BLAS sgemv: the product is memory-bound
            # (51 MB at 100k) and OpenBLAS's threaded gemv degrades badly when the other core
            # is busy (measured 8-12 ms median vs 2 ms on a loaded 2-core box); single-threaded
            # also leaves a core to the camera loop and the UI.
            np.einsum("ij,j->i", self._mat[:n], q, out=d2)
            d2 *= -2.0
            d2 += self._norms[:n]
            d2 += float(q @ q)
            if max_distance is not None:
                # Identification: only rows within the threshold matter; usually very few.
                limit = (max_distance + 1e-6) ** 2
                cand = np.flatnonzero(d2 <= limit)
                if cand.size > m:
                    cand = cand[np.argpartition(d2[cand], m - 1)[:m]]
            else:
                cand = np.argpartition(d2, m - 1)[:m] if m < n else np.arange(n)
            cand = cand[np.argsort(d2[cand], kind="stable")]
            dists = np.sqrt(np.maximum(d2[cand], 0.0))
            owners = self._owner[cand]
            # Names are resolved under the lock: a concurrent remove() renumbers rows.
            names = [self._ids[o] for o in dict.fromkeys(owners.tolist())]
            dist_by_owner: dict[int, float] = {}
            for owner, dist in zip(owners.tolist(), dists.tolist(), strict=True):
                dist_by_owner.setdefault(owner, dist)
        hits: list[GalleryHit] = []
        for person_id, dist in zip(names, dist_by_owner.values(), strict=True):
            if person_id == exclude:
                continue
            if max_distance is not None and dist > max_distance:
                break
            hits.append(GalleryHit(person_id, float(dist)))
            if len(hits) >= k:
                break
        return hits

    def identify(
        self, query: Embedding, *, threshold: float = MATCH_THRESHOLD, k: int = 3
    ) -> list[GalleryHit]:
        """People matching ``query`` (distance <= threshold), best first; empty = unknown."""
        return self.search(query, k, max_distance=threshold)

    def enrollment_warnings(
        self,
        templates: Sequence[Embedding] | F32,
        *,
        person_id: str | None = None,
        threshold: float = MATCH_THRESHOLD,
        margin: float = LOOKALIKE_MARGIN,
        k: int = 5,
    ) -> list[GalleryWarning]:
        """Duplicate / lookalike checks for templates about to be enrolled.

        A hit below ``threshold`` is a ``duplicate`` (probably the same person enrolled under
        another record); between ``threshold`` and ``threshold + margin`` a ``lookalike``.
        ``person_id`` (re-enrolling an existing person) is excluded. One warning per person,
        with the smallest distance over all given templates, nearest first."""
        best: dict[str, float] = {}
        for template in np.asarray(templates, dtype=np.float32).reshape(-1, EMBEDDING_DIM):
            for hit in self.search(template, k, max_distance=threshold + margin, exclude=person_id):
                if hit.distance < best.get(hit.person_id, np.inf):
                    best[hit.person_id] = hit.distance
        return [
            GalleryWarning("duplicate" if d < threshold else "lookalike", pid, d)
            for pid, d in sorted(best.items(), key=lambda item: item[1])
        ]
