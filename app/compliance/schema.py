"""The governance tables, added by one numbered migration.

They live beside the existing tables rather than inside them: the purposes table keeps its
columns (the consent records point at it), and requests and breach records have to outlive the
people they mention, so none of them has a foreign key into ``people`` (a person's erasure must
not be blocked by, or cascade into, the record that they asked for it).

Two indexes serve the compliance overview at 100,000 people: the enrolment rate counts recent
active consents by ``signed_at`` (a table scan would read every consent's full disclosure
text), and the last backup is the newest ``vault.backup`` audit entry (a scan would decrypt the
whole audit log). Neither changes a column.
"""

from __future__ import annotations

from app.db import Connection, split_sql

GOVERNANCE_SQL = """
CREATE TABLE purpose_assessments (
    id INTEGER PRIMARY KEY,
    purpose_id INTEGER NOT NULL REFERENCES purposes(id),
    purpose_version INTEGER NOT NULL,
    necessity TEXT NOT NULL,
    why_not_alternative TEXT NOT NULL,
    scenario TEXT NOT NULL
        CHECK (scenario IN ('building_access', 'attendance', 'payment', 'security', 'other')),
    access TEXT NOT NULL,
    answers_sha256 TEXT NOT NULL,
    signature TEXT,
    signed_by TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    UNIQUE (purpose_id, purpose_version)
);
CREATE TABLE impact_assessments (
    id INTEGER PRIMARY KEY,
    purpose_id INTEGER NOT NULL REFERENCES purposes(id),
    purpose_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    document_id TEXT NOT NULL,
    language TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX impact_assessments_purpose ON impact_assessments(purpose_id, created_at);
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'withdrawal',
        'objection', 'explanation', 'complaint')),
    person_id TEXT,
    requester TEXT,
    identity_check TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'desk',
    jurisdiction TEXT NOT NULL CHECK (jurisdiction IN ('pipl', 'gdpr')),
    received_at TEXT NOT NULL,
    due_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    outcome TEXT,
    fulfilled_by TEXT,
    documents TEXT NOT NULL DEFAULT '[]',
    closed_at TEXT,
    closed_by TEXT,
    created_by TEXT NOT NULL,
    CHECK (person_id IS NOT NULL OR requester IS NOT NULL OR status = 'closed')
);
CREATE INDEX requests_open ON requests(status, due_on);
CREATE TABLE breaches (
    id TEXT PRIMARY KEY,
    what TEXT NOT NULL,
    occurred_at TEXT,
    discovered_at TEXT NOT NULL,
    data_categories TEXT NOT NULL,
    people_affected INTEGER NOT NULL CHECK (people_affected >= 0),
    records_affected INTEGER NOT NULL CHECK (records_affected >= 0),
    consequences TEXT NOT NULL,
    measures TEXT NOT NULL,
    regulator_notified_at TEXT,
    people_notified_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX consents_status_signed ON consents(status, signed_at);
CREATE INDEX audit_action ON audit(action, seq);
"""


def apply_governance(conn: Connection) -> None:
    """Migration body: the four governance tables (run inside the migration's transaction)."""
    for statement in split_sql(GOVERNANCE_SQL):
        conn.execute(statement)
