"""The device commands and ``consentdesk-gate`` end to end, in-process.
Real vault, real photos, real files between the two."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import stat
from pathlib import Path

import pytest

from app.cli.context import Context
from app.cli.program import build_parser
from app.desk import Desk
from app.errors import InvalidInput
from app.gate.cli import run as gate_run
from tests.core.test_bio_support import shared_engine
from tests.core.test_cli import PASSWORD
from tests.core.test_devices_handoff import enroll_photos


def cli(home: Path, *args: str) -> tuple[int, str, str]:
    parsed = build_parser().parse_args([*args, "--home", str(home)])
    out, err = io.StringIO(), io.StringIO()
    env = {"CONSENTDESK_USER": "admin", "CONSENTDESK_PASSWORD": PASSWORD}
    ctx = Context(parsed, env, out, err, io.StringIO())
    code = int(parsed.fn(ctx))
    return code, out.getvalue(), err.getvalue()


def ok(home: Path, *args: str) -> dict[str, object]:
    code, out, err = cli(home, *args, "--json")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def gate(home: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = gate_run(
        ["--home", str(home), *args],
        stdout=out,
        stderr=err,
        clock=lambda: dt.datetime.now(dt.UTC),
        engine=shared_engine(),
    )
    return code, out.getvalue(), err.getvalue()


def test_cli_register_handoff_revoke_and_gate(tmp_path: Path, faces: Path) -> None:
    home, door = tmp_path / "vault", tmp_path / "door"
    ok(home, "init", "--org", "Acme HR", "--admin", "admin")
    purpose = ok(
        home,
        "purpose",
        "add",
        "--title",
        "Entrance",
        "--controller",
        "Acme HR",
        "--contact",
        "hr@acme.example",
        "--retention-days",
        "365",
        "--alternative",
        "Badge",
    )
    ok(
        home,
        "purpose",
        "assess",
        str(purpose["id"]),
        "--necessity",
        "Staff enter hands-free",
        "--why-not-alternative",
        "Badges are lent and lost",
        "--scenario",
        "building_access",
        "--access",
        "HR staff only",
    )
    keys = ok(home, "device", "keygen", "--out", str(door))
    assert stat.S_IMODE(os.stat(door / "device.key").st_mode) == 0o600
    before = (door / "device.key").read_bytes()
    with pytest.raises(InvalidInput):  # never overwrites a device key
        cli(home, "device", "keygen", "--out", str(door))
    assert (door / "device.key").read_bytes() == before

    added = ok(
        home,
        "device",
        "add",
        "Front door",
        "--purpose",
        str(purpose["id"]),
        "--public-key",
        str(keys["public_key"]),
    )
    assert added["key_fingerprint"] == keys["key"]
    listed = ok(home, "device", "list")
    assert [d["name"] for d in listed["devices"]] == ["Front door"]  # type: ignore[index]

    desk = Desk.unlock(home, "admin", PASSWORD)
    try:
        purpose_obj = desk.get_purpose(int(str(purpose["id"])))
        person = enroll_photos(desk, purpose_obj, "Barack Obama", [faces / "obama_1.jpg"], 1)
    finally:
        desk.lock()

    bundle = tmp_path / "b1.cdh"
    shipped = ok(home, "handoff", "--device", "Front door", "--out", str(bundle))
    assert (shipped["seq"], shipped["templates"], shipped["full"]) == (1, 1, True)
    assert gate(door, "import", str(bundle))[0] == 0
    code, out, _ = gate(
        door, "identify", str(faces / "obama_2.jpg"), str(faces / "rose_leslie_1.jpg"), "--json"
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["decision"] for r in lines] == ["allow", "deny"]
    assert lines[0]["person_id"].startswith("P") and "person_id" not in lines[1]

    desk = Desk.unlock(home, "admin", PASSWORD)
    try:
        desk.withdraw(person, "left")
    finally:
        desk.lock()
    revs = tmp_path / "r1.cdr"
    assert ok(home, "revocations", "--device", "Front door", "--out", str(revs))["entries"] == 1
    assert gate(door, "import", str(revs))[0] == 0
    code, out, _ = gate(door, "identify", str(faces / "obama_2.jpg"), "--json")
    assert json.loads(out) == {"photo": str(faces / "obama_2.jpg"), "decision": "deny"}

    code, _, err = gate(door, "import", str(bundle))
    assert code == 8 and "not newer" in err and "Traceback" not in err
    removed = ok(home, "device", "remove", "Front door")
    assert removed["removed_at"]
    assert ok(home, "device", "list")["devices"] == []
