"""Faces: the ``templates`` table, the in-memory gallery of active templates and the engine.

Templates are read into the gallery on first use after unlock and kept in step with every
enrollment, withdrawal and erasure, so identification never sees a withdrawn face.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.db import checkpoint, fetch_all, fetch_columns, scalar
from app.desk_types import IdentifyResult
from app.errors import InvalidInput, NotFound, VaultCorrupt
from app.models import EnrollmentWarning, Match
from app.rooms.people import People
from app.rooms.settings import Settings
from app.session import Session
from app.validation import Embedding, embeddings_array

if TYPE_CHECKING:  # dlib, numpy and the gallery load on first use only
    import numpy as np

    from app.bio.engine import BioEngine, PhotoAnalysis
    from app.bio.gallery import Gallery
    from app.bio.images import RGBImage


# What a face search may look at (issue 13): one purpose's people (identification, duplicate
# checks), everyone's own templates at the withdrawal desk (to confirm who wants to withdraw,
# re-consent ones included), or every purpose (an admin's audited search, "all").
Scope = int | Literal["all", "withdrawal"]
SearchTask = Literal["identify", "duplicate_check", "withdrawal"]

# Template ids read per hold of the session lock when a gallery loads (about 0.1 s at 100,000
# people on the 2-core desk PC), and the chunk's query: one row per chunk of the id range, the
# ids and the 512-byte templates concatenated by SQLite (ids never hold a comma). At 100,000
# people a Python object per field of 198,000 rows cost as much as decrypting the pages; one
# row per chunk leaves only the pages (1.5-1.9 s -> 1.0-1.2 s for the read, measured).
GALLERY_CHUNK = 16384
_CHUNK_SQL = (
    "SELECT count(*) AS n, group_concat(person_id, ',') AS people, "
    "group_concat(consent_id, ',') AS consents, "
    "CAST(group_concat(embedding, '') AS BLOB) AS templates "
    "FROM (SELECT t.person_id, t.consent_id, t.embedding FROM templates t "
    "WHERE t.id > ? AND t.id <= ? ORDER BY t.id)"
)

PHOTO_BATCH = 8
"""Photos analysed together by :meth:`Faces.analyse_photos` callers (``identify`` with many
photos): one encoder forward pass for their faces. At most two batches of images (each at most
2048 px on the long side, see ``IMAGE_MAX_SIDE``) are in memory at once."""


class Faces:
    """Matches faces against the people who consented (active consents only), within the
    scope the task allows; every search leaves an audit entry (never the face)."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        people: People,
        engine: BioEngine | None = None,
        changed_elsewhere: Callable[[], bool] | None = None,
        engine_factory: Callable[[], BioEngine] | None = None,
    ) -> None:
        self._s = session
        # True once after another session (a second window, the CLI) committed to the vault:
        # the gallery is then reloaded so nobody withdrawn or erased there is matched here.
        self._changed_elsewhere = changed_elsewhere or (lambda: False)
        self._settings = settings
        self._people = people
        self._engine = engine
        self._engine_factory = engine_factory
        self._engine_lock = threading.Lock()
        self._owns_engine = False
        self._galleries: dict[Scope, Gallery] = {}
        self._generation = 0  # moves on with every change of templates in this desk

    # -- gallery ---------------------------------------------------------------------------
    @staticmethod
    def _matchable_sql(scope: Scope) -> tuple[str, list[Any]]:
        """The ids of the consents whose templates the scope may match, from the covering
        index ``consents_matchable`` (issue 12): no (wide) consent row is visited."""
        sql = "SELECT c.id FROM consents c WHERE c.status = 'active'"
        if scope != "withdrawal":  # issue-13: waiting for re-consent matches nothing else
            sql += " AND c.reconsent_due_at IS NULL"
        if isinstance(scope, int):
            sql += (
                " AND c.purpose_version_id IN (SELECT v.id FROM purpose_versions v "
                "WHERE v.purpose_id = ?)"
            )
            return sql, [scope]
        return sql, []

    @classmethod
    def _scope_sql(cls, scope: Scope) -> tuple[str, list[Any]]:
        """The scope's active templates in one query (one person's, with ``AND t.person_id``).
        ``+`` keeps SQLite from probing the templates once per consent."""
        matchable, args = cls._matchable_sql(scope)
        sql = (
            f"SELECT t.person_id, t.embedding FROM templates t WHERE +t.consent_id IN ({matchable})"
        )
        return sql, args

    def gallery(self, scope: Scope = "all") -> Gallery:
        """The in-memory matrix of the scope's active templates, loaded on first use.

        Read in chunks of :data:`GALLERY_CHUNK` templates, the session lock released between
        them (issue 12): at 100,000 people the whole read takes a second or more, and the
        registry's searches and sign-in's follow-ups must not wait for all of it. Anything that
        changes templates in this desk goes through :meth:`added`, :meth:`forget` or
        :meth:`reload`, which move :attr:`_generation` on; a read that saw that happen, or a
        change by another session, starts over, so a withdrawn face is never kept."""
        from app.bio.gallery import Gallery

        while True:
            with self._s.lock:
                self._note_elsewhere()
                gallery = self._galleries.get(scope)
                if gallery is not None:
                    return gallery
                generation = self._generation
            read = self._read_gallery(scope, generation)
            if read is None:
                continue
            with self._s.lock:
                self._note_elsewhere()
                if self._generation != generation:
                    continue
                gallery = Gallery.from_packed(*read)
                self._galleries[scope] = gallery
                return gallery

    def _note_elsewhere(self) -> None:
        """Under the session lock: another session committed, so every gallery is stale."""
        if self._changed_elsewhere():
            self._galleries.clear()
            self._generation += 1

    def _read_gallery(self, scope: Scope, generation: int) -> tuple[list[str], bytes] | None:
        """The scope's person ids and their templates packed end to end (512 bytes each, in
        the same order), or None when templates changed in this desk meanwhile. The matchable
        consents come first, from their covering index; then the templates table by id range,
        one chunk per hold of the lock (see :data:`_CHUNK_SQL`)."""
        from itertools import compress

        sql, args = self._matchable_sql(scope)
        with self._s.lock:
            if self._generation != generation:
                return None
            # One string, split in C: 100,000 rows as Python objects took 0.15-0.25 s.
            listed = scalar(self._s.conn, f"SELECT group_concat(id, ',') FROM ({sql})", args)
        matchable = set(str(listed).split(",")) if listed else set()
        people: list[str] = []
        packed: list[bytes] = []
        with self._s.lock:
            top = int(scalar(self._s.conn, "SELECT coalesce(max(id), 0) FROM templates"))
        low = 0
        while low < top:
            with self._s.lock:
                if self._generation != generation:
                    return None
                cols = fetch_columns(self._s.conn, _CHUNK_SQL, (low, low + GALLERY_CHUNK))
            low += GALLERY_CHUNK
            count = int(cols["n"][0])
            if not count:
                continue
            ids = str(cols["people"][0]).split(",")
            consents = str(cols["consents"][0]).split(",")
            joined = bytes(cols["templates"][0])
            if len(ids) != count or len(consents) != count or len(joined) != count * 512:
                raise VaultCorrupt("A face template in the vault is damaged (wrong length).")
            keep = [consent in matchable for consent in consents]
            if all(keep):
                people.extend(ids)
                packed.append(joined)
            else:
                people.extend(compress(ids, keep))
                pieces = (joined[i : i + 512] for i in range(0, len(joined), 512))
                packed.append(b"".join(compress(pieces, keep)))
        return people, b"".join(packed)

    def added(self, person_id: str, embeddings: np.ndarray, purpose_id: int) -> None:
        """Templates just committed for a person join the loaded galleries they belong to."""
        with self._s.lock:
            self._generation += 1
            for scope in ("all", "withdrawal", purpose_id):
                gallery = self._galleries.get(scope)
                if gallery is not None:
                    gallery.add(person_id, embeddings)

    def reload(self) -> None:
        """Forget every gallery; each is rebuilt from the vault on next use."""
        with self._s.lock:
            self._generation += 1
            self._galleries.clear()

    def active_templates(self, person_id: str, scope: Scope = "all") -> list[Embedding]:
        from app.bio.gallery import template_from_blob

        sql, args = self._scope_sql(scope)
        rows = fetch_all(self._s.conn, sql + " AND t.person_id = ?", [*args, person_id])
        return [template_from_blob(bytes(r["embedding"])) for r in rows]

    def forget(self, person_id: str) -> None:
        """Drop the person's withdrawn templates from memory (keeping those of other purposes
        still active) and fold the WAL so the deleted pages leave no copy behind."""
        with self._s.lock:
            self._generation += 1  # a gallery being read now starts over
            for scope, gallery in self._galleries.items():
                remaining = self.active_templates(person_id, scope)
                if remaining:
                    gallery.replace(person_id, remaining)
                else:
                    gallery.remove(person_id)
            checkpoint(self._s.conn)

    def _scope(self, task: SearchTask, purpose_id: int | None) -> Scope:
        """Decided in the core, for the UI and the CLI alike: identification and duplicate
        checks see one purpose's people; only an admin may search every purpose at once."""
        if task == "withdrawal":
            return "withdrawal"
        if purpose_id is None:
            self._s.require_admin()
            return "all"
        return int(purpose_id)

    def _audit_search(
        self, task: SearchTask, scope: Scope, person_ids: Sequence[str], source: str
    ) -> None:
        """Who searched, when, for which purpose and how many candidates came back: one entry
        for the search, and one per candidate under that person (their access report lists
        them as "who looked you up"). The face itself is never written anywhere."""
        s = self._s
        details = {
            "task": task,
            "purpose": scope if isinstance(scope, int) else None,
            "scope": scope if isinstance(scope, str) else "purpose",
            "candidates": len(person_ids),
            "source": source,
        }

        def write() -> None:
            seq = s.audit.append(s.actor, "face.search", None, details)
            for rank, pid in enumerate(person_ids, 1):
                s.audit.append(
                    s.actor, "face.search.hit", pid, {**details, "search": seq, "rank": rank}
                )

        with s.lock:
            if s.conn.in_transaction:  # a verb's own re-check: commits (or not) with it
                write()
                return
            with s.write():
                write()

    # -- engine ----------------------------------------------------------------------------
    @property
    def engine(self) -> BioEngine:
        """The dlib engine (one worker thread owns the models; see ``app.bio.engine``).

        Its own lock, not the session's: loading the models takes a second or two, and the
        registry, a gallery load or a sign-in's follow-up reads must not wait for it. The UI
        passes ``engine_factory`` (its one shared engine, loaded in the background after the
        registry shows); the first face task waits for it here."""
        with self._engine_lock:
            if self._engine is None:
                if self._engine_factory is not None:
                    self._engine = self._engine_factory()
                else:
                    from app.bio.engine import BioEngine

                    self._engine = BioEngine.create()
                    self._owns_engine = True
            return self._engine

    def close(self) -> None:
        """At lock: forget the gallery and close the engine if this desk loaded it (a shared
        engine passed in by the UI outlives the desk)."""
        self._gallery = None
        if self._owns_engine and self._engine is not None:
            self._engine.close()
            self._engine = None

    # -- matching --------------------------------------------------------------------------
    def widest_distance(self, embeddings: Sequence[Sequence[float]] | Embedding) -> float:
        """The largest distance between any two of one person's templates (0 for one)."""
        probe = embeddings_array(embeddings)
        if probe.shape[0] < 2:
            return 0.0
        import numpy as np

        diff = probe[:, None, :] - probe[None, :, :]
        return float(np.sqrt((diff * diff).sum(axis=2)).max())

    def check_same_person(self, embeddings: Sequence[Sequence[float]] | Embedding) -> None:
        """Several photos given for one person must show one person: every pair of templates
        within the match threshold. Otherwise two people would be enrolled as one, and either
        would then be recognised under the other's consent."""
        if self.widest_distance(embeddings) >= self._settings.get_float("match_threshold"):
            raise InvalidInput(
                "The photos do not show the same person; give photos of one person only.",
                code="photos_differ",
            )

    def check_duplicates(
        self,
        embeddings: Sequence[Sequence[float]] | Embedding,
        exclude_person: str | None = None,
        purpose_id: int | None = None,
        source: str = "core",
        same_as: Sequence[EnrollmentWarning] | None = None,
    ) -> tuple[EnrollmentWarning, ...]:
        """Duplicate: the face is already enrolled for this purpose (under the match threshold).
        Lookalike: someone else within the threshold plus a margin (twins, relatives).
        ``same_as``: the result of this very search moments ago (an enrollment repeats it under
        the writer lock); the repeat is audited only when it found someone else, so one
        enrollment or import row is one search in the audit and the person's access report."""
        probe = embeddings_array(embeddings)
        if not probe.shape[0]:
            return ()
        scope = self._scope("duplicate_check", purpose_id)
        hits = self.gallery(scope).enrollment_warnings(
            probe,
            person_id=exclude_person,
            threshold=self._settings.get_float("match_threshold"),
            margin=self._settings.get_float("lookalike_margin"),
        )
        found = [h.person_id for h in hits]
        if same_as is None or found != [w.person_id for w in same_as]:
            self._audit_search("duplicate_check", scope, found, source)
        return tuple(
            EnrollmentWarning(
                h.kind, h.person_id, self._people.get(h.person_id).name, round(h.distance, 4)
            )
            for h in hits
        )

    def identify_embedding(
        self,
        embedding: Sequence[float] | Embedding,
        k: int = 5,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        source: str = "core",
    ) -> list[Match]:
        """Candidates within the match threshold, best first, in the task's scope. At the
        withdrawal desk only the best one comes back: it is shown to confirm the person."""
        import numpy as np

        scope = self._scope(task, purpose_id)
        probe = embeddings_array(np.asarray(embedding, dtype=np.float32).reshape(1, -1))[0]
        out = []
        threshold = self._settings.get_float("match_threshold")
        k = 1 if task == "withdrawal" else k
        for hit in self.gallery(scope).identify(probe, threshold=threshold, k=k):
            try:  # erased by another session since the gallery was read: no longer held
                person = self._people.get(hit.person_id)
            except NotFound:
                continue
            out.append(Match(hit.person_id, person.name, person.reference, round(hit.distance, 4)))
        self._audit_search(task, scope, [m.person_id for m in out], source)
        return out

    def analyse_photo(self, source: Path | bytes) -> PhotoAnalysis:
        """Load a photo (EXIF-corrected, size-checked) and find faces with their templates.

        Bad files raise :class:`InvalidInput` with the loader's clear message."""
        return self.engine.analyse_photo(self.load_photo(source))

    @staticmethod
    def load_photo(source: Path | bytes) -> RGBImage:
        """The photo as RGB (EXIF-corrected, size-checked); :class:`InvalidInput` if bad."""
        from app.bio.errors import BioError
        from app.bio.images import load_image

        try:
            label = Path(source).name if isinstance(source, Path | str) else None
            return load_image(source, label=label)
        except BioError as exc:
            # "bio_<code>": the UI translates the engine's stable codes.
            raise InvalidInput(exc.message, code=f"bio_{exc.code}") from None

    def analyse_photos(
        self, sources: Sequence[Path | bytes | RGBImage | InvalidInput]
    ) -> list[PhotoAnalysis | InvalidInput]:
        """:meth:`analyse_photo` for several photos with one batched encoder run over all their
        faces (bulk import, ``identify`` with many photos): same results, in order. A photo
        that cannot be read gives its :class:`InvalidInput` in its place instead of stopping
        the others. Already loaded images (or a loading error) may be passed in."""
        loaded: list[RGBImage | InvalidInput] = []
        for source in sources:
            if isinstance(source, Path | str | bytes):
                try:
                    loaded.append(self.load_photo(source))
                except InvalidInput as exc:
                    loaded.append(exc)
            else:
                loaded.append(source)
        images = [x for x in loaded if not isinstance(x, InvalidInput)]
        analyses = iter(self.engine.analyse_photos(images) if images else [])
        return [x if isinstance(x, InvalidInput) else next(analyses) for x in loaded]

    def identify_photos(
        self,
        sources: Sequence[Path | bytes],
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> Iterator[IdentifyResult]:
        """:meth:`identify_photo` for many photos, one result per photo, in order, as soon as
        its batch is done (the CLI prints while the next batch runs).

        Why batches with a loader thread: the encoder costs less per face in a batch of
        :data:`PHOTO_BATCH` (one forward pass), and decoding the next batch's JPEGs (C code
        that releases the GIL) overlaps the engine's detection of this one on the other core.
        Refused (scope, role) before any photo is read."""
        self._scope(task, purpose_id)
        return self._identify_batches(list(sources), purpose_id, task, origin)

    def _identify_batches(
        self, sources: list[Path | bytes], purpose_id: int | None, task: SearchTask, origin: str
    ) -> Iterator[IdentifyResult]:
        from concurrent.futures import ThreadPoolExecutor

        def load(batch: Sequence[Path | bytes]) -> list[RGBImage | InvalidInput]:
            out: list[RGBImage | InvalidInput] = []
            for source in batch:
                try:
                    out.append(self.load_photo(source))
                except InvalidInput as exc:
                    out.append(exc)
            return out

        batches = [sources[i : i + PHOTO_BATCH] for i in range(0, len(sources), PHOTO_BATCH)]
        if not batches:
            return
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="photo-load") as loader:
            # The gallery is read on a second helper thread from the start, while the first
            # photos are decoded, the models load and the first batch is analysed (at 100,000
            # people a read of about a second). Its result is awaited before the first match,
            # so the match uses this read and never starts a second one.
            reading = loader.submit(self.gallery, self._scope(task, purpose_id))
            ahead = loader.submit(load, batches[0])
            for k in range(len(batches)):
                loaded = ahead.result()
                if k + 1 < len(batches):
                    ahead = loader.submit(load, batches[k + 1])
                analyses = self.analyse_photos(loaded)
                reading.result()
                for analysis in analyses:
                    if isinstance(analysis, InvalidInput):
                        yield IdentifyResult("error", (), str(analysis))
                    else:
                        yield self.identify_analysis(analysis, purpose_id, task, origin)

    def identify_image(
        self,
        rgb: RGBImage,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> IdentifyResult:
        """1:N identification of the face in an RGB image (a photo or a camera frame)."""
        self._scope(task, purpose_id)  # refused before any work
        return self.identify_analysis(self.engine.analyse_photo(rgb), purpose_id, task, origin)

    def identify_photo(
        self,
        source: Path | bytes,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> IdentifyResult:
        self._scope(task, purpose_id)  # refused before the photo is read
        try:
            analysis = self.analyse_photo(source)
        except InvalidInput as exc:
            return IdentifyResult("error", (), str(exc))
        return self.identify_analysis(analysis, purpose_id, task, origin)

    def identify_analysis(
        self,
        analysis: PhotoAnalysis,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> IdentifyResult:
        if analysis.face_count == 0:
            return IdentifyResult("no_face", (), "No face was found.")
        if analysis.face_count > 1:
            return IdentifyResult(
                "several_faces", (), f"{analysis.face_count} faces were found; show one person."
            )
        candidates = tuple(
            self.identify_embedding(
                analysis.single_encoding(), purpose_id=purpose_id, task=task, source=origin
            )
        )
        if candidates:
            return IdentifyResult(
                "match", candidates, f"Best match at distance {candidates[0].distance:.3f}."
            )
        return IdentifyResult("no_match", (), "Nobody enrolled matches this face.")
