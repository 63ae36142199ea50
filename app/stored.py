"""How documents and disclosure texts are kept at rest (issue 12: ≤ 40 KB per person).

Two things dominated a vault: every consent kept its own copy of the disclosure text shown
(several KB, the same for everyone who signed the same purpose version in the same language),
and every signed PDF was kept as written, its signature placeholder and cross-reference tables
included. Now:

* **Disclosure texts** are kept once per text in ``disclosure_texts``, keyed by the SHA-256 of
  their exact UTF-8 bytes, which is the consent's ``text_sha256`` (the consent form prints and
  binds that hash). A consent row keeps an empty ``disclosure_text`` when its text is there.
  The texts hold no personal data: a shown disclosure is made from the purpose and the
  organisation only, a paper-consent record from the purpose, the organisation and the signing
  date (``app.rooms.consent_terms.paper_record_text``); never a name.
* **Signature strokes** (the pen's points as JSON) are kept zlib-compressed as a BLOB in the
  same ``signature``/``guardian_signature`` columns; a TEXT value there is the JSON as before.
* **Documents** are kept zlib-compressed (``encoding = 'zlib'``) when that is smaller, with their
  original ``size``. Compression is lossless: reading inflates to the identical bytes and checks
  them against the stored SHA-256 before anything is handed out, so the signed file a person or
  a verifier receives is byte for byte the one that was signed.

Rows written before migration 14 (text inline, ``encoding = 'raw'``) read the same way.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from app.db import Connection
from app.errors import VaultCorrupt

RAW: Final = "raw"
ZLIB: Final = "zlib"
PARTS: Final = "zlib+parts"  # font programs kept once in document_parts (``app.doc_parts``)
_LEVEL = 9


def pack(content: bytes) -> tuple[bytes, str]:
    """The stored form of a document and its encoding: compressed if that saves bytes (a JPEG
    scan does not shrink and is kept as it is)."""
    packed = zlib.compress(content, _LEVEL)
    if len(packed) < len(content):
        return packed, ZLIB
    return content, RAW


def store(conn: Connection, content: bytes) -> tuple[bytes, str, str | None]:
    """A document's stored form, encoding and parts list, inside the caller's transaction: font
    programs cut out and kept once when it is a PDF that has them, compressed otherwise."""
    from app.doc_parts import split

    cut = split(conn, content)
    if cut is not None:
        return cut[0], PARTS, cut[1]
    stored, encoding = pack(content)
    return stored, encoding, None


def unpack(
    stored: bytes,
    encoding: str | None,
    sha256: str | None,
    *,
    conn: Connection | None = None,
    parts: str | None = None,
) -> bytes:
    """The document's original bytes, checked against its SHA-256 (when given)."""
    if encoding == PARTS:
        from app.doc_parts import join

        whole = join(conn, stored, parts or "[]") if conn is not None else None
        if whole is None:
            raise _damaged()
        content = whole
    elif encoding in (None, "", RAW):
        content = bytes(stored)
    elif encoding == ZLIB:
        try:
            content = zlib.decompress(stored)
        except zlib.error:
            raise _damaged() from None
    else:
        raise _damaged()
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        raise _damaged()
    return content


def _damaged() -> VaultCorrupt:
    return VaultCorrupt(
        "A stored document does not match its fingerprint: the vault is damaged or was changed "
        "outside ConsentDesk. Restore the latest backup (consentdesk restore FILE)."
    )


# Columns a reader selects to get a document back with :func:`unpack`.
DOC_COLUMNS: Final = "content, encoding, sha256, parts"


def document_of(conn: Connection, document_id: str) -> bytes | None:
    """A stored document's original bytes, or None if the vault holds no such document."""
    row = conn.execute(
        f"SELECT {DOC_COLUMNS} FROM documents WHERE id = ?", (document_id,)
    ).fetchone()
    if row is None:
        return None
    return unpack(row[0], row[1], row[2], conn=conn, parts=row[3])


def pack_strokes(signature: Mapping[str, Any] | None) -> bytes | None:
    """The stored form of a signature's strokes (``Signature.to_json()``): compressed JSON."""
    if signature is None:
        return None
    return zlib.compress(json.dumps(signature).encode("utf-8"), _LEVEL)


def strokes(value: str | bytes | None) -> dict[str, Any] | None:
    """A stored signature back as ``Signature.to_json()`` gave it (either stored form)."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = zlib.decompress(bytes(value)).decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            raise _damaged() from None
    data = json.loads(value)
    return data if isinstance(data, dict) else None


def text_column(conn: Connection, text: str, sha256: str) -> str:
    """What a new consent row stores as ``disclosure_text``: empty once the text is kept in
    ``disclosure_texts`` under ``sha256``; the text itself if it is not that hash's text."""
    return "" if put_text(conn, text) == sha256 else text


def put_text(conn: Connection, text: str) -> str:
    """Keep ``text`` once (inside the caller's transaction) and return its SHA-256, the key a
    consent refers to it by. The consent row itself then stores an empty text."""
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    conn.execute("INSERT OR IGNORE INTO disclosure_texts (sha256, text) VALUES (?, ?)", (sha, text))
    return sha


def consent_text(conn: Connection, consent_id: str) -> str | None:
    """The exact text a consent was given on (None: no such consent)."""
    row = conn.execute(
        "SELECT c.disclosure_text, c.text_sha256, t.text FROM consents c "
        "LEFT JOIN disclosure_texts t ON t.sha256 = c.text_sha256 WHERE c.id = ?",
        (consent_id,),
    ).fetchone()
    if row is None:
        return None
    if row[0]:
        return str(row[0])  # kept inline (before migration 14, or a text not its hash's)
    text = row[2]
    if text is None or hashlib.sha256(str(text).encode("utf-8")).hexdigest() != row[1]:
        raise VaultCorrupt(
            "A consent's disclosure text is missing or does not match its fingerprint: the vault "
            "is damaged or was changed outside ConsentDesk. Restore the latest backup "
            "(consentdesk restore FILE)."
        )
    return str(text)


# Rows per read and per ``executemany`` while documents are converted: a few MB in memory.
_CHUNK = 64
# Shares of migration 14's progress: the documents are nearly all of the work.
_TEXTS, _STROKES = 0.03, 0.1


def convert_compact(conn: Connection, progress: Callable[[float], None] | None = None) -> None:
    """Migration 14's data step: share the texts whose hash matches, compress the documents.

    A text that does not match its consent's ``text_sha256`` stays inline as it was (the
    migration never decides which of the two is right); a document is rewritten only after its
    compressed form was inflated back and compared.

    Why it is shaped like this (a site upgrading a 100,000-person vault waited 12 minutes with
    nothing shown): rows are read and written a chunk at a time (one ``SELECT`` by rowid range,
    one ``executemany``), and the compression, nearly all of the CPU, runs on worker threads
    (zlib releases the GIL) while SQLite reads the next chunk and writes the previous one. The
    stored bytes are the same as one row at a time (zlib at level 9 is deterministic).
    ``progress`` gets 0..1."""
    report = progress or (lambda _f: None)
    _share_texts(conn)
    report(_TEXTS)
    # As many compressing threads as cores: measured at 2,000 documents on 2 cores, one worker
    # kept the main thread waiting for it 1.4 s of 5.0, two workers 0.65 s of 4.4.
    workers = max(1, min(4, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="compact") as pool:
        _convert_strokes(conn, pool, lambda f: report(_TEXTS + (_STROKES - _TEXTS) * f))
        report(_STROKES)
        _convert_documents(conn, pool, lambda f: report(_STROKES + (1 - _STROKES) * f))
    report(1.0)


def _share_texts(conn: Connection) -> None:
    """Each inline text that matches its consent's hash goes once into ``disclosure_texts``
    (in hash order, as before) and the consent rows keep an empty text.

    Two passes over the consents whatever the number of distinct texts: the text sits before
    its hash in the row, so every scan reads every inline text's overflow pages, and the
    statement per text this replaces read them all once per text (per purpose version and
    language at a real site); its ``GROUP BY`` of the whole texts also sorted them all in
    memory. Here only (hash, rowid) pairs are grouped."""
    conn.create_function("cd_text_sha256", 1, _text_sha256, deterministic=True)
    try:
        matched = "disclosure_text <> '' AND cd_text_sha256(disclosure_text) = text_sha256"
        for sha, rowid in conn.execute(
            f"SELECT text_sha256, min(rowid) FROM consents WHERE {matched} "
            "GROUP BY text_sha256 ORDER BY text_sha256"
        ).fetchall():
            text = conn.execute(
                "SELECT disclosure_text FROM consents WHERE rowid = ?", (rowid,)
            ).fetchone()[0]
            if put_text(conn, str(text)) != sha:  # pragma: no cover - matched just above
                raise _damaged()
        conn.execute(f"UPDATE consents SET disclosure_text = '' WHERE {matched}")
    finally:
        conn.create_function("cd_text_sha256", 1, None)


def _text_sha256(text: object) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if isinstance(text, str) else None


def _compress_strokes(value: str) -> bytes:
    """What :func:`pack_strokes` stores for strokes whose JSON is ``value`` (checked by the
    caller to be exactly what ``json.dumps`` gives): the same bytes, without encoding the JSON
    a second time. Runs on a worker thread."""
    return zlib.compress(value.encode("utf-8"), _LEVEL)


def _convert_strokes(
    conn: Connection, pool: concurrent.futures.Executor, report: Callable[[float], None]
) -> None:
    """Signature strokes stored as JSON text become compressed JSON (when they re-encode to
    the same text), a chunk of rows at a time, compressed on the workers."""
    for index, column in enumerate(("signature", "guardian_signature")):
        total = max(1, int(conn.execute("SELECT max(rowid) FROM consents").fetchone()[0] or 0))
        last = -1
        while True:
            rows = conn.execute(
                f"SELECT rowid, {column} FROM consents WHERE rowid > ? "
                f"AND typeof({column}) = 'text' ORDER BY rowid LIMIT ?",
                (last, _CHUNK * 16),
            ).fetchall()
            if not rows:
                break
            last = int(rows[-1][0])
            same = [
                (rowid, pool.submit(_compress_strokes, value))
                for rowid, value in rows
                if json.dumps(json.loads(value)) == value  # re-encodes to the same JSON
            ]
            conn.executemany(
                f"UPDATE consents SET {column} = ? WHERE rowid = ?",
                [(future.result(), rowid) for rowid, future in same],
            )
            report((index + min(1.0, last / total)) / 2)


def _compressed_or_none(original: bytes) -> bytes | None:
    """The document's zlib form, or None when it is kept as it is (does not shrink, or does
    not inflate back to the same bytes). Runs on a worker thread."""
    packed, encoding = pack(original)
    if encoding == RAW or zlib.decompress(packed) != original:
        return None
    return packed


def _convert_documents(
    conn: Connection, pool: concurrent.futures.Executor, report: Callable[[float], None]
) -> None:
    total = int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    done = 0
    last = -1
    queued: list[tuple[int, int, concurrent.futures.Future[bytes | None]]] = []
    while True:
        rows = conn.execute(
            "SELECT rowid, content FROM documents WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, _CHUNK),
        ).fetchall()
        # this chunk compresses on the workers while the previous one is written
        ahead = [(int(r), len(c), pool.submit(_compressed_or_none, bytes(c))) for r, c in rows]
        _write_documents(conn, queued)
        done += len(queued)
        report(done / total if total else 1.0)
        if not rows:
            break
        last = ahead[-1][0]
        queued = ahead


def _write_documents(
    conn: Connection, queued: list[tuple[int, int, concurrent.futures.Future[bytes | None]]]
) -> None:
    packed, kept = [], []
    for rowid, size, future in queued:
        stored = future.result()
        if stored is None:
            kept.append((size, rowid))
        else:
            packed.append((stored, ZLIB, size, rowid))
    if kept:
        conn.executemany("UPDATE documents SET size = ? WHERE rowid = ?", kept)
    if packed:
        conn.executemany(
            "UPDATE documents SET content = ?, encoding = ?, size = ? WHERE rowid = ?", packed
        )


COMPACT_SQL: Final = """
CREATE TABLE disclosure_texts (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL);
ALTER TABLE documents ADD COLUMN encoding TEXT NOT NULL DEFAULT 'raw';
ALTER TABLE documents ADD COLUMN size INTEGER;
"""
