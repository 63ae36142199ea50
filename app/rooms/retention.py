"""Retention: withdrawal, erasure, expiry, and what a person may ask to see (``erasures``).

Withdrawal deletes the face templates at once; erasure deletes every personal row and leaves
only the pseudonymous audit trail and an ``erasures`` row, so the certificate handed to the
person can still be verified; purging applies both on the clock's time, never on a guess.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from app.clockguard import ClockGuard, ClockHold
from app.db import Connection, checkpoint, fetch_all, scalar
from app.desk_types import PersonExport
from app.devices.notices import revocation_notices
from app.documents.outcome import Outcome
from app.errors import InvalidInput, VaultError
from app.finality import Finality
from app.ledger import LedgerSpec
from app.models import (
    REQUESTED_BY,
    Consent,
    DocumentInfo,
    ErasureResult,
    FaceSearch,
    Person,
    PurgeResult,
    RequestedBy,
    WithdrawalResult,
)
from app.photoscrub import reissue_without_photos
from app.readonly import audit_or_defer
from app.rooms.consents import Consents
from app.rooms.people import batch_counts, person_counts
from app.rooms.reconsent import lapse_due
from app.session import Session
from app.validation import clean_text
from app.values import _iso

# The actor written into the audit log for what the clock does on its own.
RETENTION_ACTOR = "retention"

# issue 12: purging works in transactions of this many consents or people.
PURGE_BATCH = 200
# Active consents past their date, oldest first: a range of the consents_status index.
DUE_CONSENTS_SQL = (
    "SELECT id FROM consents INDEXED BY consents_status "
    "WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?"
)
# People to erase: someone with an expired consent (consents_status_person) or not seen since
# the cut-off (people_last_interaction), unless they still hold an active consent.
DUE_PEOPLE_SQL = (
    "SELECT d.id FROM (SELECT person_id AS id FROM consents INDEXED BY consents_status_person "
    "WHERE status = 'expired' UNION SELECT id FROM people INDEXED BY people_last_interaction "
    "WHERE last_interaction_at <= ?) d "
    "WHERE EXISTS (SELECT 1 FROM people p WHERE p.id = d.id) "
    "AND NOT EXISTS (SELECT 1 FROM consents a INDEXED BY consents_person "
    "WHERE a.person_id = d.id AND a.status = 'active')"
)
# What an erasure deletes, children first (the order of ``_erase``).
_PERSON_TABLES = (
    ("templates", "person_id"),
    ("photos", "person_id"),
    ("documents", "person_id"),
    ("consents", "person_id"),
    ("people", "id"),
)


class Retention:
    """Ends what people agreed to: withdraw, erase, expire; and exports what is held."""

    def __init__(
        self, session: Session, consents: Consents, finality: Finality, clock: ClockGuard
    ) -> None:
        self._s = session
        # Issue 10: the erasure ledger and the backups under <home> (``finality``), and the
        # clock check that holds purging after a jump (``clock``; ``clock_hold`` says why).
        self._finality = finality
        self._clock = clock
        self.clock_hold: ClockHold | None = None
        self._consents = consents
        self._people = consents.people
        self._purposes = consents.purposes
        self._archive = consents.archive
        self._faces = consents.faces
        self._settings = consents.settings

    # -- withdrawal ------------------------------------------------------------------------
    def withdraw(
        self,
        person_id: str,
        reason: str,
        purpose_id: int | None = None,
        requested_by: RequestedBy = "person",
    ) -> WithdrawalResult:
        """Withdraw active consents (all, or one purpose's): templates are deleted at once.
        ``requested_by`` (the person or a representative) is printed on the receipt."""
        s = self._s
        _check_requester(requested_by, ("person", "representative"))
        reason_text = clean_text(reason, "reason", required=True, limit=500) or ""
        now = s.now()
        person = self._people.get(person_id)
        with s.write() as conn:
            sql = (
                "SELECT c.id FROM consents c JOIN purpose_versions v "
                "ON v.id = c.purpose_version_id WHERE c.person_id = ? AND c.status = 'active'"
            )
            args: list[Any] = [person_id]
            if purpose_id is not None:
                sql += " AND v.purpose_id = ?"
                args.append(purpose_id)
            ids = [r["id"] for r in fetch_all(conn, sql, args)]
            if not ids:
                raise InvalidInput(
                    "This person has no active consent to withdraw.", code="no_active_consent"
                )
            marks = ",".join("?" * len(ids))
            templates = int(
                scalar(conn, f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids)
            )
            # Read before the update: the photos go with the status change (database trigger).
            with_photo = [c for c in map(self._consents.get, ids) if c.photo_count]
            conn.execute(
                f"UPDATE consents SET status = 'withdrawn', withdrawn_at = ?, withdrawn_by = ?, "
                f"withdraw_reason = ? WHERE id IN ({marks})",
                [_iso(now), s.actor, reason_text, *ids],
            )
            left = scalar(
                conn, f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", ids
            )
            if left:
                raise VaultError("Templates survived the withdrawal; nothing was changed.")
            photos = reissue_without_photos(  # the stored form loses the photo too
                conn, with_photo, maker=self._archive.maker, org=s.organisation, person=person,
                purpose_of=self._purposes.version, audit=s.audit, actor=s.actor, now=now,
            )  # fmt: skip
            self._people.touch(conn, person_id, now)
            s.audit.append(
                s.actor,
                "consent.withdraw",
                person_id,
                {"consents": ids, "templates_deleted": templates, "reason_given": True},
                at=now,
            )
            still = int(scalar(
                conn, "SELECT count(*) FROM consents WHERE person_id = ? AND status = 'active'",
                (person_id,),
            ))  # fmt: skip
            days = self._settings.get_int("max_inactivity_days")
            outcome = Outcome(
                requested_by, self._finality.backups_held(),
                None if still else now + dt.timedelta(days=days), still,
                revocation_notices(conn, ids), self._settings.get_int("device_overdue_hours"),
            )  # fmt: skip
            receipt = self._withdrawal_document(
                conn, person, tuple(ids), templates, reason_text, now, outcome,
                photos={c.id: c.photo_count for c in with_photo},
            )  # fmt: skip
            # Ledger entry, before COMMIT, with the receipt's hash like a certificate's: a
            # restore (or a later erasure) that loses the stored receipt cannot unmake it.
            self._finality.record(
                conn, "withdraw", actor=s.actor, at=now, person_id=person_id,
                consent_ids=ids, destroyed={"templates": templates, "photos": photos},
                certificate_sha256=receipt.sha256,
            )  # fmt: skip
        self._faces.forget(person_id)
        self._finality.settle(s.actor)  # the backups under <home> obey the withdrawal
        return WithdrawalResult(person_id, tuple(ids), templates, now, receipt)

    def _withdrawal_document(
        self,
        conn: Connection,
        person: Person,
        ids: tuple[str, ...],
        templates: int,
        reason: str,
        now: dt.datetime,
        outcome: Outcome,
        photos: Mapping[str, int] | None = None,
    ) -> DocumentInfo:
        s, archive = self._s, self._archive
        # The receipt counts the photos destroyed (their rows are gone by now).
        counts = photos or {}
        consents = [replace(self._consents.get(i), photo_count=counts.get(i, 0)) for i in ids]
        purposes = [self._purposes.version(c.purpose_version_id) for c in consents]
        doc_id = archive.new_id()
        result = WithdrawalResult(person.id, ids, templates, now, None)
        pdf = archive.maker.withdrawal_receipt(
            org=s.organisation,
            person=person,
            result=result,
            consents=consents,
            purposes=purposes,
            operator=s.actor,
            reason=reason,
            language=person.language,
            audit_events=s.audit.events(subject=person.id),
            document_id=doc_id,
            outcome=outcome,
        )
        return archive.store(
            conn,
            doc_id=doc_id,
            kind="withdrawal_receipt",
            person_id=person.id,
            consent_id=ids[0],
            language=person.language,
            filename=archive.filename("withdrawal_receipt", doc_id),
            content=pdf,
        )

    # -- erasure ---------------------------------------------------------------------------
    def erase(
        self,
        person_id: str,
        reason: str = "request of the person",
        requested_by: RequestedBy = "person",
    ) -> ErasureResult:
        """Delete every personal field, document, photo and template of a person.

        What remains: the pseudonymous audit trail and an ``erasures`` row (person ID, time, who,
        row counts) so the certificate can be verified later. The WAL is checkpointed and
        truncated so no page anywhere still holds the data (secure_delete zeroes freed pages).
        """
        self._s.require_admin()
        _check_requester(requested_by, ("person", "representative", "admin"))
        result = self._erase(person_id, reason, self._s.actor, requested_by)
        self._finality.settle(self._s.actor)  # the backups under <home> obey the erasure
        return result

    def _erase(
        self, person_id: str, reason: str, actor: str, requested_by: RequestedBy
    ) -> ErasureResult:
        s = self._s
        reason_text = clean_text(reason, "reason", required=True, limit=500) or ""
        now = s.now()
        person = self._people.get(person_id)
        consents = self._consents.of_person(person_id)
        with s.write() as conn:
            before = person_counts(conn, person_id)
            conn.execute("DELETE FROM templates WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM photos WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM documents WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM consents WHERE person_id = ?", (person_id,))
            conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
            after = person_counts(conn, person_id)
            if any(after.values()):
                raise VaultError("Erasure left rows behind; nothing was changed.")
            outcome = Outcome(
                requested_by, self._finality.backups_held(),
                devices=revocation_notices(conn, [c.id for c in consents]),
                device_hours=self._settings.get_int("device_overdue_hours"),
            )  # fmt: skip
            certificate = self._erasure_certificate(
                person, consents, before, after, now, actor, outcome
            )
            cert_sha = hashlib.sha256(certificate).hexdigest()
            conn.execute(
                "INSERT OR REPLACE INTO erasures (person_id, erased_at, erased_by, reason, counts, "
                "certificate_sha256) VALUES (?,?,?,?,?,?)",
                (
                    person_id,
                    _iso(now),
                    actor,
                    reason_text,
                    json.dumps({"before": before, "after": after}),
                    cert_sha,
                ),
            )
            s.audit.append(
                actor,
                "person.erase",
                person_id,
                {"before": before, "after": after, "certificate_sha256": cert_sha},
                at=now,
            )
            self._finality.record(  # ledger entry, before COMMIT
                conn, "erase", actor=actor, at=now, person_id=person_id,
                consent_ids=[c.id for c in consents], destroyed=before,
                certificate_sha256=cert_sha,
            )  # fmt: skip
        self._faces.forget(person_id)
        return ErasureResult(person_id, now, actor, before, after, None, certificate)

    def _erasure_certificate(
        self,
        person: Person,
        consents: list[Consent],
        before: Mapping[str, int],
        after: Mapping[str, int],
        now: dt.datetime,
        actor: str,
        outcome: Outcome,
    ) -> bytes:
        """Made from values captured before deletion; handed over, not kept (it names them)."""
        s, archive = self._s, self._archive
        purposes = [self._purposes.version(c.purpose_version_id) for c in consents]
        result = ErasureResult(person.id, now, actor, dict(before), dict(after))
        return archive.maker.erasure_certificate(
            org=s.organisation,
            person=person,
            result=result,
            consents=consents,
            purposes=purposes,
            language=person.language,
            audit_events=s.audit.events(subject=person.id),
            document_id=archive.new_id(),
            outcome=outcome,
        )

    # -- the clock's own work --------------------------------------------------------------
    def check_clock(self) -> ClockHold | None:
        """At sign-in: hold automatic purging when the clock jumped since the vault last saw
        it; otherwise the current time becomes the last time seen."""
        s = self._s
        self.clock_hold = self._clock.check()
        if self.clock_hold is None:
            with s.write() as conn:
                self._clock.remember(conn, s.now())
        return self.clock_hold

    def purge_expired(self, confirm_clock: bool = False) -> PurgeResult:
        """Apply retention: expire consents past their date (templates go at once) and erase
        people whose last consent expired or whom nobody has seen for the maximum period.

        Issue 12: everything due is found through indexes (:data:`DUE_CONSENTS_SQL`,
        :data:`DUE_PEOPLE_SQL`; nothing due costs a few index probes, whatever the vault's
        size) and handled in batches of :data:`PURGE_BATCH`, each its own transaction.

        ``confirm_clock``: an admin confirms the system date after a clock jump held purging;
        without it a held purge is refused (a wrong clock must not erase people for good)."""
        s = self._s
        self._clock.gate(self.clock_hold, confirm_clock, s.actor, s.user.role)
        self.clock_hold = None
        now = s.now()
        max_days = self._settings.get_int("max_inactivity_days")
        with s.write() as conn:  # issue-13: consents whose re-consent period ran out
            lapsed, lapsed_templates = lapse_due(conn, s, self._consents, self._finality, now)
        due_all: list[str] = []
        templates = 0
        while True:
            with s.write() as conn:
                due = [r["id"] for r in fetch_all(conn, DUE_CONSENTS_SQL, (_iso(now), PURGE_BATCH))]
                if not due:
                    break
                templates += self._expire(conn, due, now)
            due_all += due
        cutoff = _iso(now - dt.timedelta(days=max_days))
        people = [r["id"] for r in s.read(lambda c: fetch_all(c, DUE_PEOPLE_SQL, (cutoff,)))]
        for start in range(0, len(people), PURGE_BATCH):
            self._erase_batch(people[start : start + PURGE_BATCH])
        changed = bool(due_all or people or lapsed)
        if changed:
            self._faces.reload()  # rebuilt lazily without the expired or erased templates
            with s.lock:
                checkpoint(s.conn)
        # Once for the whole purge, however many batches: the backups under <home> obey it
        # too. Also when nothing was due but an earlier change never reached them (a crash
        # after a batch committed, before this step).
        if changed or self._finality.unsettled():
            self._finality.settle(RETENTION_ACTOR)
        return PurgeResult(
            tuple(due_all), tuple(people), templates + lapsed_templates, tuple(lapsed)
        )

    def _expire(self, conn: Connection, due: list[str], now: dt.datetime) -> int:
        """One batch of consents past their date: status, audit entry, ledger entry."""
        s = self._s
        marks = ",".join("?" * len(due))
        templates = int(
            scalar(conn, f"SELECT count(*) FROM templates WHERE consent_id IN ({marks})", due)
        )
        conn.execute(f"UPDATE consents SET status = 'expired' WHERE id IN ({marks})", due)
        s.audit.append(
            RETENTION_ACTOR,
            "consent.expire",
            None,
            {"consents": due, "templates_deleted": templates},
            at=now,
        )
        self._finality.record(  # ledger entry, before COMMIT
            conn, "expire", actor=RETENTION_ACTOR, at=now, person_id=None,
            consent_ids=due, destroyed={"templates": templates},
        )  # fmt: skip
        return templates

    def _erase_batch(self, person_ids: list[str]) -> None:
        """Retention erasures, one transaction per batch. Each person still gets their own
        ``erasures`` row, audit entry and ledger entry; no certificate is made, as nobody is
        at the desk to receive it (``erasure-certificate`` issues one from the record).

        Issue 12: the batch is handled as a set (one counting query and one DELETE per table,
        one multi-row insert of ``erasures`` and audit entries, one ledger write and fsync),
        not person by person: 1,000 expiries took 9-13 s at 10,000 people, most of it
        per-person statements, fsyncs and ledger tail reads."""
        if not person_ids:
            return
        s = self._s
        now = s.now()
        with s.write() as conn:
            before = batch_counts(conn, person_ids)
            consent_ids = _consents_by_person(conn, person_ids)
            marks = ",".join("?" * len(person_ids))
            for table, column in _PERSON_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", person_ids)
            after = batch_counts(conn, person_ids)
            if any(n for counts in after.values() for n in counts.values()):
                raise VaultError("Erasure left rows behind; nothing was changed.")
            conn.executemany(
                "INSERT OR REPLACE INTO erasures (person_id, erased_at, erased_by, reason, "
                "counts, certificate_sha256) VALUES (?,?,?,?,?,NULL)",
                [
                    (
                        pid,
                        _iso(now),
                        RETENTION_ACTOR,
                        "retention period ended",
                        json.dumps({"before": before[pid], "after": after[pid]}),
                    )
                    for pid in person_ids
                ],
            )
            s.audit.append_many(
                RETENTION_ACTOR,
                [
                    (
                        "person.erase",
                        pid,
                        {"before": before[pid], "after": after[pid], "certificate_sha256": None},
                    )
                    for pid in person_ids
                ],
                at=now,
            )
            self._finality.record_many(  # ledger entries, before COMMIT
                conn,
                [
                    LedgerSpec("erase", pid, tuple(consent_ids.get(pid, ())), before[pid])
                    for pid in person_ids
                ],
                actor=RETENTION_ACTOR,
                at=now,
            )

    # -- access ----------------------------------------------------------------------------
    def export_person(self, person_id: str) -> PersonExport:
        """Everything held about a person, for a data-subject access request."""
        s = self._s
        person = self._people.get(person_id)
        consents = tuple(self._consents.of_person(person_id))
        documents = tuple(self._archive.of_person(person_id))
        audit = tuple(self._people.audit(person_id))
        counts = self._people.counts(person_id)
        searches = tuple(FaceSearch.from_event(e) for e in audit if e.action == "face.search.hit")
        audit_or_defer(s, "person.access_export", person_id)  # issue-11: also on a full disk
        return PersonExport(
            person, consents, documents, audit, counts["templates"], counts["photos"], searches
        )

    def access_report_pdf(self, person_id: str, export: PersonExport | None = None) -> bytes:
        """The data-subject access report (everything held; template values are not printed).

        issue-15: ``export`` reuses an export just made (one access audit entry per request),
        and the report is stored like every other document so ``verify-document`` knows it."""
        if export is not None and export.person.id != person_id:
            raise InvalidInput("The export belongs to a different person.")
        export = export or self.export_person(person_id)
        purposes = [self._purposes.version(c.purpose_version_id) for c in export.consents]
        doc_id = self._archive.new_id()
        pdf = self._archive.maker.access_report(
            org=self._s.organisation,
            person=export.person,
            consents=export.consents,
            purposes=purposes,
            documents=export.documents,
            audit_events=export.audit,
            template_count=export.templates,
            photo_count=export.photos,
            face_searches=export.face_searches,
            operator=self._s.actor,
            language=export.person.language,
            document_id=doc_id,
        )
        with self._s.write() as conn:  # issue-15: stored, so a genuine report verifies
            self._archive.store(
                conn,
                doc_id=doc_id,
                kind="access_report",
                person_id=export.person.id,
                consent_id=None,
                language=export.person.language,
                filename=self._archive.filename("access_report", doc_id),
                content=pdf,
            )
        return pdf


def _check_requester(requested_by: str, allowed: tuple[RequestedBy, ...]) -> None:
    """Decided before anything changes: the document must not claim a requester that this
    path cannot have (nobody asks the retention limit to withdraw a consent)."""
    if requested_by not in allowed or requested_by not in REQUESTED_BY:
        raise InvalidInput(f"requested_by must be one of: {', '.join(allowed)}.")


def _consents_by_person(conn: Connection, person_ids: list[str]) -> dict[str, list[str]]:
    marks = ",".join("?" * len(person_ids))
    out: dict[str, list[str]] = {}
    for row in conn.execute(
        f"SELECT person_id, id FROM consents WHERE person_id IN ({marks}) ORDER BY rowid",
        person_ids,
    ):
        out.setdefault(str(row[0]), []).append(str(row[1]))
    return out
