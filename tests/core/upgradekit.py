"""An old-layout vault for the upgrade tests, and migration 14 as it was (the reference).

The vault is laid out as the code before compact storage left it (``_to_old_layout``: texts
inline, documents as written, strokes as JSON; schema 13), with copies of its consents and
documents so that, as in a real vault, the rows migration 14 rewrites are most of the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from app.db import open_database
from app.desk import Desk
from app.keyslots import Keyslots
from app.migrations import MIGRATIONS, Migration, migrate
from app.paths import VaultPaths
from app.stored import COMPACT_SQL, RAW, pack, pack_strokes, put_text, unpack
from tests.core.test_compact_storage import _BEFORE_COMPACT, _to_old_layout
from tests.core.vaultkit import ADMIN, PASSWORD, enroll

COPIES = 40  # copies of each consent and document row


def build_old_vault(desk: Desk, purpose: Any, copies: int = COPIES) -> dict[str, str]:
    """Two real people (English and Chinese forms), the vault rewritten to schema 13's layout,
    then ``copies`` copies of their consent and document rows; returns ``{document id:
    SHA-256}`` of the real forms. The desk is locked afterwards."""
    people = [
        enroll(desk, purpose, name="Canary Zebulon"),
        enroll(desk, purpose, name="张伟", seed=2, language="zh"),
    ]
    forms = {
        d.id: hashlib.sha256(desk.document_pdf(d.id)).hexdigest()
        for r in people
        for d in desk.person_documents(r.person.id)
    }
    _to_old_layout(desk)
    conn = desk._conn
    with desk.session.write() as c:
        c.execute("DROP INDEX consents_matchable")
        for table, fresh in (("consents", "'C' || lower(hex(randomblob(10)))"),
                             ("documents", "lower(hex(randomblob(8)))")):  # fmt: skip
            names = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
            rest = ", ".join(n for n in names if n != "id")
            originals = int(c.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0])
            for _ in range(copies):
                c.execute(
                    f"INSERT INTO {table} (id, {rest}) SELECT {fresh}, {rest} FROM {table} "
                    "WHERE rowid <= ?",
                    (originals,),
                )
        c.execute(f"PRAGMA user_version = {_BEFORE_COMPACT}")
    desk.lock()
    return forms


def key_of(home: Path) -> bytes:
    return Keyslots.load(VaultPaths(home).keyslots).unlock_user(ADMIN, PASSWORD)


def version_of(home: Path) -> int:
    """The schema version on disk, read without migrating anything (after finishing or undoing
    an interrupted swap, as every open does first)."""
    from app.restore_journal import recover

    recover(VaultPaths(home))
    conn = open_database(VaultPaths(home).database, key_of(home), quick=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


# The tables whose rows an upgrade must leave exactly as the reference migration does.
COMPARED = (
    "documents",
    "consents",
    "disclosure_texts",
    "document_parts",
    "counts",
    "people",
    "templates",
    "audit",
    "purpose_versions",
)


def dump(home: Path) -> dict[str, Any]:
    """Schema, version and every compared row (rowid included) of the vault at ``home``."""
    conn = open_database(VaultPaths(home).database, key_of(home), quick=True)
    try:
        out: dict[str, Any] = {
            "version": conn.execute("PRAGMA user_version").fetchone()[0],
            "schema": sorted(
                (str(t), str(n), str(s))
                for t, n, s in conn.execute("SELECT type, name, sql FROM sqlite_master")
            ),
        }
        for table in COMPARED:
            rowid = "" if table == "counts" else "rowid, "
            order = "name" if table == "counts" else "rowid"
            out[table] = conn.execute(f"SELECT {rowid}* FROM {table} ORDER BY {order}").fetchall()
        return out
    finally:
        conn.close()


def _reference_convert(conn: Any) -> None:
    """Migration 14's data step as it was written before the upgrade work: one row at a time,
    in one thread. The new one must leave exactly the same rows."""
    for sha, text in conn.execute(
        "SELECT text_sha256, disclosure_text FROM consents WHERE disclosure_text <> '' "
        "GROUP BY text_sha256, disclosure_text"
    ).fetchall():
        if hashlib.sha256(str(text).encode("utf-8")).hexdigest() != sha:
            continue
        put_text(conn, str(text))
        conn.execute(
            "UPDATE consents SET disclosure_text = '' WHERE text_sha256 = ? AND disclosure_text = ?",
            (sha, text),
        )
    for column in ("signature", "guardian_signature"):
        for rowid, value in conn.execute(
            f"SELECT rowid, {column} FROM consents WHERE typeof({column}) = 'text'"
        ).fetchall():
            data = json.loads(value)
            if json.dumps(data) == value:
                conn.execute(
                    f"UPDATE consents SET {column} = ? WHERE rowid = ?", (pack_strokes(data), rowid)
                )
    ids = [r[0] for r in conn.execute("SELECT rowid FROM documents ORDER BY rowid").fetchall()]
    for rowid in ids:
        content = conn.execute("SELECT content FROM documents WHERE rowid = ?", (rowid,)).fetchone()
        original = bytes(content[0])
        packed, encoding = pack(original)
        if encoding == RAW or unpack(packed, encoding, None) != original:
            conn.execute("UPDATE documents SET size = ? WHERE rowid = ?", (len(original), rowid))
            continue
        conn.execute(
            "UPDATE documents SET content = ?, encoding = ?, size = ? WHERE rowid = ?",
            (packed, encoding, len(original), rowid),
        )


def _reference_v14(conn: Any) -> None:
    for statement in COMPACT_SQL.strip().split(";"):
        if statement.strip():
            conn.execute(statement)
    _reference_convert(conn)


def reference_copy(home: Path, where: Path) -> Path:
    """A copy of the old vault at ``where``, migrated by the reference (no backup, no
    compaction: the rows only)."""
    shutil.copytree(home, where)
    reference = tuple(
        Migration(m.version, m.name, _reference_v14) if m.version == 14 else m for m in MIGRATIONS
    )
    conn = open_database(VaultPaths(where).database, key_of(where), quick=True)
    try:
        migrate(conn, reference)
    finally:
        conn.close()
    return where
