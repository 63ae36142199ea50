"""Attacks on compact document storage's side paths (issue 12): a damaged parts listing, the
font subset that holds a person's name after erasure and purge, backups."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import VaultCorrupt
from app.models import Purpose
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    decrypt_database,
    decrypt_wal,
    enroll,
    sign_necessity,
)


def _form(desk: Desk, consent_id: str) -> tuple[str, str]:
    row = desk._conn.execute(
        "SELECT id, parts FROM documents WHERE consent_id = ? AND kind = 'consent_form'",
        (consent_id,),
    ).fetchone()
    return str(row[0]), str(row[1])


@pytest.mark.parametrize("listing", ["null", "[1]", "[[0, 10]]", '[["0", 10, "x"]]'])
def test_a_damaged_parts_listing_is_one_clear_error(desk: Desk, purpose, listing: str) -> None:
    """A ``parts`` value changed outside ConsentDesk (still JSON, so the triggers take it) is
    the vault's damage like any other: VaultCorrupt, never a TypeError or a wrong file."""
    result = enroll(desk, purpose)
    doc_id, _ = _form(desk, result.consent.id)
    with desk.session.write() as conn:
        conn.execute("UPDATE documents SET parts = ? WHERE id = ?", (listing, doc_id))
    with pytest.raises(VaultCorrupt):
        desk.document_pdf(doc_id)


def _name_part(desk: Desk, consent_id: str, others: set[str]) -> bytes:
    """The font program only this person's form uses: the subset holding their name."""
    _, parts = _form(desk, consent_id)
    own = [p[2] for p in json.loads(parts) if p[2] not in others]
    assert len(own) == 1, parts
    row = desk._conn.execute(
        "SELECT data, refs FROM document_parts WHERE sha256 = ?", (own[0],)
    ).fetchone()
    assert row[1] == 1
    return bytes(row[0])


def _pieces(data: bytes) -> list[bytes]:
    return [data[i : i + 48] for i in (64, len(data) // 2, len(data) - 100)]


def _backup_plain(path: Path, key: bytes, scratch: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        (scratch / "b.db").write_bytes(zf.read("vault.db"))
    return decrypt_database(scratch / "b.db", key)


def test_purge_leaves_no_byte_of_the_name_subset_in_the_vault_or_its_backups(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    home = tmp_path / "v"
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=opts)
    try:
        from tests.core.vaultkit import PURPOSE_ZH

        short: Purpose = sign_necessity(
            desk,
            desk.add_purpose(
                title="Short",
                controller="Acme",
                contact="p@acme.example",
                retention_days=30,
                alternative="Card",
                **PURPOSE_ZH,
            ),
        )
        gone = enroll(desk, short, name="张伟", seed=2, language="zh")
        clock.advance(days=20)
        stays = enroll(desk, short, name="李娜", seed=3, language="zh")
        shared = {p[2] for p in json.loads(_form(desk, stays.consent.id)[1])}
        subset = _name_part(desk, gone.consent.id, shared)
        kept = desk.backup(home / "backups" / "kept.cdbackup")
        key = desk._vault.data_key
        pieces = _pieces(subset)
        assert all(p in _backup_plain(kept, key, tmp_path) for p in pieces)
        clock.advance(days=11)
        assert desk.purge_expired().erased_people == (gone.person.id,)
        plain = decrypt_database(home / "vault.db", key) + decrypt_wal(home / "vault.db-wal", key)
        in_backup = _backup_plain(kept, key, tmp_path)
        for piece in pieces:
            assert piece not in plain
            assert piece not in in_backup
        assert len(desk.document_pdf(_form(desk, stays.consent.id)[0])) > 0
    finally:
        desk.lock()
