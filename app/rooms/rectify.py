"""Rectification (issue 13; GDPR Art. 16, PIPL Art. 46): correcting a person's details.

Why a verb of its own: a misspelt name would otherwise stay on every document issued from now on.
The correction changes the person's record (documents issued after it carry the new value; those
issued before stay as they were, evidence of what was signed), the audit log records which fields
changed under the person's pseudonymous ID but never the old or new values (the log outlives an
erasure), and the person receives a signed receipt in their language.

Why it goes in the erasure ledger too: the correction must survive the restore of a backup taken
before it (Art. 16: a restore must not undo it), as a withdrawal or an erasure does. The ledger
entry carries the pseudonymous ID, the receipt's hash and the corrected values sealed under a
key only this vault can reach (:mod:`app.ledger_seal`); every open of an older copy re-applies
it (:mod:`app.replay`). The backups under ``<home>/backups`` are not rewritten at once (at
100,000 people that is minutes per correction): the purge at the next sign-in settles them
(``Finality.unsettled``), and a restore replays the ledger whatever the copy.
"""

from __future__ import annotations

from dataclasses import replace

from app.desk_types import RectificationResult
from app.errors import InvalidInput, NotFound
from app.finality import Finality
from app.models import Language, Person
from app.rooms.archive import Archive
from app.rooms.people import People
from app.session import Session
from app.validation import clean_name, clean_text, fold

FIELDS = ("name", "reference")


class Rectifications:
    """Corrects a person's name or reference and hands them a receipt."""

    def __init__(
        self, session: Session, people: People, archive: Archive, finality: Finality
    ) -> None:
        self._s = session
        self.people = people
        self.archive = archive
        self._finality = finality

    def rectify(
        self,
        person_id: str,
        *,
        name: str | None = None,
        reference: str | None = None,
        language: Language | None = None,
    ) -> RectificationResult:
        """``None`` leaves a field as it is; an empty ``reference`` removes it. Any staff member
        may correct details (the person is at the desk); nothing changes if nothing differs."""
        s = self._s
        before = self.people.get(person_id)
        after = before
        if name is not None:
            after = replace(after, name=clean_name(name, "name", limit=300))
        if reference is not None:
            after = replace(after, reference=clean_text(reference, "reference", limit=200) or None)
        fields = tuple(f for f in FIELDS if getattr(before, f) != getattr(after, f))
        if not fields:
            raise InvalidInput(
                "Nothing to correct: the details given are the ones already held.",
                code="rectify_nothing",
            )
        lang = language or before.language
        if lang not in ("en", "zh"):
            raise InvalidInput("The language must be en or zh.")
        now = s.now()
        doc_id = self.archive.new_id()
        with s.write() as conn:
            changed = conn.execute(
                "UPDATE people SET name = ?, name_fold = ?, reference = ? WHERE id = ?",
                (after.name, fold(after.name), after.reference, person_id),
            ).rowcount
            if changed != 1:  # erased by another session since it was read above
                raise NotFound(
                    "No such person (they may have been erased).", code="person_not_found"
                )
            self.people.touch(conn, person_id, now)
            s.audit.append(
                s.actor,
                "person.rectify",
                person_id,
                {"fields": list(fields), "receipt": doc_id},
                at=now,
            )
            pdf = self.archive.maker.rectification_receipt(
                org=s.organisation,
                before=before,
                after=after,
                fields=fields,
                operator=s.actor,
                corrected_at=now,
                language=lang,
                audit_events=s.audit.events(subject=person_id),
                document_id=doc_id,
            )
            receipt = self.archive.store(
                conn,
                doc_id=doc_id,
                kind="rectification_receipt",
                person_id=person_id,
                consent_id=None,
                language=lang,
                filename=self.archive.filename("rectification_receipt", doc_id),
                content=pdf,
                purpose_version_id=None,
            )
            # Ledger entry, before COMMIT: a restored older backup gets the correction again.
            self._finality.record(
                conn, "rectify", actor=s.actor, at=now, person_id=person_id,
                certificate_sha256=receipt.sha256, values={f: getattr(after, f) for f in fields},
            )  # fmt: skip
        person: Person = self.people.get(person_id)
        return RectificationResult(person=person, fields=fields, receipt=receipt)
