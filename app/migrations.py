"""Numbered schema migrations.

Each migration runs in its own transaction together with the ``user_version`` bump, so a crash
leaves the schema at the previous version, never half-way. Before any pending migration runs on a
database that already holds data, an encrypted backup is written (``app.upgrade``): a migration bug
must never cost a workstation its consent records. The whole upgrade at sign-in (one process at a
time, progress, space given back afterwards) is ``app.upgrade``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.db import Connection, split_sql, transaction

# What a long migration reports while it runs: the share of its work done, 0..1.
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    # ``apply(conn)``, or ``apply(conn, progress)`` when ``reports`` (a migration that rewrites
    # rows at scale says how far it is: a front desk must not take the upgrade for a hang).
    apply: Callable[..., None]
    reports: bool = False


def _v1_initial(conn: Connection) -> None:
    for statement in split_sql(_V1_SQL):
        conn.execute(statement)


_V1_SQL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
    created_at TEXT NOT NULL,
    last_login_at TEXT
);
CREATE TABLE purposes (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE purpose_versions (
    id INTEGER PRIMARY KEY,
    purpose_id INTEGER NOT NULL REFERENCES purposes(id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    controller TEXT NOT NULL,
    contact TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    recipients TEXT NOT NULL DEFAULT '',
    regulator TEXT NOT NULL DEFAULT '',
    retention_days INTEGER NOT NULL CHECK (retention_days > 0),
    alternative TEXT NOT NULL,
    keep_photos INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (purpose_id, version)
);
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_fold TEXT NOT NULL,
    reference TEXT,
    date_of_birth TEXT,
    language TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_interaction_at TEXT NOT NULL
);
CREATE INDEX people_name_fold ON people(name_fold);
CREATE INDEX people_reference ON people(reference);
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    purpose_version_id INTEGER NOT NULL REFERENCES purpose_versions(id),
    language TEXT NOT NULL,
    disclosure_text TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('granted', 'refused')),
    alternative TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'withdrawn', 'expired', 'refused')),
    signature TEXT,
    guardian_name TEXT,
    guardian_signature TEXT,
    liveness TEXT,
    operator TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    expires_at TEXT,
    withdrawn_at TEXT,
    withdrawn_by TEXT,
    withdraw_reason TEXT,
    paper_signed_on TEXT
);
CREATE INDEX consents_person ON consents(person_id);
CREATE INDEX consents_status ON consents(status, expires_at);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    consent_id TEXT NOT NULL REFERENCES consents(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL CHECK (length(embedding) = 512),
    quality REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX templates_person ON templates(person_id);
CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    consent_id TEXT NOT NULL REFERENCES consents(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    image BLOB NOT NULL,
    mime TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id TEXT REFERENCES people(id) ON DELETE CASCADE,
    consent_id TEXT,
    purpose_version_id INTEGER,
    language TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX documents_person ON documents(person_id);
CREATE INDEX documents_sha ON documents(sha256);
CREATE TABLE erasures (
    person_id TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL,
    erased_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    counts TEXT NOT NULL,
    certificate_sha256 TEXT
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    details TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE TRIGGER templates_need_active_consent BEFORE INSERT ON templates
WHEN (SELECT status FROM consents WHERE id = NEW.consent_id) IS NOT 'active'
BEGIN SELECT RAISE(ABORT, 'templates belong to an active consent only'); END;
CREATE TRIGGER consent_inactive_drops_templates AFTER UPDATE OF status ON consents
WHEN NEW.status <> 'active'
BEGIN
    DELETE FROM templates WHERE consent_id = NEW.id;
    DELETE FROM photos WHERE consent_id = NEW.id;
END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def _v2_search_indexes(conn: Connection) -> None:
    """Registry search at 100k people: a covering index lets a name/reference search and deep
    paging walk the index alone instead of visiting every (encrypted) table page at random, and
    the consents indexes answer the status and purpose filters without touching consents rows."""
    conn.execute("CREATE INDEX people_search ON people(name_fold, id, reference)")
    conn.execute(
        "CREATE INDEX consents_status_person ON consents(status, purpose_version_id, person_id)"
    )
    conn.execute("CREATE INDEX consents_purpose_person ON consents(purpose_version_id, person_id)")


# issue-16: governance tables (necessity tests, impact assessments, requests, breaches).
def _v3_governance(conn: Connection) -> None:
    from app.compliance.schema import apply_governance  # issue-16: imported late (no cycle)

    apply_governance(conn)


# issue-17: recognition devices, what each was handed, and revocations. The trigger turns every
# template deletion (withdrawal, erasure, expiry purge, any future path) into a revocation for each
# device that holds it, inside the same transaction, so no verb has to remember to do it.
def _v4_devices(conn: Connection) -> None:
    from app.devices.schema import DEVICES_SQL

    for statement in split_sql(DEVICES_SQL):
        conn.execute(statement)


# issue-13: a material purpose edit leaves older consents "re-consent needed": still active in the
# table (their templates are kept, so the person need not be captured again), but excluded from
# every match until signed again; ``reconsent_due_at`` is when the purge destroys them.
def _v5_reconsent(conn: Connection) -> None:
    conn.execute("ALTER TABLE consents ADD COLUMN reconsent_due_at TEXT")
    conn.execute("ALTER TABLE consents ADD COLUMN reconsent_version INTEGER")
    conn.execute(
        "CREATE INDEX consents_reconsent ON consents(reconsent_due_at) "
        "WHERE reconsent_due_at IS NOT NULL"
    )


# issue-13: how a person's adulthood was established per consent (date of birth, or an attestation
# and by whom), the person's own photo tick, and refusals that keep no name (only what proves the
# choice was free, and the hash of the refusal record the person took home).
_V6_SQL = """
ALTER TABLE consents ADD COLUMN age_basis TEXT;
ALTER TABLE consents ADD COLUMN age_attested_by TEXT;
ALTER TABLE consents ADD COLUMN photo_consent INTEGER;
CREATE TABLE refusals (
    id TEXT PRIMARY KEY,
    purpose_version_id INTEGER NOT NULL REFERENCES purpose_versions(id),
    language TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    alternative TEXT NOT NULL,
    operator TEXT NOT NULL,
    refused_at TEXT NOT NULL,
    record_sha256 TEXT NOT NULL
);
"""


def _v6_consent_terms(conn: Connection) -> None:
    for statement in split_sql(_V6_SQL):
        conn.execute(statement)


# issue-11: one account key per staff name (NFKC + casefold, ``app.names``), looked up instead of
# SQLite's ASCII-only NOCASE; the columns behind admin-signed role grants and signed audit
# entries (``app.authority``). The key column is not UNIQUE: a vault from before could hold two
# names that now fold together (``strasse``, ``straße``); the code refuses new ones and asks for
# the exact spelling where two exist.
def _v7_accounts(conn: Connection) -> None:
    from app.names import name_key

    conn.execute("ALTER TABLE staff ADD COLUMN username_key TEXT")
    conn.execute("ALTER TABLE staff ADD COLUMN grant_sig BLOB")
    conn.execute("ALTER TABLE audit ADD COLUMN signer TEXT")
    conn.execute("ALTER TABLE audit ADD COLUMN sig TEXT")
    conn.execute(
        "CREATE TABLE signers (key_id TEXT PRIMARY KEY, username TEXT NOT NULL, "
        "public_key BLOB NOT NULL, created_at TEXT NOT NULL, cert BLOB NOT NULL)"
    )
    for row in conn.execute("SELECT id, username FROM staff").fetchall():
        conn.execute("UPDATE staff SET username_key = ? WHERE id = ?", (name_key(row[1]), row[0]))
    conn.execute("CREATE INDEX staff_username_key ON staff(username_key)")
    for statement in split_sql(ACCOUNTS_TRIGGERS_SQL):
        conn.execute(statement)


# Checked at every unlock with the other triggers (``app.integrity``).
ACCOUNTS_TRIGGERS_SQL = """
CREATE TRIGGER signers_no_update BEFORE UPDATE ON signers
BEGIN SELECT RAISE(ABORT, 'signing keys are never changed'); END;
CREATE TRIGGER signers_no_delete BEFORE DELETE ON signers
BEGIN SELECT RAISE(ABORT, 'signing keys are never removed'); END;
"""


# issue 12: retention at 100,000 people. Purging finds what is due through these indexes (a
# probe each when nothing is due) instead of scanning every person, and receipts and
# certificates find a person's audit entries without reading the whole log.
def _v8_retention_indexes(conn: Connection) -> None:
    conn.execute("CREATE INDEX people_last_interaction ON people(last_interaction_at)")
    conn.execute("CREATE INDEX audit_subject ON audit(subject, seq)")
    conn.execute("CREATE INDEX photos_person ON photos(person_id)")


# issue-17: the devices each purpose version's disclosure names (a snapshot per version).
def _v9_purpose_devices(conn: Connection) -> None:
    from app.devices.schema import DEVICES_V9_SQL

    for statement in split_sql(DEVICES_V9_SQL):
        conn.execute(statement)


# issue-13: every person-facing text of a purpose in Chinese too. Existing versions get none: a
# machine cannot translate what a person consents to, so an admin adds them (``purpose edit``)
# before the purpose is shown in Chinese again.
def _v10_purpose_texts_zh(conn: Connection) -> None:
    for field in ("title", "controller", "description", "recipients", "regulator", "alternative"):
        conn.execute(f"ALTER TABLE purpose_versions ADD COLUMN {field}_zh TEXT NOT NULL DEFAULT ''")


# issue-15 point 7: a purpose may name its own legal basis (in both languages) and data
# protection contact; empty = the jurisdiction's default text and the settings' contact.
def _v11_purpose_legal(conn: Connection) -> None:
    for field in ("legal_basis", "legal_basis_zh", "dpo_contact"):
        conn.execute(f"ALTER TABLE purpose_versions ADD COLUMN {field} TEXT NOT NULL DEFAULT ''")


# issue 12: ``stats`` at 100,000 people reads counters kept by triggers (``app.counts``) instead
# of counting whole tables at every command.
def _v13_counters(conn: Connection) -> None:
    from app.counts import install

    install(conn)


# issue 12: a vault of 100,000 people within 40 KB per person. Each disclosure text kept once
# (consents refer to it by its hash, which the consent form binds), documents compressed at rest
# and inflated byte-exact on reading (``app.stored``); the existing rows are converted here.
def _v14_compact_storage(conn: Connection, progress: Progress | None = None) -> None:
    from app.stored import COMPACT_SQL, convert_compact

    for statement in split_sql(COMPACT_SQL):
        conn.execute(statement)
    convert_compact(conn, progress)


# issue 12: the face gallery is read at 100,000 people by scanning the narrow templates table
# against this covering index of the consents that may match, never visiting (wide) consent rows.
def _v15_matchable_index(conn: Connection) -> None:
    conn.execute(
        "CREATE INDEX consents_matchable ON consents(status, reconsent_due_at, purpose_version_id, id)"
    )


# issue 12: the font subsets that are the same in every form of a disclosure text are kept once
# (``app.doc_parts``); documents stored before keep their compressed form.
def _v16_document_parts(conn: Connection) -> None:
    from app.doc_parts import PARTS_SQL

    for statement in split_sql(PARTS_SQL):
        conn.execute(statement)


# The full check counts every part's references from the documents' listings daily
# (``app.doc_parts.count_refs``). ``parts`` comes after the stored content in each row, so
# reading it walked every document's overflow pages (a quarter of the whole check); this
# partial index holds the listings alone (about 80 bytes a document) and the count reads it.
def _v17_document_parts_index(conn: Connection) -> None:
    conn.execute("CREATE INDEX documents_parts ON documents(parts) WHERE parts IS NOT NULL")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _v1_initial),
    Migration(2, "registry search indexes", _v2_search_indexes),
    Migration(3, "governance records", _v3_governance),  # issue-16
    Migration(4, "recognition devices and revocations", _v4_devices),  # issue-17
    Migration(5, "re-consent after a material purpose change", _v5_reconsent),  # issue-13
    Migration(6, "age basis, photo consent, nameless refusals", _v6_consent_terms),  # issue-13
    Migration(7, "account keys, role grants, signed audit", _v7_accounts),  # issue-11
    Migration(8, "retention and audit indexes", _v8_retention_indexes),  # issue 12
    Migration(9, "devices named by each purpose version", _v9_purpose_devices),  # issue-17
    Migration(10, "purpose texts in Chinese", _v10_purpose_texts_zh),  # issue-13
    Migration(11, "purpose legal basis and DPO contact", _v11_purpose_legal),  # issue-15
    Migration(13, "row counters for the statistics", _v13_counters),  # issue 12
    Migration(
        14, "disclosure texts kept once, documents compressed", _v14_compact_storage, reports=True
    ),
    Migration(15, "covering index of matchable consents", _v15_matchable_index),  # issue 12
    Migration(16, "font programs kept once for many documents", _v16_document_parts),
    Migration(17, "index of the documents' part listings", _v17_document_parts_index),
)
LATEST = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def pending(conn: Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[Migration]:
    version = current_version(conn)
    return [m for m in migrations if m.version > version]


def migrate(
    conn: Connection,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    progress: Callable[[Migration, float], None] | None = None,
) -> list[int]:
    """Apply pending migrations in order, each in one transaction; returns the versions applied.

    ``progress(migration, fraction)`` is told when each starts (0.0) and ends (1.0), and in
    between by the migrations that report. Before each, the version is read again inside its
    transaction: a migration another process committed meanwhile is never applied twice."""
    say = progress or (lambda _m, _f: None)
    applied = []
    for migration in pending(conn, migrations):
        say(migration, 0.0)
        with transaction(conn):
            if current_version(conn) >= migration.version:
                continue
            if migration.reports:
                migration.apply(conn, lambda f, m=migration: say(m, f))
            else:
                migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        applied.append(migration.version)
        say(migration, 1.0)
    return applied
