"""Font programs kept once for many documents (issue 12: a Chinese consent form is 94 KB, of it
54 KB glyph subsets that are the same in every form of the same disclosure text).

The consent form numbers the disclosure text's characters first (``app.documents.layout.
page_canvas``), so the embedded font subsets that hold only those characters are byte-identical
in every form of that text. When a PDF is stored, each embedded TrueType program (a
``/FontFile2`` stream, exactly as its bytes stand in the file) is cut out and kept in
``document_parts`` under its SHA-256; the document row keeps the rest (compressed) and where each
part goes back (``parts``: ``[[offset, length, sha256], ...]``). Reading splices the parts back
and checks the whole file's SHA-256 (``app.stored``), so the file handed out is the signed one.

Parts are counted by triggers on ``documents`` (insert, delete, a changed ``parts``): a part
whose last document is deleted (erasure, purge, re-issue) is deleted in the same statement, so
nothing of an erased person's document stays behind; a part still used by others holds glyph
outlines of the font only. Done in SQL so that every path that deletes documents (and the
bench's bulk copy of rows) keeps the counts without knowing about them. The daily full check
(``app.integrity``) counts the real references and sets a count that drifted right
(:func:`count_refs`, :func:`repair_refs`): a count too high keeps a part after its last
document is erased, one too low deletes a part that other documents still need.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from app.db import Connection

MIN_PART: Final = 2048  # smaller programs are not worth a row of their own

PARTS_SQL: Final = """
CREATE TABLE document_parts (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    refs INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE documents ADD COLUMN parts TEXT;
CREATE TRIGGER document_parts_add AFTER INSERT ON documents WHEN NEW.parts IS NOT NULL
BEGIN
    UPDATE document_parts SET refs = refs + 1
    WHERE sha256 IN (SELECT json_extract(value, '$[2]') FROM json_each(NEW.parts));
END;
CREATE TRIGGER document_parts_drop AFTER DELETE ON documents WHEN OLD.parts IS NOT NULL
BEGIN
    UPDATE document_parts SET refs = refs - 1
    WHERE sha256 IN (SELECT json_extract(value, '$[2]') FROM json_each(OLD.parts));
    DELETE FROM document_parts WHERE refs <= 0
    AND sha256 IN (SELECT json_extract(value, '$[2]') FROM json_each(OLD.parts));
END;
CREATE TRIGGER document_parts_change AFTER UPDATE OF parts ON documents
BEGIN
    UPDATE document_parts SET refs = refs + 1
    WHERE sha256 IN (SELECT json_extract(value, '$[2]') FROM json_each(NEW.parts));
    UPDATE document_parts SET refs = refs - 1
    WHERE sha256 IN (SELECT json_extract(value, '$[2]') FROM json_each(OLD.parts));
    DELETE FROM document_parts WHERE refs <= 0
    AND sha256 IN (SELECT json_extract(value, '$[2]') FROM json_each(OLD.parts));
END;
"""


def _font_programs(pdf: bytes) -> list[bytes]:
    """The raw bytes of every embedded TrueType program, as they stand in the file."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            found = []
            for obj in doc.objects:
                if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                    program = obj.get("/FontFile2")
                    if isinstance(program, pikepdf.Stream):
                        found.append(bytes(program.read_raw_bytes()))
            return found
    except Exception:  # not a PDF we can read (a scan): kept whole
        return []


def split(conn: Connection, content: bytes) -> tuple[bytes, str] | None:
    """Cut the shared font programs out of ``content`` (inside the caller's transaction):
    the compressed rest and the ``parts`` list, or None when nothing is worth cutting."""
    if not content.startswith(b"%PDF"):
        return None
    cuts = []
    for raw in _font_programs(content):
        at = content.find(raw)
        if len(raw) >= MIN_PART and at >= 0 and content.find(raw, at + 1) < 0:
            cuts.append((at, raw))
    if not cuts:
        return None
    cuts.sort(key=lambda c: c[0])
    rest = bytearray()
    parts: list[list[int | str]] = []
    last = 0
    for at, raw in cuts:
        if at < last:
            continue
        rest += content[last:at]
        last = at + len(raw)
        sha = hashlib.sha256(raw).hexdigest()
        conn.execute(
            "INSERT OR IGNORE INTO document_parts (sha256, data, refs) VALUES (?, ?, 0)", (sha, raw)
        )
        parts.append([at, len(raw), sha])
    rest += content[last:]
    stored, listing = zlib.compress(bytes(rest), 9), json.dumps(parts)
    if join(conn, stored, listing) != content:  # never keep what does not come back whole
        for part in parts:
            conn.execute("DELETE FROM document_parts WHERE sha256 = ? AND refs <= 0", (part[2],))
        return None
    return stored, listing


def join(conn: Connection, stored: bytes, listing: str) -> bytes | None:
    """The document back from its compressed rest and parts (None: a part is missing or
    damaged; the caller's hash check then refuses the document)."""
    try:
        rest = zlib.decompress(stored)
        parts = json.loads(listing)
    except (zlib.error, ValueError):
        return None
    if not isinstance(parts, list) or not all(_well_formed(p) for p in parts):
        return None  # a listing changed outside ConsentDesk: damage, never a TypeError
    out = bytearray()
    used = 0
    for at, length, sha in parts:
        row = conn.execute("SELECT data FROM document_parts WHERE sha256 = ?", (sha,)).fetchone()
        if row is None or len(row[0]) != length or at < len(out):
            return None
        take = at - len(out)
        out += rest[used : used + take]
        used += take
        out += bytes(row[0])
    out += rest[used:]
    return bytes(out)


def _well_formed(part: object) -> bool:
    """One ``[offset, length, sha256]`` entry as :func:`split` writes it."""
    return (
        isinstance(part, list)
        and len(part) == 3
        and all(type(n) is int and n >= 0 for n in part[:2])
        and isinstance(part[2], str)
    )


# ---------------------------------------------------------------------- the reference counts
@dataclass(frozen=True)
class PartsCount:
    """The stored reference counts against the documents that really name each part.

    ``off``: part -> (stored refs, real refs) where they differ, and every part no document
    names (an orphan the triggers would have deleted, whatever its count); ``missing``: parts
    named by documents but not stored (those documents cannot be read back); ``malformed``:
    document listings that are not a list of ``[offset, length, sha256]`` (changed outside
    ConsentDesk; likewise unreadable)."""

    off: Mapping[str, tuple[int, int]]
    missing: int
    malformed: int


_STORED_REFS: Final = "SELECT sha256, refs FROM document_parts"
# Read from the covering index ``documents_parts`` (migration 17), not from the document rows.
LISTINGS_SQL: Final = "SELECT parts FROM documents WHERE parts IS NOT NULL"


def count_refs(conn: Connection, cancelled: Callable[[], bool] = lambda: False) -> PartsCount:
    """Count every part's real references from each document's listing (read from the
    covering index of migration 17, not the document rows).

    The triggers count a document once per part it names (``sha256 IN (...)``), so a part
    named twice in one listing counts once here too. ``cancelled`` is asked every few hundred
    documents (the full check's cancel)."""
    real: Counter[str] = Counter()
    malformed = 0
    rows = conn.execute(LISTINGS_SQL)
    for n, (listing,) in enumerate(rows):
        if n % 256 == 0 and cancelled():
            break
        try:
            parts = json.loads(listing)
        except (ValueError, TypeError):
            parts = None
        if not isinstance(parts, list) or not all(_well_formed(p) for p in parts):
            malformed += 1
            continue
        real.update({str(p[2]) for p in parts})
    stored = {str(sha): int(refs) for sha, refs in conn.execute(_STORED_REFS)}
    # A part with no reference is off whatever it says: the triggers never leave one behind.
    off = {
        sha: (refs, real[sha]) for sha, refs in stored.items() if refs != real[sha] or not real[sha]
    }
    missing = sum(1 for sha in real if sha not in stored)
    return PartsCount(off, missing, malformed)


def repair_refs(conn: Connection) -> PartsCount:
    """Count again and set every stored count right (inside the caller's write transaction, so
    no document can be stored or deleted meanwhile); a part no document names is deleted, as
    the triggers would have done when its last document went. Returns what was set right."""
    found = count_refs(conn)
    for sha, (_stored, real) in sorted(found.off.items()):
        if real > 0:
            conn.execute("UPDATE document_parts SET refs = ? WHERE sha256 = ?", (real, sha))
        else:
            conn.execute("DELETE FROM document_parts WHERE sha256 = ?", (sha,))
    return found
