"""What the enrollment wizard has gathered so far, before anything is stored.

Why a plain mutable object in the UI: nothing reaches the vault until the operator presses
*Save* on the review page, so cancelling at any step is simply dropping this object. It turns
into the core's frozen ``EnrollmentRequest`` / ``RefusalRequest`` only at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.desk_types import EnrollmentRequest, PersonDetails, RefusalRequest
from app.models import (
    AgeBasis,
    Disclosure,
    EnrollmentWarning,
    Guardian,
    Language,
    LivenessResult,
    Purpose,
    Signature,
)
from app.purpose_texts import localized

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from app.bio.engine import Embedding


@dataclass
class Draft:
    name: str = ""
    reference: str = ""
    date_of_birth: dt.date | None = None
    age_basis: AgeBasis | None = None  # the operator's attestation when no date of birth
    language: Language = "en"
    purpose_id: int | None = None
    purpose: Purpose | None = None
    needs_guardian: bool = False
    disclosure: Disclosure | None = None
    decision: str | None = None  # "granted" | "refused"
    signature: Signature | None = None
    guardian: Guardian | None = None
    embeddings: list[Embedding] = field(default_factory=list)
    liveness: LivenessResult | None = None
    warnings: tuple[EnrollmentWarning, ...] = ()
    existing_person_id: str | None = None  # the same person, already in the registry
    paper_signed_on: dt.date | None = None  # signed on the printed form instead of the pad
    paper_scan: tuple[str, bytes] | None = None  # (file name, bytes) of that form's scan
    photo_jpeg: bytes | None = None  # only for purposes that keep photos
    photo_consent: bool = False  # the person's own tick on the decision page, before capture
    refusal_in_name: bool = False  # the person asked for their refusal to be kept in their name
    liveness_approval: str | None = None  # the core's token when an admin approved a skip
    thumbnail: QImage | None = None  # the captured face, shown on the review page only

    @property
    def refused(self) -> bool:
        return self.decision == "refused"

    def person_details(self) -> PersonDetails:
        return PersonDetails(
            name=self.name,
            reference=self.reference or None,
            date_of_birth=self.date_of_birth,
            language=self.language,
            age_basis=None if self.date_of_birth else self.age_basis,
        )

    def to_request(self, acknowledged: bool) -> EnrollmentRequest | RefusalRequest:
        """The core request for this draft (enrollment or refusal)."""
        assert self.purpose_id is not None and self.disclosure is not None
        if self.refused:
            return RefusalRequest(
                person=self.person_details(),
                purpose_id=self.purpose_id,
                disclosure_sha256=self.disclosure.sha256,
                # the alternative as offered, in the language the person read it in
                alternative=(
                    localized(self.purpose, self.language).alternative if self.purpose else ""
                ),
                signature=self.signature,
                guardian=self.guardian,
                existing_person_id=self.existing_person_id,
                in_name=self.refusal_in_name,
            )
        assert self.signature is not None
        return EnrollmentRequest(
            person=self.person_details(),
            purpose_id=self.purpose_id,
            disclosure_sha256=self.disclosure.sha256,
            signature=self.signature,
            embeddings=[list(map(float, e)) for e in self.embeddings],
            liveness=self.liveness,
            liveness_approval=self.liveness_approval,
            guardian=self.guardian,
            existing_person_id=self.existing_person_id,
            acknowledged_warnings=acknowledged,
            photo_jpeg=self.photo_jpeg if self.photo_consent else None,
            photo_consent=self.photo_consent and self.photo_jpeg is not None,
            paper_signed_on=self.paper_signed_on,
            paper_scan=self.paper_scan[1] if self.paper_scan else None,
            paper_scan_name=self.paper_scan[0] if self.paper_scan else None,
        )
