"""Row counters kept by triggers, so ``stats`` costs the same at 100 people as at 100,000.

Why counters and not ``count(*)`` (issue 12): a count walks a whole table or index, and every
page SQLCipher reads is decrypted and authenticated; the active-consent count even read every
(wide) consent row, 146 ms at 10,000 people and ten times that at 100,000, in every ``stats``
process and every Settings visit. The counters live in the vault and are changed by triggers in
the same transaction as the rows they count, whatever path changes them (enrollment, withdrawal,
erasure and its cascades, the retention purge, bulk import, the bench's bulk SQL), so they cannot
drift from the data; a restored backup carries its own, and a backup from before the counters
gets them from one count when it is migrated. ``recount`` compares them with real counts (the
tests, and the background full check) and repairs a difference.

Consents are counted per status, and "active" apart from "active, waiting for re-consent"
(``reconsent_due_at`` set): the statistics count only the former as active.
"""

from __future__ import annotations

from app.db import Connection, split_sql
from app.models import CONSENT_STATUSES, Stats

# (counter name, table) for the tables counted whole.
TABLES: tuple[tuple[str, str], ...] = (
    ("people", "people"),
    ("templates", "templates"),
    ("documents", "documents"),
    ("audit", "audit"),
    ("refusals", "refusals"),  # nameless refusals (issue-13); named ones are consents
)
_STORED_STATUSES = tuple(s for s in CONSENT_STATUSES if s != "reconsent")
# The counter a consent row belongs to: its status, plus ".reconsent" while it waits for one.
_KEY = "'consents.' || {row}.status || CASE WHEN {row}.reconsent_due_at IS NULL THEN '' ELSE '.reconsent' END"


def consent_counter_names() -> tuple[str, ...]:
    return tuple(f"consents.{s}{r}" for s in _STORED_STATUSES for r in ("", ".reconsent"))


def _table_triggers(name: str, table: str) -> str:
    return f"""
CREATE TRIGGER count_{table}_insert AFTER INSERT ON {table}
BEGIN UPDATE counts SET n = n + 1 WHERE name = '{name}'; END;
CREATE TRIGGER count_{table}_delete AFTER DELETE ON {table}
BEGIN UPDATE counts SET n = n - 1 WHERE name = '{name}'; END;
"""


# Only UPDATEs in the bodies: an INSERT there would take the conflict policy of the statement
# that fired the trigger (an ``INSERT OR REPLACE`` would reset a counter). Every name is
# created by the migration, so an UPDATE always finds its row.
COUNTS_SQL = (
    "CREATE TABLE counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;\n"
    + "".join(_table_triggers(name, table) for name, table in TABLES)
    + f"""
CREATE TRIGGER count_consents_insert AFTER INSERT ON consents
BEGIN UPDATE counts SET n = n + 1 WHERE name = {_KEY.format(row="NEW")}; END;
CREATE TRIGGER count_consents_delete AFTER DELETE ON consents
BEGIN UPDATE counts SET n = n - 1 WHERE name = {_KEY.format(row="OLD")}; END;
CREATE TRIGGER count_consents_update AFTER UPDATE OF status, reconsent_due_at ON consents
WHEN {_KEY.format(row="OLD")} IS NOT {_KEY.format(row="NEW")}
BEGIN
    UPDATE counts SET n = n - 1 WHERE name = {_KEY.format(row="OLD")};
    UPDATE counts SET n = n + 1 WHERE name = {_KEY.format(row="NEW")};
END;
"""
)


def _real_counts(conn: Connection) -> dict[str, int]:
    """The counts the counters stand for, the slow way (whole tables)."""
    real = {
        name: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for name, table in TABLES
    }
    real.update(dict.fromkeys(consent_counter_names(), 0))
    rows = conn.execute(
        f"SELECT {_KEY.format(row='c')} AS name, count(*) FROM consents c GROUP BY name"
    ).fetchall()
    for name, n in rows:
        real[str(name)] = int(n)
    return real


def install(conn: Connection) -> None:
    """Migration 13: the table, its triggers, and the counters filled from one real count."""
    for statement in split_sql(COUNTS_SQL):
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO counts (name, n) VALUES (?, ?)", sorted(_real_counts(conn).items())
    )


def counters(conn: Connection) -> dict[str, int]:
    return {str(name): int(n) for name, n in conn.execute("SELECT name, n FROM counts")}


def recount(conn: Connection) -> dict[str, tuple[int, int]]:
    """Compare every counter with the real count and set it right (call inside a write
    transaction); returns ``{name: (counter, real)}`` for those that differed."""
    stored = counters(conn)
    drift = {}
    for name, real in _real_counts(conn).items():
        if stored.get(name) != real:
            drift[name] = (stored.get(name, -1), real)
            conn.execute(
                "INSERT INTO counts (name, n) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET n = excluded.n",
                (name, real),
            )
    return drift


def stats(conn: Connection) -> Stats:
    """The registry's statistics: a handful of counter rows plus the two small tables."""
    c = counters(conn)

    def consents(status: str, *, reconsent: bool = True) -> int:
        n = c.get(f"consents.{status}", 0)
        return n + c.get(f"consents.{status}.reconsent", 0) if reconsent else n

    def small(table: str) -> int:  # staff and purposes: a few rows at any vault size
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    return Stats(
        people=c.get("people", 0),
        active_consents=consents("active", reconsent=False),
        refusals=consents("refused") + c.get("refusals", 0),
        withdrawn=consents("withdrawn"),
        expired=consents("expired"),
        templates=c.get("templates", 0),
        documents=c.get("documents", 0),
        staff=small("staff"),
        purposes=small("purposes"),
        audit_entries=c.get("audit", 0),
    )
