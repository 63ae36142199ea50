"""Opening the SQLCipher database the same careful way every time.

The order matters: the key is set before anything touches the file (otherwise SQLCipher would
treat it as plain SQLite), SQLCipher's own logging is silenced (it writes to stderr, where a
terminal or log collector would pick it up), and the privacy pragmas are applied to every
connection because SQLite does not persist them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlcipher3

from app.errors import StorageError, VaultCorrupt, VaultError
from app.walcheck import check_wal

Connection = Any  # sqlcipher3.Connection has no type stubs
DatabaseError = sqlcipher3.DatabaseError
DATA_KEY_BYTES = 32


def key_pragma(key: bytes) -> str:
    """Raw-key form: SQLCipher uses the 256 bits directly, no per-open PBKDF2."""
    if len(key) != DATA_KEY_BYTES:
        raise ValueError("data key must be 32 bytes")
    return f"\"x'{key.hex()}'\""


def _key_and_probe(conn: Connection, key: bytes) -> None:
    """Give the key and read the schema once, for the read-write and the read-only open alike.

    The first read is where a wrong key or a damaged file shows, and where a full or read-only
    disk shows too (issue 11): the two must not be told apart wrongly, so both opens share this.
    """
    conn.execute(f"PRAGMA key = {key_pragma(key)}")
    conn.execute("PRAGMA cipher_log_level = NONE")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.OperationalError as exc:
        if not _is_storage_error(exc):
            raise VaultCorrupt(
                "The vault database cannot be decrypted: it is damaged or was changed "
                "outside ConsentDesk. Restore the latest backup (consentdesk restore FILE)."
            ) from None
        # a full or read-only disk is not a damaged vault; say which it is
        raise StorageError(
            "The vault cannot be opened: nothing can be written to its disk (full, "
            "read-only or over a file-size limit). Free some space; no data was changed."
        ) from None
    except sqlcipher3.DatabaseError:
        raise VaultCorrupt(
            "The vault database cannot be decrypted: it is damaged or was changed outside "
            "ConsentDesk. Restore the latest backup (consentdesk restore FILE)."
        ) from None


def open_database(path: Path, key: bytes, *, check: bool = True, quick: bool = False) -> Connection:
    """Open (or create) the encrypted database at ``path`` and verify it can be read.

    ``check``: the full integrity checks (every page; a copy being verified). ``quick``: only
    what does not grow with the file (the WAL's checksums, the key against the header), for
    sign-in (issue 12; the full checks then run in the background, see ``app.integrity``).
    Raises :class:`VaultCorrupt` if the key does not fit the file or integrity checks fail; a
    file is never opened without its key.
    """
    if check or quick:
        check_wal(Path(path))  # before SQLite reads the log and silently drops damage
    inode = _inode(path)
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        try:
            _key_and_probe(conn, key)
            inode = inode or _inode(path)  # a new file exists from the probe on
            # Before the first pragma that may need a lock: a rekey or restore running in
            # another process holds one for a while, and waiting beats failing at once.
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except (sqlcipher3.DatabaseError, VaultCorrupt) as exc:
            replaced = inode is not None and _inode(path) != inode
            if replaced or "locked" in str(exc) or "busy" in str(exc):
                raise _busy() from None
            raise
        if _inode(path) != inode:
            # Opened the file a rekey (or restore) has just replaced (issue 12): working on
            # it would write into a deleted file, or fold the new vault's WAL into it.
            raise _busy()
        if check or quick:
            # Fold the WAL in first: a checkpoint cut short (full disk, crash) can leave a
            # partial page at the end of the main file that the WAL still holds in full.
            # cipher_integrity_check reads the main file only and would call that damage.
            with contextlib.suppress(sqlcipher3.OperationalError):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        if check and not quick:
            check_integrity(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _busy() -> VaultError:
    return VaultError(
        "The vault is open in another window or command; close it and try again. "
        "Nothing was changed.",
        code="vault_busy",
    )


def open_read_only(path: Path, key: bytes) -> Connection:
    """issue-11: open the vault for reading only, when a full disk refused the normal open.

    ``mode=ro`` first (SQLite still needs the WAL's shared-memory file); if even that cannot be
    created, ``immutable=1``, which reads the main file alone and is therefore allowed only
    when the WAL holds nothing (otherwise committed work in it would be silently ignored)."""
    path = Path(path)
    wal = path.with_name(path.name + "-wal")
    try:
        return _connect_ro(path, key, immutable=False)
    except StorageError:
        try:
            wal_empty = not wal.exists() or wal.stat().st_size == 0
        except OSError:
            wal_empty = False
        if not wal_empty:
            raise
    return _connect_ro(path, key, immutable=True)


def _connect_ro(path: Path, key: bytes, *, immutable: bool) -> Connection:
    uri = path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        _key_and_probe(conn, key)
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
    except BaseException:
        conn.close()
        raise
    return conn


def check_integrity(conn: Connection) -> None:
    """Both SQLCipher's per-page HMAC check and SQLite's structural check must pass."""
    try:
        cipher_problems = conn.execute("PRAGMA cipher_integrity_check").fetchall()
        structure = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlcipher3.DatabaseError:
        cipher_problems, structure = [("unreadable",)], [("unreadable",)]
    if cipher_problems or structure != [("ok",)]:
        raise VaultCorrupt(
            "The vault database failed its integrity check: it is damaged or was changed outside "
            "ConsentDesk. Restore the latest backup (consentdesk restore FILE)."
        )


@contextlib.contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error.

    Disk-full and size-limit errors become :class:`StorageError`: the transaction is rolled back,
    so nothing committed earlier is lost.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException as exc:
        with contextlib.suppress(sqlcipher3.Error):
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlcipher3.OperationalError | OSError) and _is_storage_error(exc):
            raise StorageError(
                "The change could not be saved: the disk is full or the file is too large. "
                "Nothing was changed."
            ) from None
        raise
    else:
        try:
            conn.execute("COMMIT")
        except (sqlcipher3.OperationalError, OSError) as exc:
            with contextlib.suppress(sqlcipher3.Error):
                conn.execute("ROLLBACK")
            if _is_storage_error(exc):
                raise StorageError(
                    "The change could not be saved: the disk is full or the file is too large. "
                    "Nothing was changed."
                ) from None
            raise


def _is_storage_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(
        s in text
        for s in (
            "full",
            "disk i/o",
            "too large",
            "file size",
            "no space",
            "readonly",
            "unable to open",
        )
    )


def checkpoint(conn: Connection) -> None:
    """Fold the WAL into the main file and truncate it, so deleted data leaves no stale page in
    the WAL (secure_delete zeroes the freed pages in the main file)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


BACKUP_STEP_PAGES = 256  # 1 MiB per step: memory stays bounded, progress moves


def backup_copy(
    conn: Connection,
    target: Path,
    key: bytes,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Copy the whole database to ``target`` (keyed with ``key``) page by page through
    SQLite's online backup API (issue 12: ``sqlcipher_export`` into memory cost a vault's
    size in RAM). ``progress`` may raise to cancel; the caller removes the partial copy."""
    dest = sqlcipher3.connect(str(target), isolation_level=None, check_same_thread=False)
    try:
        dest.execute(f"PRAGMA key = {key_pragma(key)}")
        dest.execute("PRAGMA cipher_log_level = NONE")

        def step(_status: int, remaining: int, total: int) -> None:
            if progress is not None and total:
                progress((total - remaining) / total)

        conn.backup(dest, pages=BACKUP_STEP_PAGES, progress=step)
        dest.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
    finally:
        dest.close()


Row = Any  # sqlcipher3.Row: read by column name (``row["id"]``), never by position


def fetch_one(conn: Connection, sql: str, args: Sequence[Any] = ()) -> Row | None:
    """One row addressed by column name, so adding a column to a SELECT cannot shift a field."""
    cur = conn.cursor()
    cur.row_factory = sqlcipher3.Row
    return cur.execute(sql, args).fetchone()


def fetch_all(conn: Connection, sql: str, args: Sequence[Any] = ()) -> list[Row]:
    """All rows addressed by column name (see :func:`fetch_one`)."""
    cur = conn.cursor()
    cur.row_factory = sqlcipher3.Row
    return list(cur.execute(sql, args).fetchall())


def fetch_columns(
    conn: Connection, sql: str, args: Sequence[Any] = ()
) -> dict[str, tuple[Any, ...]]:
    """All rows as columns addressed by column name: ``{"id": (1, 2, ...), ...}``.

    For the few bulk reads whose rows are counted in hundreds of thousands (the face gallery at
    100,000 people): a name-addressed Row object per row, and a Python lookup per field, cost
    more there than decrypting the pages. Fields are still taken by name, never by position."""
    cur = conn.cursor()
    cur.execute(sql, args)
    rows = cur.fetchall()
    names = [d[0] for d in cur.description or ()]
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return dict(zip(names, columns, strict=True))


def scalar(conn: Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    """The first column of the first row (counts, single values), or None."""
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]


def split_sql(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies contain ``;`` themselves).

    ``executescript`` would commit the surrounding transaction, so statements run one by one.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlcipher3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError("incomplete SQL statement at end of script")
    return statements
