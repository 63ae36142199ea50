"""The admin CLI against a real encrypted vault, run as a separate process like a script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "cli password 1"


def run(home: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None):
    environ = {
        **os.environ,
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": "admin",
        "CONSENTDESK_PASSWORD": PASSWORD,
        **(env or {}),
    }
    if "CONSENTDESK_RECOVERY_CODE" not in (env or {}):
        environ.pop("CONSENTDESK_RECOVERY_CODE", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=REPO,
        input=input,
        timeout=120,
    )


def ok_json(home: Path, *args: str, **kw) -> object:
    proc = run(home, *args, "--json", **kw)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "vault"
    out = ok_json(home, "init", "--org", "Acme HR", "--admin", "admin")
    assert len(out["recovery_code"].replace("-", "")) == 25
    return home


def test_init_twice_is_refused(cli_home: Path) -> None:
    proc = run(cli_home, "init", "--org", "X", "--admin", "admin")
    assert proc.returncode != 0 and "already exists" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_purpose_commands(cli_home: Path) -> None:
    p = ok_json(
        cli_home,
        "purpose",
        "add",
        "--title",
        "Office entry",
        "--controller",
        "Acme HR",
        "--contact",
        "hr@acme.example",
        "--retention-days",
        "365",
        "--alternative",
        "Badge",
    )
    assert p["id"] >= 1 and p["version"] == 1 and p["keep_photos"] is False
    edited = ok_json(cli_home, "purpose", "edit", str(p["id"]), "--retention-days", "180")
    assert edited["version"] == 2 and edited["retention_days"] == 180
    listed = ok_json(cli_home, "purpose", "list")
    assert any(x["id"] == p["id"] and x["version"] == 2 for x in listed)
    shown = ok_json(cli_home, "purpose", "show", str(p["id"]))
    assert shown["title"] == "Office entry"
    missing = run(cli_home, "purpose", "show", "999")
    assert missing.returncode != 0 and "No purpose" in missing.stderr


def test_user_commands(cli_home: Path) -> None:
    added = ok_json(
        cli_home, "user", "add", "desk1", env={"CONSENTDESK_NEW_PASSWORD": "desk1 password"}
    )
    assert added["username"] == "desk1" and added["role"] == "operator" and "id" in added
    users = ok_json(cli_home, "user", "list")
    assert {u["username"] for u in users} >= {"admin", "desk1"}
    me = ok_json(
        cli_home,
        "unlock-check",
        env={"CONSENTDESK_USER": "desk1", "CONSENTDESK_PASSWORD": "desk1 password"},
    )
    assert me["role"] == "operator"
    ok_json(
        cli_home, "user", "passwd", "desk1", env={"CONSENTDESK_NEW_PASSWORD": "desk1 password 2"}
    )
    ok_json(cli_home, "user", "remove", "desk1")
    gone = run(
        cli_home,
        "stats",
        env={"CONSENTDESK_USER": "desk1", "CONSENTDESK_PASSWORD": "desk1 password 2"},
    )
    assert gone.returncode == 4 and "Wrong user name or password" in gone.stderr


def test_wrong_password_is_one_clear_line(cli_home: Path) -> None:
    proc = run(cli_home, "stats", env={"CONSENTDESK_PASSWORD": "nope"})
    assert proc.returncode == 4
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    # Let the back-off pass for the other tests.
    run(cli_home, "stats")


def test_stats_audit_backup(cli_home: Path, tmp_path: Path) -> None:
    stats = ok_json(cli_home, "stats")
    assert stats["staff"] >= 1
    head = ok_json(cli_home, "audit", "head")["head"]
    verified = ok_json(cli_home, "audit", "verify", "--head", head)
    assert verified["ok"] is True
    out = tmp_path / "audit.jsonl"
    ok_json(cli_home, "audit", "export", "--out", str(out))
    lines = out.read_text().splitlines()
    assert lines and json.loads(lines[0])["action"] == "vault.init"
    b = ok_json(cli_home, "backup", str(tmp_path / "x.cdbackup"))
    assert Path(b["backup"]).exists()
    assert ok_json(cli_home, "purge-expired")["erased_people"] == []


def test_no_vault_message(tmp_path: Path) -> None:
    proc = run(tmp_path / "nothing", "stats")
    assert proc.returncode == 3 and "consentdesk init" in proc.stderr


def test_no_terminal_and_no_password(cli_home: Path) -> None:
    env = {**os.environ, "CONSENTDESK_HOME": str(cli_home)}
    env.pop("CONSENTDESK_PASSWORD", None)
    env.pop("CONSENTDESK_USER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "app", "stats"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 2 and "CONSENTDESK_USER" in proc.stderr


def test_erase_asks_to_confirm(cli_home: Path) -> None:
    proc = run(cli_home, "erase", "PNOSUCHPERSON", "--yes")
    assert proc.returncode == 6 and "No such person" in proc.stderr
