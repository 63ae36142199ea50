"""Facts the governance documents state, read from the vault in a few aggregate queries.

Documents print these instead of anything an admin typed wherever the vault knows better:
an impact assessment whose counts were typed in could disagree with the data it assesses.
Everything here is counts and settings, never a person's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.compliance.necessity import all_in_force
from app.compliance.types import NecessityTest
from app.db import Connection
from app.models import Organisation, Purpose

PURPOSE_COUNT_KEYS = (
    "people_stored",
    "templates",
    "photos",
    "consents_active",
    "consents_reconsent",
    "refusals",
    "withdrawn",
    "expired",
    "liveness_passed",
    "paper",
)


@dataclass(frozen=True)
class PurposeFacts:
    purpose: Purpose
    necessity: NecessityTest | None
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VaultFacts:
    org: Organisation
    settings: Mapping[str, str]
    admins: int
    operators: int
    audit_entries: int
    audit_ok: bool | None
    erasures: int
    retention_erasures: int
    stored_people: int


def stored_people(conn: Connection) -> int:
    """People whose face data is stored: those with a template (photos are only kept beside
    one). ``templates_person`` is ordered by person, so the distinct count streams the index
    without a temporary table or a single template page read."""
    row = conn.execute("SELECT count(DISTINCT person_id) FROM templates").fetchone()
    return int(row[0])


def stored_per_purpose(conn: Connection) -> dict[int, int]:
    """People with face data per purpose. Templates exist only under an active consent (the
    schema's triggers drop them otherwise) and every active consent holds at least one; a
    person has at most one active consent per purpose (``enroll`` refuses a second), so the
    per-version counts of the covering ``consents_status_person`` index add up per purpose."""
    versions = dict(conn.execute("SELECT id, purpose_id FROM purpose_versions").fetchall())
    per: dict[int, int] = {}
    for version_id, count in conn.execute(
        "SELECT purpose_version_id, count(DISTINCT person_id) FROM consents "
        "WHERE status = 'active' GROUP BY purpose_version_id"
    ).fetchall():
        purpose_id = int(versions[version_id])
        per[purpose_id] = per.get(purpose_id, 0) + int(count)
    return per


def purpose_counts(conn: Connection, purpose_id: int) -> dict[str, int]:
    """Per-purpose counts for the impact assessment (all versions of the purpose)."""
    versions = "SELECT id FROM purpose_versions WHERE purpose_id = ?"
    by_status = dict(
        conn.execute(
            f"SELECT status, count(*) FROM consents WHERE purpose_version_id IN ({versions}) "
            "GROUP BY status",
            (purpose_id,),
        ).fetchall()
    )

    def one(sql: str) -> int:
        return int(conn.execute(sql, (purpose_id,)).fetchone()[0])

    waiting = one(
        "SELECT count(*) FROM consents WHERE status = 'active' AND reconsent_due_at IS NOT NULL "
        f"AND purpose_version_id IN ({versions})"
    )

    return {
        "people_stored": one(
            f"SELECT count(DISTINCT person_id) FROM consents WHERE status = 'active' "
            f"AND purpose_version_id IN ({versions})"
        ),
        "templates": one(
            "SELECT count(*) FROM templates t JOIN consents c ON c.id = t.consent_id "
            f"WHERE c.purpose_version_id IN ({versions})"
        ),
        "photos": one(
            "SELECT count(*) FROM photos p JOIN consents c ON c.id = p.consent_id "
            f"WHERE c.purpose_version_id IN ({versions})"
        ),
        # issue-13: a consent waiting for re-consent no longer covers the current text; it is
        # counted apart, as desk.stats() does, never as active.
        "consents_active": int(by_status.get("active", 0)) - waiting,
        "consents_reconsent": waiting,
        "refusals": int(by_status.get("refused", 0)),
        "withdrawn": int(by_status.get("withdrawn", 0)),
        "expired": int(by_status.get("expired", 0)),
        "liveness_passed": one(
            "SELECT count(*) FROM consents WHERE json_extract(liveness, '$.passed') = 1 "
            f"AND purpose_version_id IN ({versions})"
        ),
        "paper": one(
            "SELECT count(*) FROM consents WHERE paper_signed_on IS NOT NULL "
            f"AND purpose_version_id IN ({versions})"
        ),
    }


def purpose_facts(conn: Connection, purposes: list[Purpose]) -> list[PurposeFacts]:
    tests = all_in_force(conn)
    return [PurposeFacts(p, tests.get(p.id), purpose_counts(conn, p.id)) for p in purposes]


def vault_facts(
    conn: Connection,
    org: Organisation,
    settings: Mapping[str, str],
    audit_ok: bool | None,
) -> VaultFacts:
    roles = dict(conn.execute("SELECT role, count(*) FROM staff GROUP BY role").fetchall())
    erasures = conn.execute(
        "SELECT count(*), coalesce(sum(erased_by = 'retention'), 0) FROM erasures"
    ).fetchone()
    audit = conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()
    return VaultFacts(
        org=org,
        settings=dict(settings),
        admins=int(roles.get("admin", 0)),
        operators=int(roles.get("operator", 0)),
        audit_entries=int(audit[0]),
        audit_ok=audit_ok,
        erasures=int(erasures[0]),
        retention_erasures=int(erasures[1]),
        stored_people=stored_people(conn),
    )
