"""Re-consent after a material purpose change (issue 13): who must be asked again, the short
path that renews a consent without a new capture, and destroying what nobody renewed in time.

A renewed consent is a new consent row for the current purpose version with its own signature,
text hash and form; the kept templates (and a kept photo, if the new version keeps photos and the
person agreed again) move to it, and the old consent ends as "withdrawn", superseded. Nothing is
captured, so the form carries the liveness result of the capture the templates came from.
"""

from __future__ import annotations

import datetime as dt
import json

from app.db import Connection, fetch_all, scalar
from app.desk_types import PersonDetails, ReconsentRequest
from app.disclosure import render_disclosure
from app.errors import InvalidInput, VaultError
from app.finality import Finality
from app.models import Consent, DocumentInfo, EnrollmentResult
from app.photoscrub import reissue_without_photos
from app.purpose_texts import require_language
from app.rooms.consents import Consents
from app.rooms.materiality import (
    PURPOSE_TEXT_FIELDS,
    PurposeDifference,
    differences,
    supersede,
)
from app.session import Session
from app.stored import pack_strokes, text_column
from app.validation import check_signature
from app.values import _iso, _new_id

# The actor of what the clock does on its own (same as retention's).
LAPSE_ACTOR = "retention"
LAPSE_REASON = "re-consent not given within the grace period"


class Reconsents:
    """Renews consents that a material purpose change put into "re-consent needed"."""

    def __init__(self, session: Session, consents: Consents) -> None:
        self._s = session
        self._consents = consents

    def differences(self, consent_id: str) -> tuple[PurposeDifference, ...]:
        """What changed between the version the person signed and the current one."""
        consent = self._consents.get(consent_id)
        purposes = self._consents.purposes
        old = purposes.version(consent.purpose_version_id)
        return differences(old, purposes.get(consent.purpose_id), PURPOSE_TEXT_FIELDS)

    def renew(self, request: ReconsentRequest) -> EnrollmentResult:
        """The person signed the current version: a new consent takes over the kept templates."""
        s, consents = self._s, self._consents
        now = s.now()
        old = consents.get(request.consent_id)
        if old.status != "reconsent":
            raise InvalidInput(
                "This consent does not need to be given again.", code="no_reconsent_needed"
            )
        if not old.template_count:
            raise InvalidInput(
                "The face templates of this consent are gone; enroll the person again.",
                code="templates_gone",
            )
        purpose = consents.purposes.get(old.purpose_id)
        consents.require_necessity(purpose)
        person = consents.people.get(old.person_id)
        language = old.language
        require_language(purpose, language)
        disclosure = render_disclosure(purpose, s.organisation, language)
        if disclosure.sha256 != request.disclosure_sha256:
            raise InvalidInput(
                "The disclosure text changed since it was shown (the purpose was edited). "
                "Show the current text to the person again.",
                code="disclosure_changed",
            )
        check_signature(request.signature, "signature")
        details = PersonDetails(person.name, person.reference, person.date_of_birth, language)
        consents.check_guardian(details, request.guardian)
        keep_photo = bool(old.photo_count and purpose.keep_photos and request.photo_consent)
        expires = consents.expiry(purpose, now)
        new_id = _new_id("C")
        with s.write() as conn:
            conn.execute(
                "INSERT INTO consents (id, person_id, purpose_version_id, language, "
                "disclosure_text, text_sha256, decision, status, signature, guardian_name, "
                "guardian_signature, liveness, operator, signed_at, expires_at, photo_consent) "
                "VALUES (?,?,?,?,?,?,'granted','active',?,?,?,?,?,?,?,?)",
                (
                    new_id,
                    person.id,
                    purpose.version_id,
                    language,
                    text_column(conn, disclosure.text, disclosure.sha256),  # issue 12
                    disclosure.sha256,
                    pack_strokes(request.signature.to_json()),  # issue 12: compressed
                    request.guardian.name if request.guardian else None,
                    pack_strokes(
                        request.guardian.signature.to_json() if request.guardian else None
                    ),
                    json.dumps(old.liveness.to_json()) if old.liveness else None,
                    s.actor,
                    _iso(now),
                    _iso(expires),
                    # issue-13: the photo question is asked again, never carried over
                    int(request.photo_consent) if purpose.keep_photos else None,
                ),
            )
            moved = conn.execute(
                "UPDATE templates SET consent_id = ? WHERE consent_id = ?", (new_id, old.id)
            ).rowcount
            photo = None
            if keep_photo:
                conn.execute(
                    "UPDATE photos SET consent_id = ? WHERE consent_id = ?", (new_id, old.id)
                )
                row = conn.execute(
                    "SELECT image FROM photos WHERE consent_id = ? LIMIT 1", (new_id,)
                ).fetchone()
                photo = bytes(row[0]) if row else None
            elif old.photo_count:  # the old form printed the photo: re-issued without it
                reissue_without_photos(
                    conn, [old], maker=consents.archive.maker, org=s.organisation,
                    person=person, purpose_of=consents.purposes.version, audit=s.audit,
                    actor=s.actor, now=now,
                )  # fmt: skip
            # The status change destroys what stayed with the old consent (database trigger):
            # a photo the person did not agree again to keep goes now, and the new form says so.
            supersede(conn, [old.id], new_id, s.actor, now)
            photos_deleted = 0 if keep_photo else old.photo_count
            consents.people.touch(conn, person.id, now)
            s.audit.append(
                s.actor,
                "consent.reconsent",
                person.id,
                {
                    "consent": new_id,
                    "renews": old.id,
                    "purpose": purpose.id,
                    "purpose_version": purpose.version,
                    "from_version": old.purpose_version,
                    "text_sha256": disclosure.sha256,
                    "templates_kept": int(moved),
                    "photo_kept": photo is not None,
                    "photos_deleted": photos_deleted,
                },
                at=now,
            )
            new = consents.get(new_id)
            doc_id = consents.archive.new_id()
            pdf = consents.archive.maker.consent_form(
                org=s.organisation,
                purpose=purpose,
                person=person,
                consent=new,
                disclosure=disclosure,
                signature=request.signature,
                guardian=request.guardian,
                photo=photo,
                audit_events=s.audit.events(subject=person.id),
                document_id=doc_id,
                renews=old,
                photo_destroyed=photos_deleted > 0,
            )
            doc = consents.archive.store(
                conn,
                doc_id=doc_id,
                kind="consent_form",
                person_id=person.id,
                consent_id=new_id,
                language=language,
                filename=consents.archive.filename("consent_form", doc_id),
                content=pdf,
                purpose_version_id=purpose.version_id,
            )
        consents.faces.reload()  # the kept templates match again
        docs: tuple[DocumentInfo, ...] = (doc,)
        return EnrollmentResult(person, consents.get(new_id), int(moved), (), docs)


# issue 12: through the partial index on the due date, so a purge with nothing due stays one
# index probe (the planner otherwise walked every active consent via consents_status).
LAPSE_DUE_SQL = (
    "SELECT id, person_id FROM consents INDEXED BY consents_reconsent WHERE status = 'active' "
    "AND reconsent_due_at IS NOT NULL AND reconsent_due_at <= ? ORDER BY person_id"
)


def lapse_due(
    conn: Connection, session: Session, consents: Consents, finality: Finality, now: dt.datetime
) -> tuple[list[str], int]:
    """Inside the purge's transaction: consents whose re-consent grace period ended are ended
    like a withdrawal (templates and photos destroyed, ledger entry, audit entry per person)."""
    rows = fetch_all(
        conn,
        LAPSE_DUE_SQL,
        (_iso(now),),
    )
    by_person: dict[str, list[str]] = {}
    for r in rows:
        by_person.setdefault(str(r["person_id"]), []).append(str(r["id"]))
    all_ids: list[str] = []
    total = 0
    for person_id, ids in by_person.items():
        marks = ",".join("?" * len(ids))
        templates = int(
            scalar(conn, f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids)
        )
        with_photo: list[Consent] = [c for c in map(consents.get, ids) if c.photo_count]
        conn.execute(
            f"UPDATE consents SET status = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
            f"withdraw_reason = ? WHERE id IN ({marks})",
            [_iso(now), LAPSE_ACTOR, LAPSE_REASON, *ids],
        )
        if scalar(conn, f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids):
            raise VaultError("Templates survived the end of a re-consent period.")
        photos = 0
        if with_photo:
            photos = reissue_without_photos(
                conn, with_photo, maker=consents.archive.maker, org=session.organisation,
                person=consents.people.get(person_id), purpose_of=consents.purposes.version,
                audit=session.audit, actor=LAPSE_ACTOR, now=now,
            )  # fmt: skip
        session.audit.append(
            LAPSE_ACTOR,
            "consent.reconsent_lapse",
            person_id,
            {"consents": ids, "templates_deleted": templates, "photos_deleted": photos},
            at=now,
        )
        finality.record(  # ledger entry, before COMMIT: a restored backup obeys it too
            conn, "withdraw", actor=LAPSE_ACTOR, at=now, person_id=person_id,
            consent_ids=ids, destroyed={"templates": templates, "photos": photos},
        )  # fmt: skip
        all_ids += ids
        total += templates
    return all_ids, total
