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
    short_purpose,
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

        short: Purpose = short_purpose(desk, **PURPOSE_ZH)
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


def test_cli_on_a_damaged_shared_font_program_says_so_in_one_line(
    desk: Desk, purpose, home: Path, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    person = enroll(desk, purpose).person.id
    good = tmp_path / "good.pdf"
    doc_id, parts = _form(desk, desk.person_documents(person)[0].consent_id or "")
    good.write_bytes(desk.document_pdf(doc_id))
    sha = json.loads(parts)[0][2]
    with desk.session.write() as conn:
        (data,) = conn.execute(
            "SELECT data FROM document_parts WHERE sha256 = ?", (sha,)
        ).fetchone()
        flipped = data[:100] + bytes([data[100] ^ 0x20]) + data[101:]
        conn.execute("UPDATE document_parts SET data = ? WHERE sha256 = ?", (flipped, sha))
    desk.lock()
    env = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": "admin",
        "CONSENTDESK_PASSWORD": "correct horse battery",
    }
    env.pop("CONSENTDESK_DEBUG", None)
    out = tmp_path / "out"
    for args in (
        ["documents", person, "--out", str(out)],
        ["verify-document", str(good)],
        ["audit", "verify", "--against", str(good)],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=repo,
            timeout=120,
        )
        assert "Traceback" not in proc.stderr, proc.stderr[-800:]
        if args[0] == "documents":
            assert proc.returncode == 3 and proc.stderr.strip().count("\n") == 0, proc.stderr
            assert not out.exists() or not any(out.iterdir())  # no wrong PDF handed out
        else:  # the person's own copy still checks against the record and the audit head
            assert proc.returncode == 0, proc.stderr


def _refs_are_true(desk: Desk) -> None:
    """Every part's ``refs`` equals the documents that list it; no part without one."""
    real: dict[str, int] = {}
    for (listing,) in desk._conn.execute("SELECT parts FROM documents WHERE parts IS NOT NULL"):
        for _at, _n, sha in json.loads(listing):
            real[sha] = real.get(sha, 0) + 1
    stored = dict(desk._conn.execute("SELECT sha256, refs FROM document_parts").fetchall())
    assert stored == real


def test_part_counts_stay_true_through_reissue_erasure_and_a_restore_round_trip(
    desk: Desk, purpose, home: Path, options: DeskOptions, faces: Path, tmp_path: Path
) -> None:
    import hashlib

    from tests.core.vaultkit import PASSWORD, PURPOSE_ZH

    keeps = sign_necessity(
        desk,
        desk.add_purpose(
            title="Member photo wall",
            controller="Acme",
            contact="privacy@acme.example",
            retention_days=365,
            alternative="Name badge",
            keep_photos=True,
            **PURPOSE_ZH,
        ),
    )
    photo = (faces / "biden_1.jpg").read_bytes()
    with_photo = enroll(
        desk, keeps, name="李娜", seed=4, language="zh", photo_jpeg=photo, photo_consent=True
    )
    enroll(desk, keeps, name="李娜", seed=5, language="zh")  # the same name: a shared subset
    others = [
        enroll(desk, purpose, name="Xavier Qwyjk", seed=6),
        enroll(desk, purpose, name="张伟", seed=7, language="zh"),
    ]
    _refs_are_true(desk)
    desk.withdraw(with_photo.person.id, "no longer")  # the form re-issued without the photo
    _refs_are_true(desk)
    desk.erase(others[0].person.id)
    _refs_are_true(desk)
    every = {
        d: hashlib.sha256(desk.document_pdf(d)).hexdigest()
        for (d,) in desk._conn.execute("SELECT id FROM documents").fetchall()
    }
    backup = desk.backup(tmp_path / "round.cdbackup")
    desk.lock()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=options)
    try:
        _refs_are_true(restored)
        for doc_id, sha in every.items():
            assert hashlib.sha256(restored.document_pdf(doc_id)).hexdigest() == sha
        restored.erase(others[1].person.id)
        _refs_are_true(restored)
    finally:
        restored.lock()
