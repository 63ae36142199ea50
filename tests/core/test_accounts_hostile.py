"""Issue 11, accounts: a wrong database, look-alike names, malformed keyslots and a damaged
back-off state each end in one clear line and change no file they should not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.backoff import MAX_DELAY_S, LoginBackoff
from app.desk import Desk, DeskOptions
from app.errors import (
    AuthError,
    InvalidInput,
    KeyslotError,
    LockedOut,
    PermissionDenied,
    VaultError,
    WrongPassword,
)
from app.keyslots import Keyslots
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, digest

REPO = Path(__file__).resolve().parents[2]
OP_PW = "operator password 1"


def cli(home: Path, *args: str, user: str = ADMIN, password: str = PASSWORD, **env: str):
    environ = {
        **os.environ,
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": user,
        "CONSENTDESK_PASSWORD": password,
        **env,
    }
    environ.pop("CONSENTDESK_RECOVERY_CODE", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=REPO,
        timeout=300,
    )


def one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    return lines[0]


# ------------------------------------------------------------------ a wrong database
def _foreign_database(tmp_path: Path, home: Path, kind: str) -> None:
    db = home / "vault.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    if kind == "empty":
        db.write_bytes(b"")
    elif kind == "missing":
        db.unlink()
    elif kind == "other-vault":
        other, _ = Desk.initialise(
            tmp_path / "other", "Other Org", ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF)
        )
        other.lock()
        shutil.copy(tmp_path / "other" / "vault.db", db)
    else:  # same data key, but a database that holds no vault / another vault's id
        key = Keyslots.load(home / "keyslots.json").unlock_user(ADMIN, PASSWORD)
        db.unlink()
        conn = sqlcipher3.connect(str(db), isolation_level=None)
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        if kind == "same-key-other-id":
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            conn.execute("INSERT INTO meta VALUES ('vault_id', x'00112233')")
            conn.execute("PRAGMA user_version = 5")
        else:
            conn.execute("CREATE TABLE t (x)")
        conn.close()


@pytest.mark.parametrize(
    "kind", ["empty", "missing", "other-vault", "same-key-no-vault", "same-key-other-id"]
)
def test_wrong_database_never_changes_keyslots(
    desk: Desk, home: Path, tmp_path: Path, options: DeskOptions, kind: str
) -> None:
    desk.lock()
    saved = tmp_path / "saved.db"
    shutil.copy(home / "vault.db", saved)
    before = digest(home / "keyslots.json")
    _foreign_database(tmp_path, home, kind)
    for _ in range(2):  # a second sign-in must not find anything changed by the first
        with pytest.raises(VaultError) as info:
            Desk.unlock(home, ADMIN, PASSWORD, options=options)
        assert "\n" not in str(info.value)
        assert digest(home / "keyslots.json") == before
    proc = cli(home, "unlock-check")
    assert proc.returncode == 3
    one_clear_line(proc.stderr)
    assert digest(home / "keyslots.json") == before
    # The real database back: the admin's password still opens it.
    (home / "vault.db").unlink(missing_ok=True)
    shutil.copy(saved, home / "vault.db")
    Desk.unlock(home, ADMIN, PASSWORD, options=options).lock()


def test_removed_account_keeps_slot_file_unchanged_at_sign_in(
    desk: Desk, home: Path, options: DeskOptions
) -> None:
    desk.add_user("frontdesk", OP_PW, "operator")
    with desk.session.write() as conn:  # the row gone behind the core's back
        conn.execute("DELETE FROM staff WHERE username = 'frontdesk'")
    desk.lock()
    before = digest(home / "keyslots.json")
    with pytest.raises(VaultError, match="removed"):
        Desk.unlock(home, "frontdesk", OP_PW, options=options)
    assert digest(home / "keyslots.json") == before


# ------------------------------------------------------------------ names
def test_admin_signs_in_in_any_case_and_keeps_the_slot(
    tmp_path: Path, options: DeskOptions
) -> None:
    home = tmp_path / "v"
    d, _ = Desk.initialise(home, "Org", "André", PASSWORD, options=options)
    d.lock()
    slots = Keyslots.load(home / "keyslots.json").user_count()
    for typed in ("ANDRÉ", "andre\u0301", "André", "ＡＮＤＲÉ"):  # upper, decomposed, full-width
        d = Desk.unlock(home, typed, PASSWORD, options=options)
        assert d.user.username == "André" and d.user.role == "admin"
        d.lock()
    assert Keyslots.load(home / "keyslots.json").user_count() == slots
    d = Desk.unlock(home, "André", PASSWORD, options=options)
    with pytest.raises(InvalidInput) as taken:
        d.add_user("ANDRÉ", OP_PW, "operator")
    assert taken.value.code == "username_taken"
    with pytest.raises(InvalidInput):
        d.add_user("andre\u0301", OP_PW, "operator")
    d.lock()
    Desk.unlock(home, "André", PASSWORD, options=options).lock()  # slot not overwritten


def test_strasse_cannot_take_over_strasse_sharp_s(tmp_path: Path, options: DeskOptions) -> None:
    home = tmp_path / "v"
    d, _ = Desk.initialise(home, "Org", "straße", PASSWORD, options=options)
    with pytest.raises(InvalidInput):  # the same account key: refused in a new vault
        d.add_user("strasse", OP_PW, "operator")
    # A vault from before issue 11 may hold both: plant the operator as such a vault had it,
    # with a slot under the old lower()-only tag.
    ks = d._vault.keyslots
    with ks.changing():
        legacy = ks.legacy_tag("user", "strasse")
        slot = ks._new_slot("user", legacy, OP_PW, d._vault.data_key, X25519PrivateKey.generate())
        ks._slots.append(slot)
    with d.session.write() as conn:
        cur = conn.execute(
            "INSERT INTO staff (username, username_key, role, created_at) "
            "VALUES ('strasse', 'strasse', 'operator', '2026-01-01T00:00:00+00:00')"
        )
        assert d.session.authority is not None  # the admin signed that account's role
        d.session.authority.grant(conn, int(cur.lastrowid), "strasse", "operator")
    d.lock()
    op = Desk.unlock(home, "strasse", OP_PW, options=options)
    assert op.user.role == "operator"
    with pytest.raises(PermissionDenied):
        op.change_password("straße", "taken over now, 12 chars")
    with pytest.raises(PermissionDenied):
        op.change_password("STRASSE".lower().replace("ss", "ß"), "taken over now, 12 chars")
    op.lock()
    Desk.unlock(home, "straße", PASSWORD, options=options).lock()


# ------------------------------------------------------------------ keyslots
@pytest.mark.parametrize(
    "bad", [{"t": 0}, {"t": "3"}, {"m": 2**40}, {"p": -1}, {"t": True}, {"m": 4}, {"salt": "%%"}]
)
def test_malformed_kdf_parameters_are_one_clear_line(
    desk: Desk, home: Path, options: DeskOptions, bad: dict[str, object]
) -> None:
    desk.lock()
    path = home / "keyslots.json"
    doc = json.loads(path.read_text())
    for slot in doc["slots"]:
        slot["kdf"].update(bad)
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyslotError, match="damaged"):
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    proc = cli(home, "unlock-check")
    assert proc.returncode == 3
    assert "damaged" in one_clear_line(proc.stderr)


# ------------------------------------------------------------------ back-off
def _state(home: Path) -> dict:
    return json.loads((home / "login-state.json").read_text())


def test_huge_counter_and_future_time_are_bounded(desk: Desk, home: Path, options) -> None:
    desk.lock()
    state = home / "login-state.json"
    state.write_text(json.dumps({"failures": 1027, "last": time.time() - 3600, "pending": []}))
    Desk.unlock(home, ADMIN, PASSWORD, options=options).lock()  # waited long enough: no Overflow
    state.write_text(json.dumps({"failures": 10**400, "last": time.time(), "pending": []}))
    with pytest.raises(LockedOut) as info:
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert 0 < info.value.retry_after <= MAX_DELAY_S
    seventy_three_years = time.time() + 73 * 365 * 86400
    state.write_text(json.dumps({"failures": 40, "last": seventy_three_years, "pending": []}))
    assert 0 < Desk.retry_after(home) <= MAX_DELAY_S
    proc = cli(home, "unlock-check")
    assert proc.returncode == 4
    assert "seconds" in one_clear_line(proc.stderr)


@pytest.mark.parametrize("damage", ["delete", "garbage", "directory"])
def test_damaged_state_after_failures_fails_safe(
    desk: Desk, home: Path, options: DeskOptions, damage: str
) -> None:
    desk.lock()
    for _ in range(2):
        with pytest.raises(WrongPassword):
            Desk.unlock(home, ADMIN, "not the password", options=options)
    state = home / "login-state.json"
    assert _state(home)["failures"] == 2
    before = digest(home / "keyslots.json")
    if damage == "delete":
        state.unlink()
    elif damage == "garbage":
        state.write_bytes(b"\x00{not json")
    else:
        state.unlink()
        state.mkdir()
    with pytest.raises(AuthError) as info:  # locked out, or refused outright
        Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert "\n" not in str(info.value)
    assert digest(home / "keyslots.json") == before
    if damage == "directory":
        assert info.value.code == "login_state_unusable"
        state.rmdir()  # the computer's administrator repairs it: still fails safe
        with pytest.raises(LockedOut):
            Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert _state(home)["failures"] > 3 and _state(home)["pending"][-1]["kind"] == "state_lost"
    # Once the wait is over the loss is audited (the two failures before it were in the lost
    # file: the audit says a state was lost instead of silently forgetting them).
    doc = _state(home)
    doc["last"] = time.time() - MAX_DELAY_S - 1
    state.write_text(json.dumps(doc))
    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    actions = [e.action for e in d.audit_events()]
    assert "login.state_lost" in actions
    assert d.audit_verify().ok
    d.lock()


def test_failures_reach_the_audit_log_even_when_the_first_write_fails(
    desk: Desk, home: Path, options: DeskOptions
) -> None:
    desk.lock()
    for _ in range(2):
        with pytest.raises(WrongPassword):
            Desk.unlock(home, ADMIN, "not the password", options=options)
    backoff = LoginBackoff(home / "login-state.json")
    with pytest.raises(RuntimeError), backoff.success() as failures:
        assert len(failures) == 2
        raise RuntimeError("the audit write failed")
    assert len(backoff.pending()) == 2  # not cleared: the next sign-in audits them
    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert [e.action for e in d.audit_events()].count("login.failed") == 2
    d.lock()
    assert LoginBackoff(home / "login-state.json").pending() == []
