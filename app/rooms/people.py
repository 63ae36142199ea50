"""People: the ``people`` table (search, lookup, creation when someone first signs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from app.db import Connection, Row, fetch_all, fetch_one
from app.desk_types import PeoplePage, PersonDetails, PersonSummary
from app.errors import InvalidInput, NotFound
from app.models import CONSENT_STATUSES, AuditEvent, ConsentStatus, Person
from app.session import Session
from app.validation import clean_name, clean_text, fold
from app.values import _dt, _iso, _new_id

PERSON_SQL = (
    "SELECT id, name, reference, date_of_birth, language, created_at, last_interaction_at "
    "FROM people "
)
PERSON_TABLES = ("people", "consents", "templates", "photos", "documents")


def person_from_row(r: Row) -> Person:
    return Person(
        id=r["id"],
        name=r["name"],
        reference=r["reference"],
        date_of_birth=dt.date.fromisoformat(r["date_of_birth"]) if r["date_of_birth"] else None,
        language=r["language"],
        created_at=_dt(r["created_at"]),
        last_interaction_at=_dt(r["last_interaction_at"]),
    )


def overall_status(statuses: Sequence[str]) -> ConsentStatus | Any:
    """The one status a list shows for a person: any active consent wins, then the rest."""
    for s in CONSENT_STATUSES:
        if s in statuses:
            return s
    return "none"


def person_counts(conn: Connection, person_id: str) -> dict[str, int]:
    """Rows held about a person in each table (for erasure certificates and access reports)."""
    return {
        t: int(
            conn.execute(
                f"SELECT count(*) FROM {t} WHERE {'id' if t == 'people' else 'person_id'} = ?",
                (person_id,),
            ).fetchone()[0]
        )
        for t in PERSON_TABLES
    }


def batch_counts(conn: Connection, person_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """:func:`person_counts` for many people at once: one grouped query per table (issue 12:
    a purge of 1,000 people ran 10,000 single counts)."""
    out = {pid: dict.fromkeys(PERSON_TABLES, 0) for pid in person_ids}
    marks = ",".join("?" * len(person_ids))
    for t in PERSON_TABLES:
        column = "id" if t == "people" else "person_id"
        for pid, n in conn.execute(
            f"SELECT {column}, count(*) FROM {t} WHERE {column} IN ({marks}) GROUP BY {column}",
            list(person_ids),
        ):
            out[str(pid)][t] = int(n)
    return out


class People:
    """Finds and reads people; creates them inside an enrollment's transaction."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, person_id: str) -> Person:
        row = self._s.read(lambda c: fetch_one(c, PERSON_SQL + "WHERE id = ?", (person_id,)))
        if row is None:
            raise NotFound("No such person (they may have been erased).", code="person_not_found")
        return person_from_row(row)

    def find(
        self,
        query: str = "",
        status: ConsentStatus | None = None,
        purpose_id: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> PeoplePage:
        """Search by name, reference or person ID; filter by consent status and purpose.

        issue-13: an operator never sees who refused. Asking for refusals gives their count
        only, and people whose only records are refusals (kept in their name because they
        asked) are left out of every search; admins see those named refusals."""
        where: list[str] = []
        args: list[Any] = []
        operator = self._s.user.role != "admin"
        if operator and status == "refused":
            withheld = self._s.read(
                lambda c: int(
                    c.execute(
                        "SELECT (SELECT count(*) FROM consents WHERE status = 'refused') "
                        "+ (SELECT count(*) FROM refusals)"
                    ).fetchone()[0]
                )
            )
            return PeoplePage((), 0, max(0, int(offset)), limit, refusals_withheld=withheld)
        if operator:
            where.append("p.id IN (SELECT r.person_id FROM consents r WHERE r.status <> 'refused')")
        q = fold(query or "")
        if q:
            where.append(
                "(p.name_fold LIKE ? ESCAPE '\\' OR lower(p.reference) LIKE ? ESCAPE '\\' "
                "OR p.id = ?)"
            )
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [like, like, query.strip().upper()]
        if status or purpose_id is not None:
            # An uncorrelated IN (...) over covering indexes is computed once; a correlated
            # EXISTS walked the consents once per person (quadratic at 100k people).
            sub = "p.id IN (SELECT c.person_id FROM consents c WHERE 1"
            if status == "reconsent":  # issue-13: kept "active" in the table, not matching
                sub += " AND c.status = 'active' AND c.reconsent_due_at IS NOT NULL"
            elif status == "active":
                sub += " AND c.status = 'active' AND c.reconsent_due_at IS NULL"
            elif status:
                sub += " AND c.status = ?"
                args.append(status)
            if purpose_id is not None:
                sub += (
                    " AND c.purpose_version_id IN "
                    "(SELECT id FROM purpose_versions WHERE purpose_id = ?)"
                )
                args.append(purpose_id)
            where.append(sub + ")")
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        limit = max(1, min(int(limit), 500))
        offset = max(0, int(offset))

        def q_(c: Connection) -> tuple[int, list[Row], dict[str, list[tuple[str, str]]]]:
            total = c.execute(f"SELECT count(*) FROM people p{clause}", args).fetchone()[0]
            rows = fetch_all(
                c,
                "SELECT p.id, p.name, p.reference, p.date_of_birth, p.language, p.created_at, "
                f"p.last_interaction_at FROM people p INDEXED BY people_search{clause} "
                "ORDER BY p.name_fold, p.id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            )
            ids = [r["id"] for r in rows]
            statuses: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                for r in fetch_all(
                    c,
                    "SELECT c.person_id, CASE WHEN c.status = 'active' AND c.reconsent_due_at "
                    "IS NOT NULL THEN 'reconsent' ELSE c.status END AS status, v.title "
                    "FROM consents c JOIN purpose_versions v "
                    f"ON v.id = c.purpose_version_id WHERE c.person_id IN ({marks})"
                    + (" AND c.status <> 'refused'" if operator else ""),
                    ids,
                ):
                    statuses[r["person_id"]].append((r["status"], r["title"]))
            return int(total), rows, statuses

        total, rows, statuses = self._s.read(q_)
        items = tuple(
            PersonSummary(
                person=person_from_row(r),
                status=overall_status([s for s, _ in statuses[r["id"]]]),
                purposes=tuple(sorted({t for _, t in statuses[r["id"]]})),
            )
            for r in rows
        )
        return PeoplePage(items=items, total=total, offset=offset, limit=limit)

    def similar_names(self, name: str, limit: int = 5) -> list[Person]:
        """Existing people with the same folded name: a hint against enrolling someone twice."""
        key = fold(name or "")
        if not key:
            return []
        rows = self._s.read(
            lambda c: fetch_all(
                c, PERSON_SQL + "WHERE name_fold = ? ORDER BY created_at LIMIT ?", (key, limit)
            )
        )
        return [person_from_row(r) for r in rows]

    def audit(self, person_id: str) -> list[AuditEvent]:
        return self._s.read(lambda c: self._s.audit.events(subject=person_id))

    def counts(self, person_id: str) -> dict[str, int]:
        return self._s.read(lambda c: person_counts(c, person_id))

    def touch(self, conn: Connection, person_id: str, now: dt.datetime) -> None:
        """Record an interaction (it restarts the inactivity period of retention)."""
        conn.execute(
            "UPDATE people SET last_interaction_at = ? WHERE id = ?", (_iso(now), person_id)
        )

    def resolve(
        self, conn: Connection, details: PersonDetails, existing_id: str | None, now: dt.datetime
    ) -> Person:
        """The existing person (touched) or a new one, inside the caller's transaction."""
        name = clean_name(details.name, "name", limit=300)
        reference = clean_text(details.reference, "reference", limit=200)
        if details.language not in ("en", "zh"):
            raise InvalidInput("The language must be en or zh.")
        if details.date_of_birth and details.date_of_birth > now.date():
            raise InvalidInput("The date of birth is in the future.")
        if existing_id:
            row = fetch_one(conn, PERSON_SQL + "WHERE id = ?", (existing_id,))
            if row is None:
                raise NotFound(
                    "No such person (they may have been erased).", code="person_not_found"
                )
            self.touch(conn, existing_id, now)
            return person_from_row(row)
        pid = _new_id("P")
        conn.execute(
            "INSERT INTO people (id, name, name_fold, reference, date_of_birth, language, "
            "created_at, last_interaction_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                pid,
                name,
                fold(name),
                reference,
                details.date_of_birth.isoformat() if details.date_of_birth else None,
                details.language,
                _iso(now),
                _iso(now),
            ),
        )
        self._s.audit.append(self._s.actor, "person.create", pid, at=now)
        return Person(pid, name, reference, details.date_of_birth, details.language, now, now)
