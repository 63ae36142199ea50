"""Build a vault laid out as ConsentDesk left it before the storage migrations (schema 11).

Why: a site upgrading with a large vault runs migrations 13 (counters), 14 (compact storage),
15 (matchable index) and 16 (shared font programs) at its first sign-in, and how long that takes
shows only on a large vault at the old schema. This builds one fast: the bench's vault of N
people (``app.vault_bench``: real enrollments, then the same rows in bulk), then rewritten in
bulk as schema 11 had it: disclosure texts inline in every consent, signature strokes as JSON
text, documents as written (raw PDF bytes), no ``counts``, ``disclosure_texts``,
``document_parts`` or their columns, triggers and index.

    python tools/old_vault.py build /work/tmp/upgrade/old10k 10000
    python tools/old_vault.py time /work/tmp/upgrade/old10k [--copy-to DIR]

``time`` signs in (the production path: backup first, then each pending migration) and prints
each migration's seconds; ``--copy-to`` migrates a copy and leaves the built vault as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OLD_SCHEMA = 11


def downgrade(c: Any) -> None:
    """Rewrite a current vault's rows and schema as schema 11 kept them (one transaction)."""
    from app.stored import strokes, unpack

    c.execute("PRAGMA foreign_keys = OFF")
    c.execute("BEGIN IMMEDIATE")
    # documents as written: every bulk row is a copy of one of a few real forms, so each
    # distinct stored form is inflated once and written back by one set-based UPDATE
    forms = c.execute("SELECT DISTINCT content, encoding, sha256, parts FROM documents").fetchall()
    for content, encoding, sha, parts in forms:
        c.execute(
            "UPDATE documents SET content = ? WHERE sha256 = ? AND parts IS ? AND content = ?",
            (unpack(content, encoding, sha, conn=c, parts=parts), sha, parts, content),
        )
    c.execute("DROP INDEX IF EXISTS documents_parts")  # migration 17
    for trigger in ("document_parts_add", "document_parts_drop", "document_parts_change"):
        c.execute(f"DROP TRIGGER {trigger}")
    c.execute("DROP TABLE document_parts")
    c.execute("ALTER TABLE documents DROP COLUMN parts")
    c.execute("DROP INDEX consents_matchable")
    c.execute(
        "UPDATE consents SET disclosure_text = (SELECT text FROM disclosure_texts t "
        "WHERE t.sha256 = consents.text_sha256) WHERE disclosure_text = ''"
    )
    for column in ("signature", "guardian_signature"):
        values = c.execute(
            f"SELECT DISTINCT {column} FROM consents WHERE typeof({column}) = 'blob'"
        ).fetchall()
        for (value,) in values:
            c.execute(
                f"UPDATE consents SET {column} = ? WHERE {column} = ?",
                (json.dumps(strokes(value)), value),
            )
    c.execute("DROP TABLE disclosure_texts")
    c.execute("ALTER TABLE documents DROP COLUMN size")
    c.execute("ALTER TABLE documents DROP COLUMN encoding")
    for (name,) in c.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'count\\_%' ESCAPE '\\'"
    ).fetchall():
        c.execute(f"DROP TRIGGER {name}")
    c.execute("DROP TABLE counts")
    c.execute(f"PRAGMA user_version = {OLD_SCHEMA}")
    c.execute("COMMIT")
    c.execute("PRAGMA foreign_keys = ON")


def build(home: Path, people: int) -> None:
    from app.db import checkpoint, open_database
    from app.keyslots import Keyslots
    from app.paths import VaultPaths
    from app.vault_bench import ADMIN, PASSWORD, _Builder

    t0 = time.perf_counter()
    _Builder(home, lambda m: print(m, file=sys.stderr)).build(people)
    print(f"built {people} people in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    paths = VaultPaths(home)
    key = Keyslots.load(paths.keyslots).unlock_user(ADMIN, PASSWORD)
    conn = open_database(paths.database, key, check=False)
    try:
        conn.execute("PRAGMA cache_size = -262144")
        # a throwaway test vault: freed pages need no zeroing (the VACUUM INTO below drops them)
        conn.execute("PRAGMA secure_delete = OFF")
        t0 = time.perf_counter()
        downgrade(conn)
        checkpoint(conn)
        print(
            f"rewritten as schema {OLD_SCHEMA} in {time.perf_counter() - t0:.1f} s", file=sys.stderr
        )
        # VACUUM INTO a file beside it (a plain VACUUM would build the copy in memory:
        # the vault's temp_store is MEMORY), then put it in place
        t0 = time.perf_counter()
        compact = paths.database.with_name("vault.compact.db")
        conn.execute("VACUUM INTO ?", (str(compact),))
        print(f"vacuumed in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(paths.database) + suffix).unlink(missing_ok=True)
    os.replace(compact, paths.database)
    shutil.rmtree(paths.backups, ignore_errors=True)
    print(f"{paths.database}: {paths.database.stat().st_size / 1e6:.0f} MB", file=sys.stderr)


def time_migrations(home: Path) -> dict[str, float]:
    """Sign in as the bench admin and time each pending migration (and the whole sign-in)."""
    import app.migrations as migrations
    from app.desk import Desk, DeskOptions
    from app.vault_bench import ADMIN, PASSWORD

    times: dict[str, float] = {}
    real = {m.version: m.apply for m in migrations.MIGRATIONS}
    for m in migrations.MIGRATIONS:

        def timed(conn: Any, *rest: Any, _v: int = m.version) -> None:
            t = time.perf_counter()
            real[_v](conn, *rest)
            times[f"v{_v}"] = round(time.perf_counter() - t, 2)

        object.__setattr__(m, "apply", timed)
    starts: dict[str, float] = {}
    lines: list[str] = []

    def progress(step: Any) -> None:
        starts.setdefault(
            step.kind if step.kind != "migration" else "migrations", time.perf_counter()
        )
        starts[f"{step.kind}_end"] = time.perf_counter()
        if step.notice:
            lines.append(step.line())

    extra = (
        {"upgrade_progress": progress}
        if "upgrade_progress" in DeskOptions.__dataclass_fields__
        else {}
    )
    t0 = time.perf_counter()
    try:
        desk = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(auto_purge=False, **extra))
        times["sign_in_total"] = round(time.perf_counter() - t0, 2)
        for kind in ("backup", "reclaim"):
            if kind in starts:
                times[kind] = round(starts[f"{kind}_end"] - starts[kind], 2)
        if lines:
            times["notices"] = lines  # type: ignore[assignment]
        desk.lock()
    finally:
        for m in migrations.MIGRATIONS:
            object.__setattr__(m, "apply", real[m.version])
    times["db_mb_after"] = round((home / "vault.db").stat().st_size / 1e6, 1)
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("root", type=Path)
    b.add_argument("people", type=int)
    t = sub.add_parser("time")
    t.add_argument("root", type=Path)
    t.add_argument("--copy-to", type=Path)
    args = parser.parse_args(argv[1:])
    if args.cmd == "build":
        build(args.root / "vault", args.people)
        return 0
    home = args.root / "vault"
    if args.copy_to is not None:
        shutil.copytree(home, args.copy_to / "vault")
        home = args.copy_to / "vault"
    print(json.dumps(time_migrations(home)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
