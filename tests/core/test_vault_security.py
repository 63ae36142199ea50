"""The vault is encrypted, keyed per staff member, and refuses anything it cannot trust."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
import sqlcipher3

from app.db import open_database
from app.desk import Desk, DeskOptions
from app.errors import KeyslotError, LockedOut, VaultCorrupt, VaultNotFound, WrongPassword
from tests.core.vaultkit import ADMIN, PASSWORD, decrypt_database, decrypt_wal, enroll


def test_cipher_version_is_sqlcipher_4() -> None:
    conn = sqlcipher3.connect(":memory:")
    version = conn.execute("PRAGMA cipher_version").fetchone()[0]
    assert version.startswith("4."), version


def test_file_is_not_plain_sqlite_and_canary_absent(desk: Desk, purpose, home: Path) -> None:
    enroll(desk, purpose, name="Canary Zebulon", reference="REF-CANARY-77")
    raw = (home / "vault.db").read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(home / "vault.db").execute("SELECT * FROM sqlite_master").fetchall()
    for path in home.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"Canary" not in blob and b"CANARY" not in blob, path.name
            assert "Canary".encode("utf-16-le") not in blob, path.name


def test_privacy_pragmas_hold(desk: Desk) -> None:
    conn = desk._conn
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_files_are_owner_only(desk: Desk, home: Path) -> None:
    for name in ("vault.db", "keyslots.json", "backups"):
        mode = (home / name).stat().st_mode & 0o777
        assert mode & 0o077 == 0, (name, oct(mode))
    assert (home.stat().st_mode & 0o077) == 0


def test_wrong_password_and_backoff(desk: Desk, home: Path, options: DeskOptions) -> None:
    desk.lock()
    delays = []
    for _ in range(3):
        with pytest.raises(WrongPassword, match="Wrong user name or password") as info:
            Desk.unlock(home, ADMIN, "not the password", options=options)
        delays.append(info.value.retry_after)
    assert delays == [0.0, 0.0, 1.0]
    # The state is on disk, so a new process is held back too, even with the right password.
    with pytest.raises(LockedOut) as locked:
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert 0 < locked.value.retry_after <= 1
    state = (home / "login-state.json").read_text()
    assert json.loads(state)["failures"] == 3
    assert "admin" not in state


def test_unknown_user_gets_the_same_message(desk: Desk, home: Path, options) -> None:
    desk.lock()
    with pytest.raises(WrongPassword, match="Wrong user name or password"):
        Desk.unlock(home, "nobody", PASSWORD, options=options)


def test_lockout_blocks_even_the_right_password_until_delay_passes(home: Path) -> None:
    from app.backoff import LoginBackoff

    now = [5000.0]
    b = LoginBackoff(home / "state.json", clock=lambda: now[0])
    home.mkdir(parents=True, exist_ok=True)
    for _ in range(6):
        b.record_failure("password")
    with pytest.raises(LockedOut):
        b.check()
    now[0] += b.delay_for(6) + 0.1
    b.check()
    pending = b.record_success()
    assert len(pending) == 6 and b.retry_after() == 0


def test_failed_logins_are_audited_after_next_success(desk: Desk, home: Path, options) -> None:
    desk.lock()
    with pytest.raises(WrongPassword):
        Desk.unlock(home, ADMIN, "wrong password", options=options)
    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    actions = [e.action for e in d.audit_events()]
    assert "login.failed" in actions and actions[-1] == "login.password"
    assert d.audit_verify().ok
    d.lock()


def test_missing_and_damaged_keyslot_file(desk: Desk, home: Path, options) -> None:
    desk.lock()
    slots = home / "keyslots.json"
    original = slots.read_bytes()
    slots.unlink()
    with pytest.raises(KeyslotError, match="missing"):
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    slots.write_text("{not json")
    with pytest.raises(KeyslotError, match="damaged"):
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    doc = json.loads(original)
    doc["slots"][0]["key_wrapped"] = doc["slots"][0]["key_wrapped"][:-4] + "AAAA"
    slots.write_text(json.dumps(doc))
    with pytest.raises((KeyslotError, WrongPassword)):
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    slots.write_bytes(original)
    Desk.unlock(home, ADMIN, PASSWORD, options=options).lock()


def test_no_vault(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound, match="consentdesk init"):
        Desk.unlock(tmp_path / "none", ADMIN, PASSWORD)


def test_staff_accounts_have_their_own_slots(desk: Desk, home: Path, options) -> None:
    desk.add_user("frontdesk", "operator-pass-1", "operator")
    desk.lock()
    op = Desk.unlock(home, "frontdesk", "operator-pass-1", options=options)
    assert op.user.role == "operator"
    from app.errors import PermissionDenied

    # Their own password: only with the current one (a desk left signed in is not enough).
    with pytest.raises(PermissionDenied) as needed:
        op.change_password("frontdesk", "operator-pass-2")
    assert needed.value.code == "current_password_needed"
    with pytest.raises(PermissionDenied) as wrong:
        op.change_password("frontdesk", "operator-pass-2", current_password="guess-guess")
    assert wrong.value.code == "current_password_wrong"
    op.change_password("frontdesk", "operator-pass-2", current_password="operator-pass-1")
    op.lock()
    with pytest.raises(WrongPassword):
        Desk.unlock(home, "frontdesk", "operator-pass-1", options=options)
    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    admin.remove_user("frontdesk")
    admin.lock()
    with pytest.raises(WrongPassword):
        Desk.unlock(home, "frontdesk", "operator-pass-2", options=options)
    assert "frontdesk" not in (home / "keyslots.json").read_text()


def test_operator_cannot_administer(desk: Desk, home: Path, options) -> None:
    from app.errors import PermissionDenied

    desk.add_user("op", "operator-pass-1", "operator")
    desk.lock()
    op = Desk.unlock(home, "op", "operator-pass-1", options=options)
    with pytest.raises(PermissionDenied):
        op.add_user("x", "password-123")
    with pytest.raises(PermissionDenied):
        op.add_purpose(title="t", controller="c", contact="x", retention_days=3, alternative="card")
    op.lock()


def test_recovery_code_unlocks_and_can_reset_admin_password(home: Path, options) -> None:
    desk, code = Desk.initialise(home, "Org", ADMIN, PASSWORD, options=options)
    desk.lock()
    with pytest.raises(WrongPassword):
        Desk.unlock_with_recovery(home, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", options=options)
    d = Desk.unlock_with_recovery(home, code.lower().replace("-", " "), options=options)
    assert d.user.username == ADMIN
    d.change_password(ADMIN, "a brand new password")
    d.lock()
    Desk.unlock(home, ADMIN, "a brand new password", options=options).lock()


def test_rekey_changes_data_key_and_keeps_everyone(
    desk: Desk, purpose, home: Path, options
) -> None:
    enroll(desk, purpose)
    desk.add_user("op", "operator-pass-1")
    old_key = desk._vault.data_key
    desk.rekey()
    new_key = desk._vault.data_key
    assert new_key != old_key
    desk.lock()
    with pytest.raises(VaultCorrupt):
        open_database(home / "vault.db", old_key)
    for user, pw in ((ADMIN, PASSWORD), ("op", "operator-pass-1")):
        d = Desk.unlock(home, user, pw, options=options)
        assert d.stats().people == 1
        assert d.audit_verify().ok
        d.lock()
    assert not (home / "keyslots.json.next").exists()


def test_one_flipped_byte_is_detected_at_unlock(desk: Desk, purpose, home: Path, options) -> None:
    enroll(desk, purpose)
    desk.lock()
    db = home / "vault.db"
    data = bytearray(db.read_bytes())
    data[4096 + 1000] ^= 0x01  # inside page 2
    db.write_bytes(bytes(data))
    with pytest.raises(VaultCorrupt, match="backup"):
        Desk.unlock(home, ADMIN, PASSWORD, options=options)


def _raw(desk: Desk):
    """A connection with the data key but without the app's protections, as an attacker who
    stole the key would have."""
    key = desk._vault.data_key
    path = desk.home / "vault.db"
    desk.lock()
    conn = open_database(path, key)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    return conn, key


def _put_triggers_back(conn) -> None:
    """What a careful attacker does last: sign-in refuses a vault missing its triggers."""
    from app.db import split_sql
    from app.migrations import _V1_SQL

    for statement in split_sql(_V1_SQL):
        if "TRIGGER audit_no_" in statement:
            conn.execute(statement)
    conn.close()


def test_missing_append_only_trigger_refuses_unlock(desk: Desk, home: Path, options) -> None:
    conn, _ = _raw(desk)
    conn.close()
    with pytest.raises(VaultCorrupt) as caught:
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert caught.value.code == "vault_tampered"


@pytest.mark.parametrize("attack", ["alter", "reorder", "delete", "insert"])
def test_audit_tampering_is_detected(desk: Desk, purpose, home: Path, options, attack: str) -> None:
    enroll(desk, purpose)
    enroll(desk, purpose, name="Second Person", seed=2)
    assert desk.audit_verify().ok
    conn, _ = _raw(desk)
    rows = conn.execute(
        "SELECT seq, at, actor, action, subject, details, mac FROM audit"
    ).fetchall()
    if attack == "alter":
        conn.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 3")
    elif attack == "reorder":
        a, b = rows[2], rows[3]
        conn.execute(
            "UPDATE audit SET at=?, actor=?, action=?, subject=?, details=?, mac=? WHERE seq=?",
            (*b[1:], a[0]),
        )
        conn.execute(
            "UPDATE audit SET at=?, actor=?, action=?, subject=?, details=?, mac=? WHERE seq=?",
            (*a[1:], b[0]),
        )
    elif attack == "delete":
        conn.execute("DELETE FROM audit WHERE seq = 4")
    else:
        conn.execute("UPDATE audit SET seq = seq + 100 WHERE seq >= 5")
        conn.execute(
            "INSERT INTO audit (seq, at, actor, action, subject, details, mac) "
            "VALUES (5, ?, 'admin', 'consent.grant', NULL, '{}', ?)",
            (rows[4][1], "0" * 64),
        )
    _put_triggers_back(conn)
    try:
        d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    except VaultCorrupt as exc:  # issue 12: the newest entries are checked at sign-in
        assert exc.code == "audit_broken"
        return
    result = d.audit_verify()
    assert not result.ok and result.problems
    d.lock()


def test_cut_off_tail_detected_against_exported_head(
    desk: Desk, purpose, home: Path, options
) -> None:
    enroll(desk, purpose)
    head = desk.audit_head()
    conn, _ = _raw(desk)
    last = int(head.split(":")[0])
    conn.execute("DELETE FROM audit WHERE seq >= ?", (last - 1,))
    _put_triggers_back(conn)
    d = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=options.kdf, auto_purge=False))
    # Without the head the shortened chain still verifies...
    d2 = d.audit_verify()
    assert any("cut off" in p for p in d.audit_verify(head).problems)
    assert d2.entries < last + 2
    d.lock()


def test_erasure_leaves_canary_on_no_page(desk: Desk, purpose, home: Path) -> None:
    result = enroll(desk, purpose, name="Canary Zebulon", reference="REF-CANARY-77")
    enroll(desk, purpose, name="Other Person", seed=9)
    key = desk._vault.data_key
    before = (
        decrypt_database(home / "vault.db", key) + decrypt_wal(home / "vault.db-wal", key)
    ).lower()
    assert b"canary zebulon" in before, "the test must see the canary before erasure"
    # A backup kept on the workstation must not keep the person either (issue 10).
    held = desk.backup(home / "backups" / "before-erasure.cdbackup")
    desk.erase(result.person.id)
    plain = decrypt_database(home / "vault.db", key) + decrypt_wal(home / "vault.db-wal", key)
    with zipfile.ZipFile(held) as zf:
        (home.parent / "backup-copy.db").write_bytes(zf.read("vault.db"))
    plain += decrypt_database(home.parent / "backup-copy.db", key)
    assert b"other person" in decrypt_database(home.parent / "backup-copy.db", key).lower()
    for needle in (b"canary", b"ref-canary-77", "Canary".encode("utf-16-le")):
        assert needle not in plain.lower(), needle
    assert b"other person" in plain.lower()
    assert desk.audit_verify().ok
    events = [e for e in desk.audit_events() if e.subject == result.person.id]
    assert events and all("Canary" not in json.dumps(dict(e.details)) for e in events)
