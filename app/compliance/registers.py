"""Rows of the requests register and the breach records, and what "fulfilled" means.

Each request kind is fulfilled by a verb that already writes the audit chain; closing a request
links the audit entries of those verbs (and, for an erasure, the certificate's hash) so the
register shows *how* it was answered, not only that someone said so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Literal

from app.compliance.base import GovernanceBase
from app.compliance.deadlines import due_date
from app.compliance.types import (
    JURISDICTIONS,
    REQUEST_KINDS,
    BreachInput,
    BreachRecord,
    IssuedDocument,
    Jurisdiction,
    RequestKind,
    RequestRecord,
)
from app.db import Connection
from app.errors import InvalidInput, NotFound
from app.models import Language
from app.validation import clean_name, clean_text
from app.values import _dt, _iso, _new_id

# The audit actions that answer each kind of request (a complaint or an explanation is answered
# in writing; nothing in the vault changes).
FULFILLING_ACTIONS: dict[RequestKind, tuple[str, ...]] = {
    "access": ("person.access_export",),
    "rectification": ("person.update", "person.edit"),
    "erasure": ("person.erase",),
    "withdrawal": ("consent.withdraw",),
    "objection": ("consent.withdraw", "person.erase"),
    "explanation": (),
    "complaint": (),
}

REQUEST_SQL = (
    "SELECT r.id, r.kind, r.person_id, coalesce(r.requester, p.name), r.identity_check, "
    "r.channel, r.jurisdiction, r.received_at, r.due_on, r.status, r.outcome, r.fulfilled_by, "
    "r.documents, r.closed_at, r.closed_by FROM requests r LEFT JOIN people p ON p.id = r.person_id "
)


def request_row(r: Any, today: dt.date) -> RequestRecord:
    due = dt.date.fromisoformat(r[8])
    return RequestRecord(
        id=r[0],
        kind=r[1],
        person_id=r[2],
        requester=r[3],
        identity_check=r[4],
        channel=r[5],
        jurisdiction=r[6],
        received_at=_dt(r[7]),  # type: ignore[arg-type]
        due_on=due,
        status=r[9],
        overdue=r[9] == "open" and today > due,
        outcome=r[10],
        fulfilled_by=r[11],
        documents=tuple(json.loads(r[12] or "[]")),
        closed_at=_dt(r[13]),
        closed_by=r[14],
    )


def fulfilling_events(
    conn: Connection, kind: RequestKind, person_id: str | None, since: str
) -> list[str]:
    """``action#seq`` of the audit entries that answered this request (after its receipt)."""
    actions = FULFILLING_ACTIONS.get(kind, ())
    if not person_id or not actions:
        return []
    marks = ",".join("?" * len(actions))
    rows = conn.execute(
        f"SELECT action, seq FROM audit WHERE subject = ? AND action IN ({marks}) AND at >= ? "
        "ORDER BY seq",
        (person_id, *actions, since),
    ).fetchall()
    return [f"{r[0]}#{r[1]}" for r in rows]


def erasure_certificate_sha(conn: Connection, person_id: str | None) -> str | None:
    if not person_id:
        return None
    row = conn.execute(
        "SELECT certificate_sha256 FROM erasures WHERE person_id = ?", (person_id,)
    ).fetchone()
    return str(row[0]) if row and row[0] else None


BREACH_SQL = (
    "SELECT id, what, occurred_at, discovered_at, data_categories, people_affected, "
    "records_affected, consequences, measures, regulator_notified_at, people_notified_at, "
    "created_by, created_at FROM breaches "
)


def breach_row(r: Any) -> BreachRecord:
    return BreachRecord(
        id=r[0],
        details=BreachInput(
            what=r[1],
            occurred_at=_dt(r[2]),
            discovered_at=_dt(r[3]),  # type: ignore[arg-type]
            data_categories=r[4],
            people_affected=int(r[5]),
            records_affected=int(r[6]),
            consequences=r[7],
            measures=r[8],
            regulator_notified_at=_dt(r[9]),
            people_notified_at=_dt(r[10]),
        ),
        created_by=r[11],
        created_at=_dt(r[12]),  # type: ignore[arg-type]
    )


class Registers(GovernanceBase):
    """The requests register and the breach records (with their letters and the complaint
    form). Operators log and list requests at the desk; breaches are an admin's job."""

    def complaint_form(self, purpose_id: int | None, language: Language = "en") -> IssuedDocument:
        purpose = self._desk.get_purpose(purpose_id) if purpose_id is not None else None
        doc_id = self._new_doc_id()
        pdf = self.documents.complaint_form(
            org=self._desk.organisation,
            purpose=purpose,
            pipl_days=self._int_setting("deadline_pipl_working_days"),
            language=language,
            document_id=doc_id,
        )
        with self._desk.session.write() as conn:
            return self._issue(
                conn,
                "complaint_form",
                language,
                pdf,
                doc_id,
                purpose.version_id if purpose else None,
            )

    # ------------------------------------------------------------------ requests register
    def add_request(
        self,
        kind: RequestKind,
        *,
        identity_check: str,
        jurisdiction: Jurisdiction = "pipl",
        person_id: str | None = None,
        requester: str | None = None,
        channel: str = "desk",
        received_at: dt.datetime | None = None,
    ) -> RequestRecord:
        """Log a request with its statutory deadline. For someone in the vault only the person
        ID is kept (their name is read from their row, so erasing them erases it here too)."""
        if kind not in REQUEST_KINDS:
            raise InvalidInput(f"The request kind must be one of: {', '.join(REQUEST_KINDS)}.")
        if jurisdiction not in JURISDICTIONS:
            raise InvalidInput("The jurisdiction must be pipl or gdpr.")
        check = clean_text(identity_check, "identity check", required=True, limit=300)
        channel_text = clean_text(channel, "channel", required=True, limit=100)
        name = None
        if person_id:
            self._desk.get_person(person_id)
        else:
            name = clean_name(requester, "requester", limit=300)
        received = received_at or self._now()
        due = due_date(
            received.date(),
            jurisdiction,
            pipl_working_days=self._int_setting("deadline_pipl_working_days"),
            gdpr_months=self._int_setting("deadline_gdpr_months"),
        )
        rid = _new_id("R")
        with self._desk.session.write() as conn:
            conn.execute(
                "INSERT INTO requests (id, kind, person_id, requester, identity_check, channel, "
                "jurisdiction, received_at, due_on, status, created_by) "
                "VALUES (?,?,?,?,?,?,?,?,?,'open',?)",
                (
                    rid,
                    kind,
                    person_id,
                    name,
                    check,
                    channel_text,
                    jurisdiction,
                    _iso(received),
                    due.isoformat(),
                    self._user,
                ),
            )
            self._audit(
                "request.add",
                person_id,
                {
                    "request": rid,
                    "kind": kind,
                    "jurisdiction": jurisdiction,
                    "due": due.isoformat(),
                },
            )
        return self.get_request(rid)

    def get_request(self, request_id: str) -> RequestRecord:
        today = self._now().date()
        row = self._desk.session.read(
            lambda c: c.execute(REQUEST_SQL + "WHERE r.id = ?", (request_id,)).fetchone()
        )
        if row is None:
            raise NotFound("No such request.")
        return request_row(row, today)

    def list_requests(
        self, status: Literal["open", "closed", "overdue"] | None = None
    ) -> list[RequestRecord]:
        today = self._now().date()
        sql, args = REQUEST_SQL, list[str]()
        if status in ("open", "closed"):
            sql += "WHERE r.status = ? "
            args.append(status)
        elif status == "overdue":
            sql += "WHERE r.status = 'open' AND r.due_on < ? "
            args.append(today.isoformat())
        rows = self._desk.session.read(
            lambda c: c.execute(sql + "ORDER BY r.due_on, r.id", args).fetchall()
        )
        return [request_row(r, today) for r in rows]

    def close_request(
        self, request_id: str, outcome: str, documents: Sequence[str] = ()
    ) -> RequestRecord:
        """Close a request with its outcome, linking the audit entries of the verbs that
        fulfilled it. An erasure request closes with its certificate's hash; a completed
        erasure request whose person is still in the vault is refused."""
        text = clean_text(outcome, "outcome", required=True, limit=1000) or ""
        request = self.get_request(request_id)
        if request.status == "closed":
            raise InvalidInput("This request is already closed.", code="request_closed")
        now = self._now()
        with self._desk.session.write() as conn:
            events = fulfilling_events(
                conn, request.kind, request.person_id, _iso(request.received_at) or ""
            )
            docs = list(documents)
            if request.kind == "erasure" and request.person_id:
                cert = erasure_certificate_sha(conn, request.person_id)
                if cert is None and text.lower().startswith(("done", "completed", "erased")):
                    raise InvalidInput(
                        "This person has not been erased yet; erase them first (the request "
                        "closes with the erasure certificate).",
                        code="erasure_pending",
                    )
                if cert:
                    docs.append(f"erasure_certificate:{cert}")
            conn.execute(
                "UPDATE requests SET status = 'closed', outcome = ?, fulfilled_by = ?, "
                "documents = ?, closed_at = ?, closed_by = ?, "
                "requester = CASE WHEN person_id IS NULL THEN requester ELSE NULL END "
                "WHERE id = ?",
                (
                    text,
                    ",".join(events) or None,
                    json.dumps(docs),
                    _iso(now),
                    self._user,
                    request_id,
                ),
            )
            self._audit(
                "request.close",
                request.person_id,
                {"request": request_id, "fulfilled_by": events, "documents": docs},
            )
        return self.get_request(request_id)

    # ------------------------------------------------------------------ breaches
    def add_breach(self, details: BreachInput) -> BreachRecord:
        self._desk.session.require_admin()
        clean = _clean_breach(details)
        bid = _new_id("B")
        now = self._now()
        with self._desk.session.write() as conn:
            conn.execute(
                "INSERT INTO breaches (id, what, occurred_at, discovered_at, data_categories, "
                "people_affected, records_affected, consequences, measures, "
                "regulator_notified_at, people_notified_at, created_by, created_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    bid,
                    clean.what,
                    _iso(clean.occurred_at),
                    _iso(clean.discovered_at),
                    clean.data_categories,
                    clean.people_affected,
                    clean.records_affected,
                    clean.consequences,
                    clean.measures,
                    _iso(clean.regulator_notified_at),
                    _iso(clean.people_notified_at),
                    self._user,
                    _iso(now),
                ),
            )
            self._audit(
                "breach.add",
                None,
                {"breach": bid, "people": clean.people_affected, "records": clean.records_affected},
            )
        return self.get_breach(bid)

    def get_breach(self, breach_id: str) -> BreachRecord:
        row = self._desk.session.read(
            lambda c: c.execute(BREACH_SQL + "WHERE id = ?", (breach_id,)).fetchone()
        )
        if row is None:
            raise NotFound("No such breach record.")
        return breach_row(row)

    def list_breaches(self) -> list[BreachRecord]:
        rows = self._desk.session.read(
            lambda c: c.execute(BREACH_SQL + "ORDER BY discovered_at, id").fetchall()
        )
        return [breach_row(r) for r in rows]

    def breach_letters(
        self, breach_id: str, languages: Sequence[Language] = ("en", "zh")
    ) -> list[IssuedDocument]:
        """The letters to the people affected and to the regulator, in each language; signed
        and stored. The people's letter carries no name, so one letter serves everyone."""
        self._desk.session.require_admin()
        breach = self.get_breach(breach_id)
        purposes = self._desk.list_purposes()
        contact = (
            "; ".join(sorted({p.contact for p in purposes if p.contact}))
            or self._desk.organisation.name
        )
        regulator = "; ".join(sorted({p.regulator for p in purposes if p.regulator}))
        made: list[tuple[str, Language, str, bytes]] = []
        for audience in ("people", "regulator"):
            for language in languages:
                doc_id = self._new_doc_id()
                pdf = self.documents.breach_letter(
                    org=self._desk.organisation,
                    breach=breach,
                    audience=audience,
                    contact=contact,
                    regulator=regulator,
                    language=language,
                    document_id=doc_id,
                )
                made.append((f"breach_letter_{audience}", language, doc_id, pdf))
        with self._desk.session.write() as conn:
            issued = [self._issue(conn, kind, lang, pdf, did) for kind, lang, did, pdf in made]
            self._audit(
                "breach.letters",
                None,
                {"breach": breach_id, "documents": [d.document_id for d in issued]},
            )
        return issued


def _clean_breach(b: BreachInput) -> BreachInput:
    def text(value: str, what: str) -> str:
        return clean_text(value, what, required=True, limit=2000) or ""

    if b.people_affected < 0 or b.records_affected < 0:
        raise InvalidInput("Counts of people and records cannot be negative.")
    if b.occurred_at and b.occurred_at > b.discovered_at:
        raise InvalidInput("A breach cannot be discovered before it happened.")
    return dataclasses.replace(
        b,
        what=text(b.what, "what happened"),
        data_categories=text(b.data_categories, "data concerned"),
        consequences=text(b.consequences, "likely consequences"),
        measures=text(b.measures, "measures"),
    )
