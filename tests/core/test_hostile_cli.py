"""issue-11: the CLI under hostile arguments, on a real vault.

Most cases run ``app.cli.program.main`` in this process (a vault made with the fast KDF unlocks
quickly); cases where a hang or a race is the point run the real program as a subprocess.
Every case ends in one line on stderr, a stable exit code, no traceback, nothing lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.cli.output import escape_text, shown
from app.cli.program import main
from app.desk import Desk, DeskOptions
from app.errors import InvalidInput
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll, sign_necessity

REPO = Path(__file__).resolve().parents[2]
HUGE = "9" * 40


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Purpose, str]]:
    home = tmp_path / "vault"
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    purpose = sign_necessity(
        desk,
        desk.add_purpose(
            title="Entry",
            controller="Acme",
            contact="p@acme.example",
            retention_days=365,
            alternative="Card",
        ),
    )
    person = enroll(desk, purpose, name="Plain Name").person.id
    desk.lock()
    monkeypatch.setenv("CONSENTDESK_HOME", str(home))
    monkeypatch.setenv("CONSENTDESK_USER", ADMIN)
    monkeypatch.setenv("CONSENTDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("CONSENTDESK_RECOVERY_CODE", raising=False)
    monkeypatch.delenv("CONSENTDESK_DEBUG", raising=False)
    yield home, purpose, person


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_failure(code: int, err: str) -> None:
    assert code not in (0, 1), err  # 1 is "unexpected ..."
    assert "Traceback" not in err and "unexpected" not in err
    assert err.strip() and err.strip().count("\n") == 0, err


# ------------------------------------------------------------------ numbers
def test_every_numeric_argument_is_bounded(
    vault: tuple[Path, Purpose, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _home, _purpose, person = vault
    out = str(tmp_path / "o.pdf")
    cases = [
        ["policy", HUGE, "--out", out],
        ["purpose", "show", HUGE],
        ["purpose", "edit", HUGE, "--title", "x"],
        [
            "purpose",
            "add",
            "--title",
            "T",
            "--controller",
            "C",
            "--contact",
            "c@x.example",
            "--retention-days",
            HUGE,
            "--alternative",
            "A",
        ],
        ["people", "--offset", HUGE],
        ["people", "--limit", HUGE],
        ["people", "--limit", "-1"],
        ["people", "--offset", "-5"],
        ["people", "--purpose", HUGE],
        ["import", str(tmp_path / "x.csv"), "--purpose", HUGE],
        ["withdraw", person, "--reason", "r", "--purpose", HUGE],
        ["assessment", HUGE, "--out", out],
        ["complaint-form", "--purpose", HUGE, "--out", out],
        [
            "breach",
            "add",
            "--what",
            "w",
            "--data",
            "faces",
            "--people",
            HUGE,
            "--records",
            "1",
            "--consequences",
            "c",
            "--measures",
            "m",
        ],
        ["device", "add", "d", "--purpose", HUGE, "--public-key", out],
        ["bench", "--people", HUGE],
        ["people", "--limit", "1e3"],
        ["policy", "0x10", "--out", out],
    ]
    for args in cases:
        code, _, err = cli(capsys, *args)
        one_line_failure(code, err)
    assert not Path(out).exists()


# ------------------------------------------------------------------ --out
def test_out_paths_are_checked_before_anything_changes(
    vault: tuple[Path, Purpose, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, purpose, person = vault
    pid = str(purpose.id)
    other = tmp_path / "other-vault"
    other.mkdir()
    (other / "keyslots.json").write_text("{}")
    os.mkfifo(tmp_path / "fifo")
    bad = [
        str(tmp_path / "missing-folder" / "x.pdf"),
        str(tmp_path),  # a folder
        str(tmp_path / "fifo"),
        str(home / "vault.db"),
        str(home / "keyslots.json"),
        str(home / "notice.pdf"),
        str(other / "notice.pdf"),
    ]
    before = (home / "vault.db").stat().st_size, (home / "keyslots.json").read_bytes()
    for out in bad:
        for args in (
            ["policy", pid, "--out", out],
            ["audit", "export", "--out", out],
            ["certificate", "--out", out],
            ["erasure-certificate", "PNOPE", "--out", out],
            ["records", "--out", out],
        ):
            code, _, err = cli(capsys, *args)
            one_line_failure(code, err)
        # The erase must not happen when its certificate cannot be written.
        code, _, err = cli(capsys, "erase", person, "--yes", "--certificate", out)
        one_line_failure(code, err)
    (tmp_path / "a-file").write_text("x")
    code, _, err = cli(capsys, "export", person, "--out", str(tmp_path / "a-file"))
    one_line_failure(code, err)
    code, _, err = cli(capsys, "documents", person, "--out", str(home / "docs"))
    one_line_failure(code, err)
    assert (home / "keyslots.json").read_bytes() == before[1]
    assert not (home / "docs").exists()
    code, out, _ = cli(capsys, "--json", "people")
    assert code == 0 and json.loads(out)["total"] == 1  # nobody was erased


def test_output_files_are_private(
    vault: tuple[Path, Purpose, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, purpose, person = vault
    os.umask(0o022)
    existing = tmp_path / "notice.pdf"
    existing.write_text("old")
    existing.chmod(0o644)
    runs = [
        ["policy", str(purpose.id), "--out", str(existing)],  # an existing file is replaced
        ["audit", "export", "--out", str(tmp_path / "audit.jsonl")],
        ["certificate", "--out", str(tmp_path / "root.pem")],
        ["records", "--out", str(tmp_path / "records.pdf")],
        ["export", person, "--out", str(tmp_path / "export")],
        ["documents", person, "--out", str(tmp_path / "docs")],
        ["erase", person, "--yes", "--certificate", str(tmp_path / "erased.pdf")],
    ]
    for args in runs:
        code, _, err = cli(capsys, *args)
        assert code == 0, (args, err)
    files = [
        p for p in tmp_path.rglob("*") if p.is_file() and p.parent != home and home not in p.parents
    ]
    written = [p for p in files if p.name not in ("fifo",)]
    assert len(written) >= 8
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert existing.read_bytes().startswith(b"%PDF-")


def test_audit_export_survives_damaged_rows(
    vault: tuple[Path, Purpose, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _, _ = vault
    desk = Desk.unlock(home, ADMIN, PASSWORD)
    conn = desk.session.conn
    triggers = [
        r[0]
        for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name='audit'"
        )
    ]
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit'"
        )
    ]
    for name in names:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit SET details = 'not json {' WHERE seq = 2")
    conn.execute("UPDATE audit SET at = 'yesterday' WHERE seq = 3")
    for sql in triggers:
        conn.execute(sql)
    for _ in range(40):  # the damage is older than the tail checked at every unlock
        desk.record_event("identify.cli", None, {"photos": 1})
    desk.lock()
    code, _out, err = cli(capsys, "audit", "export", "--out", str(tmp_path / "a.jsonl"))
    assert code == 0, err
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert json.loads(lines[1])["details"] == {"damaged": "details unreadable"}
    assert "time unreadable" in lines[2]
    code, _, err = cli(capsys, "audit", "verify")
    assert code == 8 and "Traceback" not in err


# ------------------------------------------------------------------ names and escapes
def test_control_characters_never_reach_the_terminal(
    vault: tuple[Path, Purpose, str], faces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _purpose, person = vault
    # A name stored before names were checked (or written by another tool) is escaped on output.
    evil = "Eve\x1b[2J\x1b]0;owned\x07\nP999\tactive\t-\tFake Row\u202e\x9b"
    desk = Desk.unlock(home, ADMIN, PASSWORD)
    desk.session.conn.execute("UPDATE people SET name = ? WHERE id = ?", (evil, person))
    desk.lock()
    code, out, _ = cli(capsys, "people")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x9b" not in out
    assert out.count("\n") == 2  # one row and the count line: no fake row
    assert "\\x1b[2J" in out
    code, out, _ = cli(capsys, "--json", "people")
    assert code == 0 and json.loads(out)["items"][0]["person"]["name"] == evil
    assert "\x1b" not in out and "\u202e" not in out and "\x9b" not in out
    code, out, _ = cli(capsys, "identify", str(faces / "obama_1.jpg"))
    assert "\x1b" not in out
    assert shown("a\nb\tc\x1b") == "a\\x0ab\\x09c\\x1b" and escape_text("a\nb\x1b") == "a\nb\\x1b"


def test_names_made_of_nothing_visible_or_controls_are_refused(
    vault: tuple[Path, Purpose, str], capsys: pytest.CaptureFixture[str]
) -> None:
    home, purpose, _ = vault
    desk = Desk.unlock(home, ADMIN, PASSWORD)
    try:
        for name in (
            "\u200b\u200b",
            "\u3164",
            " \u2800 ",
            "Eve\x1b[2J",
            "Two\nLines",
            "Tab\tName",
            "\u202eevil",
        ):
            with pytest.raises(InvalidInput) as info:
                enroll(desk, purpose, name=name, seed=9)
            assert info.value.code in ("name_invisible", "control_character", "required")
        assert enroll(desk, purpose, name="李小龙", seed=11).person.name == "李小龙"
        assert enroll(desk, purpose, name="Zoë O'Brien-Smith", seed=13).person.name
    finally:
        desk.lock()
    code, _, err = cli(
        capsys,
        "request",
        "add",
        "--kind",
        "access",
        "--requester",
        "\u200b",
        "--identity-check",
        "ID card",
        "--jurisdiction",
        "gdpr",
    )
    one_line_failure(code, err)


# ------------------------------------------------------------------ real processes
def run(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


def test_devices_and_fifos_as_input_do_not_hang(
    vault: tuple[Path, Purpose, str], tmp_path: Path
) -> None:
    home, purpose, _ = vault
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in ("/dev/zero", str(fifo)):
        for args in (
            ["import", target, "--purpose", str(purpose.id)],
            ["verify-document", target],
            ["restore", target],
        ):
            proc = run(home, *args, timeout=60)  # a hang fails here with TimeoutExpired
            one_line_failure(proc.returncode, proc.stderr)
            assert "regular file" in proc.stderr


def test_concurrent_imports_of_one_file_enroll_each_person_once(
    vault: tuple[Path, Purpose, str], tmp_path: Path, faces: Path
) -> None:
    home, purpose, _ = vault
    Image.new("L", (400, 500), 255).save(tmp_path / "scan.png")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    people = [
        ("Barack Obama", "obama_1.jpg"),
        ("Joe Biden", "biden_1.jpg"),
        ("Rose Leslie", "rose_leslie_1.jpg"),
    ]
    with (tmp_path / "p.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "reference", "photo", "consent_scan", "signed_on"])
        for i, (name, photo) in enumerate(people):
            w.writerow([name, f"E-{i}", str(faces / photo), "scan.png", today])
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    cmd = [
        sys.executable,
        "-m",
        "app",
        "--json",
        "import",
        str(tmp_path / "p.csv"),
        "--purpose",
        str(purpose.id),
    ]
    procs = [
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
        )
        for _ in range(2)
    ]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert "Traceback" not in err and "unexpected" not in err, err
        reports.append(json.loads(out))
    assert sum(r["imported"] for r in reports) == 3, reports
    desk = Desk.unlock(home, ADMIN, PASSWORD)
    try:
        for name, _ in people:
            assert desk.find_people(name).total == 1
    finally:
        desk.lock()
    # Run again: every row fails (already enrolled), and the exit code says so.
    again = run(home, "import", str(tmp_path / "p.csv"), "--purpose", str(purpose.id))
    assert again.returncode == 10 and "already enrolled" in again.stdout
