"""Issue 11: what an operator can reach with their own password. Their key opens the whole
database, so each attack is run for real on the decrypted file; each must be refused or shown."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.audit import GENESIS, canonical, compute_mac
from app.authority import grant_message
from app.db import open_database
from app.desk import Desk, DeskOptions
from app.errors import PermissionDenied, VaultCorrupt
from app.keyslots import Keyslots
from app.models import Purpose
from tests.core.vaultkit import ADMIN, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]
OP, OP_PW = "frontdesk", "operator password 1"


def cli(home: Path, *args: str, user: str = ADMIN, password: str = PASSWORD):
    env = {**os.environ, "CONSENTDESK_HOME": str(home), "CONSENTDESK_USER": user}
    env["CONSENTDESK_PASSWORD"] = password
    env.pop("CONSENTDESK_RECOVERY_CODE", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr and "unexpected" not in stderr, stderr
    return lines[0]


@pytest.fixture
def with_operator(desk: Desk, purpose: Purpose, home: Path) -> Path:
    enroll(desk, purpose)
    desk.add_user(OP, OP_PW, "operator")
    desk.lock()
    return home


def operator_db(home: Path):
    """What an operator's own password gives: the data key, hence the whole database."""
    key = Keyslots.load(home / "keyslots.json").unlock_user(OP, OP_PW)
    return open_database(home / "vault.db", key), key


def test_operator_cannot_make_themselves_admin(with_operator: Path, options: DeskOptions) -> None:
    home = with_operator
    conn, _ = operator_db(home)
    conn.execute("UPDATE staff SET role = 'admin' WHERE username = ?", (OP,))
    conn.close()
    with pytest.raises(PermissionDenied) as info:
        Desk.unlock(home, OP, OP_PW, options=options)
    assert info.value.code == "role_unsigned"
    proc = cli(home, "user", "add", "mallory", user=OP, password=OP_PW)
    assert proc.returncode == 5 and "not signed by an administrator" in one_line(proc.stderr)
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)  # the admin is unaffected
    assert admin.user.role == "admin" and admin.audit_verify().ok
    admin.lock()


def test_a_forged_authority_key_is_noticed_by_everyone_else(
    with_operator: Path, options: DeskOptions
) -> None:
    home = with_operator
    conn, _ = operator_db(home)
    forged = Ed25519PrivateKey.generate()
    pub = forged.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    slots = Keyslots.load(home / "keyslots.json")
    row = conn.execute("SELECT id FROM staff WHERE username = ?", (OP,)).fetchone()
    conn.execute("UPDATE meta SET value = ? WHERE key = 'authority_public'", (pub,))
    conn.execute(
        "UPDATE staff SET role = 'admin', grant_sig = ? WHERE id = ?",
        (forged.sign(grant_message(slots.vault_id, OP, "admin", row[0])), row[0]),
    )
    conn.close()
    opened = slots.open_user(OP, OP_PW)  # the operator re-pins their own slot: they can
    with slots.changing():
        slots.extra["authority"] = base64.b64encode(pub).decode()
    from dataclasses import replace

    slots.update_slot(
        opened.slot.id, lambda s: replace(s, pin=slots.pin_tag(s, opened.private_key, pub))
    )
    for who, pw in ((ADMIN, PASSWORD),):
        with pytest.raises(VaultCorrupt) as info:
            Desk.unlock(home, who, pw, options=options)
        assert info.value.code == "authority_tampered"
    proc = cli(home, "unlock-check")
    assert proc.returncode == 3 and "authority key" in one_line(proc.stderr)


def _rewrite_chain(conn, key: bytes, change_seq: int) -> None:
    """Change one entry and recompute every MAC after it with the audit key, as an operator
    holding the database can; triggers dropped and put back exactly as they were."""
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit SET details = '{\"forged\":true}' WHERE seq = ?", (change_seq,))
    previous = GENESIS
    for seq, at, actor, action, subject, details, _mac in conn.execute(
        "SELECT seq, at, actor, action, subject, details, mac FROM audit ORDER BY seq"
    ).fetchall():
        mac = compute_mac(key, previous, canonical(seq, at, actor, action, subject, details))
        conn.execute("UPDATE audit SET mac = ? WHERE seq = ?", (mac, seq))
        previous = mac
    for _, sql in triggers:
        conn.execute(sql)


def test_rewriting_the_audit_chain_with_the_readable_key_is_detected(
    with_operator: Path, options: DeskOptions
) -> None:
    home = with_operator
    conn, _ = operator_db(home)
    audit_key = bytes(conn.execute("SELECT value FROM meta WHERE key = 'audit_key'").fetchone()[0])
    seq = conn.execute(
        "SELECT seq FROM audit WHERE action = 'staff.add' AND sig IS NOT NULL"
    ).fetchone()[0]
    _rewrite_chain(conn, audit_key, seq)
    conn.close()
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)  # the HMAC chain is whole...
    result = admin.audit_verify()
    assert not result.ok  # ...but the admin's signature on that entry no longer fits
    assert any(f"entry {seq} was changed after it was signed" in p for p in result.problems)
    admin.lock()
    proc = cli(home, "audit", "verify")
    assert proc.returncode == 8 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("trigger", ["audit_no_update", "audit_no_delete", "signers_no_delete"])
def test_dropped_triggers_are_noticed_at_unlock(
    with_operator: Path, options: DeskOptions, trigger: str
) -> None:
    home = with_operator
    conn, _ = operator_db(home)
    conn.execute(f"DROP TRIGGER {trigger}")
    conn.close()
    with pytest.raises(VaultCorrupt):
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    proc = cli(home, "unlock-check")
    assert proc.returncode == 3
    one_line(proc.stderr)


def test_signed_entries_survive_password_changes_and_a_reset(
    with_operator: Path, options: DeskOptions
) -> None:
    home = with_operator
    op = Desk.unlock(home, OP, OP_PW, options=options)
    op.change_password(OP, "operator password 2", current_password=OP_PW)
    op.lock()
    op = Desk.unlock(home, OP, "operator password 2", options=options)
    op.record_event("document.handed_over")
    op.lock()
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    admin.change_password(OP, "operator password 3")  # an admin's reset: a fresh key
    admin.rekey()
    code = admin.new_recovery_code()
    admin.lock()
    op = Desk.unlock(home, OP, "operator password 3", options=options)
    op.record_event("document.handed_over")
    op.lock()
    rec = Desk.unlock_with_recovery(home, code, options=options)
    assert rec.user.role == "admin"
    result = rec.audit_verify()
    assert result.ok, result.problems
    signed = rec._conn.execute("SELECT count(*) FROM audit WHERE sig IS NOT NULL").fetchone()[0]
    assert (
        signed
        == result.entries
        - rec._conn.execute("SELECT count(*) FROM audit WHERE action = 'ledger.replay'").fetchone()[
            0
        ]
    )
    rec.lock()


def test_a_vault_from_before_gets_its_authority_at_the_first_admin_sign_in(
    with_operator: Path, options: DeskOptions
) -> None:
    home = with_operator
    conn, _ = operator_db(home)  # make it look like a vault from before issue 11
    conn.execute("DELETE FROM meta WHERE key IN ('authority_public', 'authority_private')")
    conn.execute("UPDATE staff SET grant_sig = NULL")
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit SET signer = NULL, sig = NULL")  # no entry was signed then
    for _, sql in triggers:
        conn.execute(sql)
    conn.close()
    slots = Keyslots.load(home / "keyslots.json")
    with slots.changing():
        slots.extra.pop("authority")
        from dataclasses import replace

        slots._slots = [replace(s, sealed={}, pin=b"") for s in slots._slots]
    op = Desk.unlock(home, OP, OP_PW, options=options)  # before: roles as stored
    assert op.user.role == "operator" and op.session.authority is None
    op.lock()
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert admin.session.authority is not None and admin.session.authority.private is not None
    admin.lock()
    op = Desk.unlock(home, OP, OP_PW, options=options)
    assert op.session.authority is not None and op.session.authority.signing is not None
    op.record_event("document.handed_over")
    op.lock()
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert admin.audit_verify().ok, admin.audit_verify().problems
    admin.lock()


def test_a_self_promoted_operator_cannot_restore(
    with_operator: Path, options: DeskOptions, tmp_path: Path
) -> None:
    home = with_operator
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    backup = admin.backup(tmp_path / "b.cdbackup")
    admin.lock()
    conn, _ = operator_db(home)
    conn.execute("UPDATE staff SET role = 'admin' WHERE username = ?", (OP,))
    conn.close()
    before = (home / "vault.db").read_bytes()
    proc = cli(home, "restore", str(backup), user=OP, password=OP_PW)
    assert proc.returncode == 5 and "admin" in one_line(proc.stderr)
    assert (home / "vault.db").read_bytes() == before
