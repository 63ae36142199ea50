"""Issue 12: documents and disclosure texts kept compactly, byte-exact (``app.stored``).

The signed consent form a person or a verifier receives must be the very file that was signed
(its SHA-256, its signature, the audit head it names), however the vault keeps it; the text a
consent was given on must come back exactly; a vault made before migration 14 converts; erasure
leaves nothing of the document on any page; and a bench vault stays within 40 KB per person.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zlib
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import VaultCorrupt
from app.keyslots import Keyslots
from app.migrations import MIGRATIONS
from app.stored import pack, strokes, unpack
from app.vault import Vault, VaultPaths
from tests.core.pdftools import optional_poppler
from tests.core.vaultkit import (
    ADMIN,
    PASSWORD,
    decrypt_database,
    decrypt_wal,
    enroll,
    make_signature,
    refuse,
)


def _form_row(desk: Desk, consent_id: str) -> dict[str, object]:
    row = desk._conn.execute(
        "SELECT id, content, encoding, size, sha256, parts FROM documents "
        "WHERE consent_id = ? AND kind = 'consent_form'",
        (consent_id,),
    ).fetchone()
    return dict(zip(("id", "content", "encoding", "size", "sha256", "parts"), row, strict=True))


def _check_signed(pdf: bytes, tmp_path: Path) -> None:
    pdfsig = optional_poppler("pdfsig")
    if pdfsig is None:
        return
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid." in out and "Total document signed" in out, out


def test_pack_is_lossless_and_unpack_checks_the_hash() -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"<" + b"0" * 4000 + b">\n%%EOF\n"
    sha = hashlib.sha256(data).hexdigest()
    stored, encoding = pack(data)
    assert encoding == "zlib" and len(stored) < len(data) // 4
    assert unpack(stored, encoding, sha) == data
    assert unpack(data, "raw", sha) == data  # a row written before migration 14
    noise = os.urandom(4096)  # already dense (a JPEG scan): kept as it is
    assert pack(noise) == (noise, "raw")
    with pytest.raises(VaultCorrupt):
        unpack(stored, encoding, "0" * 64)
    with pytest.raises(VaultCorrupt):
        unpack(stored[:-5] + b"xxxxx", encoding, sha)
    with pytest.raises(VaultCorrupt):
        unpack(stored, "brotli", sha)


def test_consent_form_is_stored_compressed_and_read_back_byte_exact(
    desk: Desk, purpose, tmp_path: Path
) -> None:
    result = enroll(desk, purpose, name="Canary Zebulon")
    row = _form_row(desk, result.consent.id)
    assert row["encoding"] == "zlib+parts"
    assert isinstance(row["content"], bytes) and len(row["content"]) < int(str(row["size"]))
    pdf = desk.document_pdf(str(row["id"]))
    assert hashlib.sha256(pdf).hexdigest() == row["sha256"] == result.documents[-1].sha256
    assert len(pdf) == row["size"] == result.documents[-1].size
    assert [d.size for d in desk.person_documents(result.person.id)] == [len(pdf)]
    check = desk.verify_document(pdf)
    assert check.valid and check.status == "stored"
    assert desk.audit_verify_against(pdf).ok
    _check_signed(pdf, tmp_path)
    # The form itself is smaller too: object streams, one QR path, fonts without hinting.
    assert len(pdf) < 45_000, len(pdf)


def test_disclosure_text_is_kept_once_and_holds_no_person(desk: Desk, purpose) -> None:
    shown = desk.disclosure(purpose.id, "en")
    first = enroll(desk, purpose, name="Canary Zebulon")
    second = enroll(desk, purpose, name="Other Person", seed=9)
    refused = refuse(desk, purpose, name="Refusing Rita")
    conn = desk._conn
    inline = conn.execute("SELECT DISTINCT disclosure_text FROM consents").fetchall()
    assert inline == [("",)]
    texts = conn.execute("SELECT sha256, text FROM disclosure_texts").fetchall()
    assert texts == [(shown.sha256, shown.text)]
    assert all("Canary" not in t and "Rita" not in t for _, t in texts)
    for consent_id in (first.consent.id, second.consent.id, refused.refusal_id):
        assert desk.consent_disclosure_text(consent_id) == shown.text


def test_signature_strokes_are_stored_compressed_and_read_back(desk: Desk, purpose) -> None:
    result = enroll(desk, purpose, seed=3)
    kind, value = desk._conn.execute(
        "SELECT typeof(signature), signature FROM consents WHERE id = ?", (result.consent.id,)
    ).fetchone()
    expected = make_signature(3).to_json()
    assert kind == "blob" and len(value) < len(json.dumps(expected)) * 0.7
    assert strokes(value) == json.loads(json.dumps(expected))
    assert strokes(json.dumps(expected)) == json.loads(json.dumps(expected))  # before v12
    assert strokes(None) is None


def test_a_damaged_stored_document_is_refused_not_handed_out(desk: Desk, purpose) -> None:
    result = enroll(desk, purpose)
    row = _form_row(desk, result.consent.id)
    original = zlib.decompress(bytes(row["content"]))  # type: ignore[arg-type]
    middle = len(original) // 2
    flipped = original[:middle] + bytes([original[middle] ^ 1]) + original[middle + 1 :]
    with desk.session.write() as conn:
        conn.execute(
            "UPDATE documents SET content = ? WHERE id = ?", (zlib.compress(flipped), row["id"])
        )
    with pytest.raises(VaultCorrupt):
        desk.document_pdf(str(row["id"]))
    # a damaged shared font program is refused too
    with desk.session.write() as conn:
        conn.execute(
            "UPDATE documents SET content = ? WHERE id = ?", (zlib.compress(original), row["id"])
        )
    assert hashlib.sha256(desk.document_pdf(str(row["id"]))).hexdigest() == row["sha256"]
    with desk.session.write() as conn:
        sha, data = conn.execute("SELECT sha256, data FROM document_parts").fetchone()
        data = bytes([data[0] ^ 1]) + data[1:]
        conn.execute("UPDATE document_parts SET data = ? WHERE sha256 = ?", (data, sha))
    with pytest.raises(VaultCorrupt):
        desk.document_pdf(str(row["id"]))


_COMPACT = next(m.version for m in MIGRATIONS if m.apply.__name__.endswith("compact_storage"))
_BEFORE_COMPACT = max(m.version for m in MIGRATIONS if m.version < _COMPACT)
# the storage migrations; the others' migrations ran when the test vault was made
_OURS = {
    m.version
    for m in MIGRATIONS
    if m.apply.__name__.endswith(("_compact_storage", "_document_parts", "_document_parts_index"))
}


def _to_old_layout(desk: Desk) -> None:
    """Rewrite a fresh vault as the migration before compact storage left vaults: texts inline, documents as written,
    no ``disclosure_texts`` table, no ``encoding``/``size`` columns."""
    conn = desk._conn
    conn.execute("BEGIN IMMEDIATE")
    for cid, text in conn.execute(
        "SELECT c.id, t.text FROM consents c JOIN disclosure_texts t ON t.sha256 = c.text_sha256"
    ).fetchall():
        conn.execute("UPDATE consents SET disclosure_text = ? WHERE id = ?", (text, cid))
    for cid, value in conn.execute("SELECT id, signature FROM consents").fetchall():
        conn.execute(
            "UPDATE consents SET signature = ? WHERE id = ?", (json.dumps(strokes(value)), cid)
        )
    for doc_id, content, encoding, parts in conn.execute(
        "SELECT id, content, encoding, parts FROM documents"
    ).fetchall():
        conn.execute(
            "UPDATE documents SET content = ? WHERE id = ?",
            (unpack(content, encoding, None, conn=conn, parts=parts), doc_id),
        )
    for trigger in ("document_parts_add", "document_parts_drop", "document_parts_change"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE document_parts")
    conn.execute("DROP INDEX documents_parts")
    conn.execute("ALTER TABLE documents DROP COLUMN parts")
    conn.execute("DROP TABLE disclosure_texts")
    conn.execute("ALTER TABLE documents DROP COLUMN size")
    conn.execute("ALTER TABLE documents DROP COLUMN encoding")
    conn.execute(f"PRAGMA user_version = {_BEFORE_COMPACT}")
    conn.execute("COMMIT")


def test_migration_14_converts_an_old_vault_byte_exact(
    desk: Desk, purpose, home: Path, options: DeskOptions, tmp_path: Path
) -> None:
    result = enroll(desk, purpose, name="Canary Zebulon")
    refused = refuse(desk, purpose)
    text = desk.consent_disclosure_text(result.consent.id)
    forms = {d.id: desk.document_pdf(d.id) for d in desk.person_documents(result.person.id)}
    _to_old_layout(desk)
    # A text that does not match its hash stays inline, untouched (never "repaired").
    with desk.session.write() as conn:
        conn.execute(
            "UPDATE consents SET text_sha256 = ? WHERE id = ?", ("f" * 64, refused.refusal_id)
        )
    old = desk._conn.execute("SELECT sum(length(content)) FROM documents").fetchone()[0]
    desk.lock()

    paths = VaultPaths(home)
    slots = Keyslots.load(paths.keyslots)
    ours = tuple(m for m in MIGRATIONS if m.version <= _BEFORE_COMPACT or m.version in _OURS)
    vault = Vault._open(paths, slots, slots.unlock_user(ADMIN, PASSWORD), ours)
    conn = vault.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == max(_OURS)
    # converted rows are compressed; font programs are cut out for documents made from now on
    assert {r[0] for r in conn.execute("SELECT encoding FROM documents")} == {"zlib"}
    assert conn.execute("SELECT sum(length(content)) FROM documents").fetchone()[0] < old * 0.95
    assert conn.execute(
        "SELECT disclosure_text, typeof(signature) FROM consents WHERE id = ?",
        (result.consent.id,),
    ).fetchone() == ("", "blob")
    assert strokes(
        conn.execute(
            "SELECT signature FROM consents WHERE id = ?", (result.consent.id,)
        ).fetchone()[0]
    ) == json.loads(json.dumps(make_signature(1).to_json()))
    assert conn.execute(
        "SELECT disclosure_text FROM consents WHERE id = ?", (refused.refusal_id,)
    ).fetchone() == (text,)
    conn.execute(f"PRAGMA user_version = {MIGRATIONS[-1].version}")
    vault.close()
    assert len(list(paths.backups.glob("before-migration-*.cdbackup"))) == 1

    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    try:
        for doc_id, pdf in forms.items():
            again = d.document_pdf(doc_id)
            assert again == pdf
            assert d.verify_document(again).status == "stored"
            assert d.audit_verify_against(again).ok
        _check_signed(next(iter(forms.values())), tmp_path)
        assert d.consent_disclosure_text(result.consent.id) == text
        assert d.consent_disclosure_text(refused.refusal_id) == text
        assert [x.size for x in d.person_documents(result.person.id)] == [
            len(p) for p in forms.values()
        ]
    finally:
        d.lock()


def test_erasure_leaves_no_document_bytes_on_any_page(desk: Desk, purpose, home: Path) -> None:
    result = enroll(desk, purpose, name="Canary Zebulon")
    enroll(desk, purpose, name="Other Person", seed=9)
    row = _form_row(desk, result.consent.id)
    stored = bytes(row["content"])  # type: ignore[arg-type]
    pieces = [stored[i : i + 48] for i in (100, len(stored) // 2, len(stored) - 200)]
    key = desk._vault.data_key

    def pages() -> bytes:
        return decrypt_database(home / "vault.db", key) + decrypt_wal(home / "vault.db-wal", key)

    own_part = json.loads(str(row["parts"]))
    assert all(p in pages() for p in pieces), "the test must see the stored form first"
    desk.erase(result.person.id)
    plain = pages()
    for piece in pieces:
        assert piece not in plain
    # the shared font program stays, counted once, for the other person's form
    assert desk._conn.execute("SELECT sha256, refs FROM document_parts").fetchall() == [
        (own_part[0][2], 1)
    ]
    assert desk._conn.execute(
        "SELECT count(*) FROM documents WHERE id = ?", (row["id"],)
    ).fetchone() == (0,)
    # The shared text stays for the others and names nobody.
    for (text,) in desk._conn.execute("SELECT text FROM disclosure_texts"):
        assert "Canary" not in text


def test_font_programs_are_kept_once_and_dropped_with_their_last_document(
    desk: Desk, purpose
) -> None:
    first = enroll(desk, purpose, name="Canary Zebulon")
    second = enroll(desk, purpose, name="Other Person", seed=9)
    third = enroll(desk, purpose, name="张伟", seed=11, language="zh")
    conn = desk._conn
    rows = [_form_row(desk, r.consent.id) for r in (first, second, third)]
    english = [json.loads(str(r["parts"])) for r in rows[:2]]
    assert [p[2] for p in english[0]] == [p[2] for p in english[1]]  # one shared program
    chinese = json.loads(str(rows[2]["parts"]))
    assert len(chinese) >= 2  # the disclosure's subsets plus the one holding the name
    refs = dict(conn.execute("SELECT sha256, refs FROM document_parts").fetchall())
    assert refs[english[0][0][2]] == 2
    for row in rows:
        pdf = desk.document_pdf(str(row["id"]))
        assert hashlib.sha256(pdf).hexdigest() == row["sha256"]
        assert len(row["content"]) < len(pdf) * 0.7  # type: ignore[arg-type]
    for result in (first, second, third):
        desk.erase(result.person.id)
    assert conn.execute("SELECT count(*) FROM document_parts").fetchone() == (0,)


def test_bench_vault_is_within_40_kb_per_person(tmp_path: Path) -> None:
    from app.vault_bench import _Builder

    people = 300
    home = tmp_path / "bench"
    _Builder(home, lambda _m: None).build(people)
    per_person = (home / "vault.db").stat().st_size / 1024 / people
    assert per_person <= 40, per_person
