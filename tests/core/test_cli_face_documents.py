"""Bulk import, identify, documents and verify-document through the real CLI, on real photos."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.core.pdftools import pdf_text
from tests.core.test_cli import ok_json, run


def _scan(path: Path) -> Path:
    """A stand-in for a scanned paper form: a real PNG with handwriting-like lines."""
    img = Image.new("L", (850, 1100), 255)
    draw = ImageDraw.Draw(img)
    draw.text((60, 60), "Consent form - signed on paper", fill=0)
    draw.line([(100, 900), (300, 860), (420, 920), (600, 870)], fill=0, width=4)
    img.save(path)
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, faces: Path):
    base = tmp_path_factory.mktemp("import")
    home = base / "vault"
    ok_json(home, "init", "--org", "Acme HR", "--admin", "admin")
    purpose = ok_json(
        home,
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
    ok_json(  # issue-16: no enrolment before the necessity test is signed
        home,
        "purpose",
        "assess",
        str(purpose["id"]),
        "--necessity",
        "Hands-free office entry",
        "--why-not-alternative",
        "Badges are shared",
        "--scenario",
        "building_access",
        "--access",
        "HR only",
    )
    scan = _scan(base / "scan.png")
    (base / "empty.pdf").write_bytes(b"")
    # issue-13: a paper form cannot be signed before the purpose existed (it was added today)
    day = dt.date.today().isoformat()
    rows = [
        (
            "Barack Obama",
            "E-001",
            f"{faces / 'obama_1.jpg'};{faces / 'obama_2.jpg'}",
            "scan.png",
            day,
        ),
        ("Joe Biden", "E-002", str(faces / "biden_2.jpg"), str(scan), day),
        ("Group Photo", "E-003", str(faces / "group_two_people.jpg"), "scan.png", day),
        ("Obama Again", "E-004", str(faces / "obama_4.jpg"), "scan.png", day),
        ("No Scan", "E-005", str(faces / "rose_leslie_1.jpg"), "", day),
        ("Bad Date", "E-006", str(faces / "rose_leslie_1.jpg"), "scan.png", "7 Jan"),
        ("Missing Photo", "E-007", "nowhere.jpg", "scan.png", day),
        ("Kit Harington", "E-008", "kit.jpg", "scan.png", day),
    ]
    (base / "kit.jpg").write_bytes((faces / "kit_harington_1.jpg").read_bytes())
    with (base / "people.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "reference", "photo", "consent_scan", "signed_on", "department"])
        for r in rows:
            w.writerow([*r, "Ops"])
    report = ok_json(home, "import", str(base / "people.csv"), "--purpose", str(purpose["id"]))
    return home, base, purpose, report


def test_import_report_shape_and_decisions(imported) -> None:
    _, _, _, report = imported
    assert set(report) == {"imported", "skipped", "person_ids", "attested_adults"}
    assert report["attested_adults"] == 3  # no date_of_birth column: the admin attests
    assert report["imported"] == 3 and len(report["person_ids"]) == 3
    reasons = {s["row"]: s["reason"] for s in report["skipped"]}
    assert "faces" in reasons[4]  # the group photo
    assert "already enrolled" in reasons[5]  # Obama again
    assert "consent_scan" in reasons[6]
    assert "ISO date" in reasons[7]
    assert "not found" in reasons[8].lower() or "no such" in reasons[8].lower()


def test_identify_json_lines(imported, faces: Path) -> None:
    home, _, _, _ = imported
    proc = run(
        home,
        "identify",
        str(faces / "obama_3.jpg"),
        str(faces / "rose_leslie_2.jpg"),
        str(faces / "group_kit_with_rose.jpg"),
        str(home / "nothing.jpg"),
        "--json",
    )
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["decision"] for x in lines] == ["match", "no_match", "several_faces", "error"]
    assert lines[0]["candidates"][0]["name"] == "Barack Obama"
    assert lines[0]["candidates"][0]["distance"] < 0.6
    assert set(lines[0]) == {"photo", "decision", "candidates", "message"}
    assert set(lines[0]["candidates"][0]) == {"person_id", "name", "reference", "distance"}


def test_documents_export_and_verify(imported, tmp_path: Path) -> None:
    home, _, _, report = imported
    pid = report["person_ids"][0]
    out = ok_json(home, "documents", pid, "--out", str(tmp_path / "docs"))
    kinds = {d["kind"] for d in out["documents"]}
    assert kinds == {"consent_form", "paper_scan"}
    form = next(Path(d["file"]) for d in out["documents"] if d["kind"] == "consent_form")
    text = pdf_text(form.read_bytes())
    assert "Barack Obama" in text and pid in text
    check = ok_json(home, "verify-document", str(form))
    assert check["valid"] is True and check["status"] == "stored" and check["person_id"] == pid
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(form.read_bytes())
    data[len(data) // 3] ^= 0x20
    tampered.write_bytes(bytes(data))
    bad = run(home, "verify-document", str(tampered), "--json")
    assert bad.returncode == 9 and json.loads(bad.stdout)["valid"] is False


def test_withdraw_and_erase_hand_over_documents(imported, tmp_path: Path, faces: Path) -> None:
    home, _, _, report = imported
    biden = report["person_ids"][1]
    receipt = tmp_path / "receipt.pdf"
    w = ok_json(home, "withdraw", biden, "--reason", "changed my mind", "--receipt", str(receipt))
    assert w["templates_deleted"] == 1 and receipt.stat().st_size > 1000
    check = ok_json(home, "verify-document", str(receipt))
    assert check["kind"] == "withdrawal_receipt" and check["valid"]
    ident = run(home, "identify", str(faces / "biden_1.jpg"), "--json")
    assert json.loads(ident.stdout)["decision"] == "no_match"
    cert = tmp_path / "erasure.pdf"
    e = ok_json(home, "erase", biden, "--yes", "--certificate", str(cert))
    assert e["counts_after"] == {k: 0 for k in e["counts_before"]}
    verified = ok_json(home, "verify-document", str(cert))
    assert verified["status"] == "erasure_certificate" and verified["valid"]
    gone = run(home, "documents", biden, "--out", str(tmp_path / "none"))
    assert gone.returncode == 6


def test_export_access_request(imported, tmp_path: Path) -> None:
    home, _, _, report = imported
    pid = report["person_ids"][2]
    out = ok_json(home, "export", pid, "--out", str(tmp_path / "sar"))
    assert "access-report.pdf" in out["files"] and "person.json" in out["files"]
    data = json.loads((tmp_path / "sar" / "person.json").read_text())
    assert data["person"]["name"] == "Kit Harington" and data["templates"] == 1
    # issue-13: the paper consent's signing date, and retention counted from it
    (consent,) = data["consents"]
    signed = dt.date.fromisoformat(consent["paper_signed_on"])
    assert signed == dt.date.today() and consent["purpose_version"] == 1
    expires = dt.datetime.fromisoformat(consent["expires_at"])
    assert expires.date() == signed + dt.timedelta(days=365)
    assert consent["age_basis"] == "organisation_records" and consent["age_attested_by"] == "admin"


def test_policy_notice(imported, tmp_path: Path) -> None:
    home, _, purpose, _ = imported
    for lang in ("en", "zh"):
        out = tmp_path / f"policy-{lang}.pdf"
        ok_json(home, "policy", str(purpose["id"]), "--out", str(out), "--language", lang)
        assert ok_json(home, "verify-document", str(out))["kind"] == "retention_notice"


def test_people_search(imported) -> None:
    home, _, _, report = imported
    found = ok_json(home, "people", "kit")
    assert found["total"] == 1 and found["items"][0]["person"]["name"] == "Kit Harington"
    active = ok_json(home, "people", "--status", "active")
    assert {i["person"]["id"] for i in active["items"]} <= set(report["person_ids"])


def test_identify_purpose_returns_only_that_purposes_people_and_is_audited(
    imported, faces: Path, tmp_path: Path
) -> None:
    """issue-13: templates are bound to the purpose they were given for."""
    home, _, purpose, report = imported
    gym = ok_json(
        home, "purpose", "add", "--title", "Gym", "--controller", "Acme HR", "--contact",
        "hr@acme.example", "--retention-days", "30", "--alternative", "Show the membership card",
    )  # fmt: skip
    probe = str(faces / "obama_3.jpg")
    own = json.loads(run(home, "identify", probe, "--purpose", str(purpose["id"]), "--json").stdout)
    other = json.loads(run(home, "identify", probe, "--purpose", str(gym["id"]), "--json").stdout)
    assert own["decision"] == "match" and own["candidates"][0]["name"] == "Barack Obama"
    assert other["decision"] == "no_match" and other["candidates"] == []
    log = tmp_path / "audit.jsonl"
    ok_json(home, "audit", "export", "--out", str(log))
    events = [json.loads(x) for x in log.read_text().splitlines()]
    searches = [e for e in events if e["action"] == "face.search"]
    by_purpose = {e["details"]["purpose"]: e["details"] for e in searches[-2:]}
    assert by_purpose[purpose["id"]]["candidates"] == 1
    assert by_purpose[gym["id"]]["candidates"] == 0
    assert all(e["actor"] == "admin" and e["details"]["source"] == "cli" for e in searches[-2:])
    assert not any("embedding" in json.dumps(e) for e in searches)
    # An operator must name the purpose; a search of every purpose is an admin's.
    env = {"CONSENTDESK_NEW_PASSWORD": "operator password 1"}
    ok_json(home, "user", "add", "olga", "--role", "operator", env=env)
    op = {"CONSENTDESK_USER": "olga", "CONSENTDESK_PASSWORD": "operator password 1"}
    refused = run(home, "identify", probe, env=op)
    assert refused.returncode == 5 and "Traceback" not in refused.stderr
    allowed = run(home, "identify", probe, "--purpose", str(purpose["id"]), "--json", env=op)
    assert json.loads(allowed.stdout)["decision"] == "match"
    # The person's export lists who looked them up, and each consent's purpose version.
    obama = report["person_ids"][0]
    ok_json(home, "export", obama, "--out", str(tmp_path / "sar"))
    data = json.loads((tmp_path / "sar" / "person.json").read_text())
    assert [c["purpose_version"] for c in data["consents"]] == [1]
    mine = [f for f in data["face_searches"] if f["task"] == "identify"]
    assert {f["actor"] for f in mine} >= {"admin", "olga"}
    assert {f["purpose_id"] for f in mine} >= {purpose["id"]}
    assert all(f["candidates"] == 1 for f in mine if f["purpose_id"] == purpose["id"])
    # the import's duplicate check of "Obama Again" found him too, and says so
    assert any(f["task"] == "duplicate_check" for f in data["face_searches"])
    report_text = pdf_text((tmp_path / "sar" / "access-report.pdf").read_bytes())
    assert "Who looked you up" in report_text and "olga" in report_text
