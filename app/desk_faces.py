"""The face search verbs of ``Desk``: one-line calls into ``desk.faces`` (``app.rooms.faces``).

Why apart from ``app.desk``: they are the largest group of the facade's verbs, all over one
room, and issue 13 bound every one of them to a task (a purpose, the withdrawal desk, or an
admin's search of every purpose when ``purpose_id`` is None), each search audited. ``Desk``
inherits them, so ``desk.identify_photo(...)`` and the rest keep working for every caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.desk_types import IdentifyResult
from app.models import EnrollmentWarning, Match
from app.rooms.faces import Faces, Scope, SearchTask
from app.validation import Embedding

if TYPE_CHECKING:
    from app.bio.engine import BioEngine, PhotoAnalysis
    from app.bio.gallery import Gallery
    from app.bio.images import RGBImage


class FaceVerbs:
    """Mixed into ``Desk``, which builds ``faces``."""

    faces: Faces

    # issue-13: every search is bound to what its task allows (a purpose, the withdrawal desk,
    # or an admin's search of every purpose when ``purpose_id`` is None) and is audited.
    def check_duplicates(
        self,
        embeddings: Sequence[Sequence[float]] | Embedding,
        exclude_person: str | None = None,
        purpose_id: int | None = None,
        origin: str = "core",
    ) -> tuple[EnrollmentWarning, ...]:
        return self.faces.check_duplicates(embeddings, exclude_person, purpose_id, origin)

    def identify_embedding(
        self,
        embedding: Sequence[float] | Embedding,
        k: int = 5,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> list[Match]:
        return self.faces.identify_embedding(embedding, k, purpose_id, task, origin)

    def gallery(self, scope: Scope = "all") -> Gallery:
        return self.faces.gallery(scope)

    @property
    def face_engine(self) -> BioEngine:
        return self.faces.engine

    def analyse_photo(self, source: Path | bytes) -> PhotoAnalysis:
        return self.faces.analyse_photo(source)

    def identify_image(
        self,
        rgb: RGBImage,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> IdentifyResult:
        return self.faces.identify_image(rgb, purpose_id, task, origin)

    def identify_photo(
        self,
        source: Path | bytes,
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> IdentifyResult:
        return self.faces.identify_photo(source, purpose_id, task, origin)

    def identify_photos(
        self,
        sources: Sequence[Path | bytes],
        purpose_id: int | None = None,
        task: SearchTask = "identify",
        origin: str = "core",
    ) -> Iterator[IdentifyResult]:
        return self.faces.identify_photos(sources, purpose_id, task, origin)
