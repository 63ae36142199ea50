"""Issue 12 (and issue 11's WAL item): sign-in runs only the cheap checks; the full check runs
apart, finds damage sign-in does not read, and then locks writes; a damaged WAL is reported at
unlock instead of its committed changes being dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import VaultCorrupt
from app.models import Purpose
from app.walcheck import inspect_wal
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PAGE,
    PASSWORD,
    decrypt_page,
    digest,
    enroll,
)


def _opts() -> DeskOptions:
    return DeskOptions(kdf=FAST_KDF)


def _document_page(database: Path, key: bytes, pdf: bytes) -> int:
    """The number of a page holding the middle of ``pdf`` (an overflow page of the documents
    table): sign-in never reads it, the full check does."""
    probe = pdf[len(pdf) // 2 : len(pdf) // 2 + 48]
    data = database.read_bytes()
    for index in range(1, len(data) // PAGE):
        if probe in decrypt_page(data[index * PAGE : (index + 1) * PAGE], key, first=False):
            return index
    raise AssertionError("the document's page was not found")


def _stored(desk: Desk, document_id: str) -> bytes:
    """A document as the vault keeps it (compressed, issue 12): the bytes on its pages."""
    row = desk._conn.execute("SELECT content FROM documents WHERE id = ?", (document_id,))
    return bytes(row.fetchone()[0])


def test_full_check_finds_a_flipped_byte_and_locks_writes(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    enrolled = enroll(desk, purpose, name="Page Holder", seed=3)
    consent_doc = enrolled.documents[0]
    pdf = _stored(desk, consent_doc.id)
    key = desk._vault.data_key
    before = desk.full_check()
    assert before.ok and desk.full_check_status().ok and not desk.full_check_status().due
    desk.lock()

    database = home / "vault.db"
    page = _document_page(database, key, pdf)
    raw = bytearray(database.read_bytes())
    raw[page * PAGE + 1000] ^= 0x01
    database.write_bytes(bytes(raw))

    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())  # the quick checks do not read it
    try:
        assert d.find_people("page holder").total == 1  # reading goes on
        progress: list[float] = []
        result = d.full_check(progress.append)
        assert not result.ok and result.problems
        assert progress and progress[-1] == 1.0
        assert d.writes_locked
        with pytest.raises(VaultCorrupt) as refused:
            enroll(d, purpose, name="Not Written", seed=9)
        assert refused.value.code == "integrity_failed"
        status = d.full_check_status()
        assert status.ok is False and status.due
    finally:
        d.lock()

    again = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())  # the verdict is kept
    try:
        assert again.writes_locked
        with pytest.raises(VaultCorrupt):
            again.add_purpose(
                title="X", controller="Y", contact="z@z.z", retention_days=1, alternative="A"
            )
    finally:
        again.lock()


def _copy_live(home: Path, target: Path) -> None:
    """What a power cut leaves: the main file, the WAL with committed frames, the keyslots."""
    shutil.copytree(home, target, ignore=shutil.ignore_patterns("*-shm", "*.lock"))


def test_damaged_wal_is_reported_at_unlock_and_nothing_changes(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    desk._conn.execute("PRAGMA wal_autocheckpoint = 0")
    for seed in range(1, 4):
        enroll(desk, purpose, name=f"Walled Person {seed}", seed=seed)
    healthy, damaged = tmp_path / "healthy", tmp_path / "damaged"
    _copy_live(home, healthy)
    _copy_live(home, damaged)
    desk.lock()

    report = inspect_wal(healthy / "vault.db-wal")
    assert report.frames > 10 and report.committed_frames == report.frames
    assert not report.damaged

    wal = damaged / "vault.db-wal"
    raw = bytearray(wal.read_bytes())
    raw[32 + (24 + PAGE) * 2 + 24 + 500] ^= 0x40  # inside frame 3's page: committed work follows
    wal.write_bytes(bytes(raw))
    before = {
        p.name: digest(p)
        for p in damaged.iterdir()
        if p.name.startswith(("vault.db", "keyslots.json"))
    }
    with pytest.raises(VaultCorrupt) as caught:
        Desk.unlock(damaged, ADMIN, PASSWORD, options=_opts())
    assert caught.value.code == "wal_damaged"
    assert "write-ahead log is damaged" in str(caught.value)
    assert {
        p.name: digest(p)
        for p in damaged.iterdir()
        if p.name.startswith(("vault.db", "keyslots.json"))
    } == before  # nothing lost

    ok = Desk.unlock(healthy, ADMIN, PASSWORD, options=_opts())  # the committed work is there
    try:
        assert ok.find_people("walled person").total == 3
    finally:
        ok.lock()


def test_torn_tail_of_the_wal_is_not_damage(tmp_path: Path) -> None:
    """A crash while writing leaves a partial last frame: SQLite discards it, so do we."""
    import sqlcipher3

    db = tmp_path / "t.db"
    conn = sqlcipher3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA key = \"x'" + "22" * 32 + "'\"")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (x BLOB)")
    for _ in range(5):
        conn.execute("INSERT INTO t VALUES (randomblob(3000))")
    wal = tmp_path / "t.db-wal"
    raw = wal.read_bytes()
    conn.close()
    torn = tmp_path / "torn-wal"
    torn.write_bytes(raw[: len(raw) - 1500])
    report = inspect_wal(torn)
    assert not report.damaged and report.committed_frames < report.frames


def test_unlock_reads_no_page_it_does_not_need(desk: Desk, purpose: Purpose, home: Path) -> None:
    """Sign-in cost does not grow with the vault: with many document pages damaged, unlock
    still succeeds (it never read them); only the full check notices."""
    docs = [enroll(desk, purpose, name=f"Doc Person {i}", seed=i).documents[0] for i in (1, 2)]
    key = desk._vault.data_key
    pdfs = [_stored(desk, d.id) for d in docs]
    desk.lock()
    database = home / "vault.db"
    raw = bytearray(database.read_bytes())
    for page in {_document_page(database, key, pdf) for pdf in pdfs}:  # similar PDFs may share
        raw[page * PAGE + 200] ^= 0x02
    database.write_bytes(bytes(raw))
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        assert d.stats().people == 2
        assert not d.full_check().ok
    finally:
        d.lock()
