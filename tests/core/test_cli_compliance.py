"""The governance commands (issue 16) through the real CLI, after a real bulk import."""

from __future__ import annotations

from pathlib import Path

from tests.core.test_cli import ok_json, run
from tests.core.test_cli_face_documents import imported  # noqa: F401 - the shared fixture


def test_compliance_json_matches_the_vault_after_import_and_erasure(imported, tmp_path) -> None:  # noqa: F811
    home, _, purpose, report = imported
    o = ok_json(home, "compliance")
    assert {
        "stored_people",
        "per_purpose",
        "filing_threshold",
        "filing_required",
        "projected_threshold_date",
    } <= set(o)
    assert o["stored_people"] == report["imported"] == 3
    assert o["per_purpose"][0]["purpose_id"] == purpose["id"]
    assert (
        o["per_purpose"][0]["stored_people"] == 3 and o["per_purpose"][0]["necessity"] == "current"
    )
    assert o["filing_threshold"] == 100_000 and o["filing_required"] is False
    assert o["projected_threshold_date"] is not None

    victim = report["person_ids"][0]
    req = ok_json(
        home,
        "request",
        "add",
        "--kind",
        "erasure",
        "--person",
        victim,
        "--identity-check",
        "ID card seen",
        "--jurisdiction",
        "gdpr",
    )
    assert req["status"] == "open" and req["jurisdiction"] == "gdpr"
    cert = tmp_path / "certificate.pdf"
    closed = ok_json(
        home,
        "request",
        "close",
        req["id"],
        "--outcome",
        "Done: erased",
        "--erase",
        "--certificate",
        str(cert),
    )
    assert closed["status"] == "closed" and "person.erase#" in closed["fulfilled_by"]
    assert closed["documents"][0].startswith("erasure_certificate:") and cert.stat().st_size
    assert run(home, "verify-document", str(cert)).returncode == 0
    after = ok_json(home, "compliance")
    assert after["stored_people"] == 2 and after["per_purpose"][0]["stored_people"] == 2
    listed = ok_json(home, "request", "list", "--status", "closed")
    assert [r["id"] for r in listed] == [req["id"]]


def test_governance_pdfs_and_breach_letters_verify(imported, tmp_path: Path) -> None:  # noqa: F811
    home, _, purpose, _ = imported
    outputs = []
    for args in (
        ("assessment", str(purpose["id"]), "--language", "zh", "--residual-risk", "低"),
        ("records",),
        ("filing-pack",),
        ("complaint-form", "--purpose", str(purpose["id"])),
    ):
        out = tmp_path / f"{args[0]}.pdf"
        info = ok_json(home, *args, "--out", str(out))
        assert info["out"] == str(out) and out.stat().st_mode & 0o077 == 0
        outputs.append(out)
    records = ok_json(home, "records", "--out", str(tmp_path / "r2.pdf"))["records"]
    assert records["purposes"][0]["scenario"] == "building_access"

    breach = ok_json(
        home,
        "breach",
        "add",
        "--what",
        "Stolen laptop",
        "--data",
        "Names",
        "--people",
        "3",
        "--records",
        "3",
        "--consequences",
        "Low",
        "--measures",
        "Key rotated",
        "--discovered",
        "2026-11-30T10:00:00",
    )
    assert [b["id"] for b in ok_json(home, "breach", "list")] == [breach["id"]]
    letters = ok_json(home, "breach", "letters", breach["id"], "--out-dir", str(tmp_path / "l"))
    assert {(w["kind"], w["language"]) for w in letters["letters"]} == {
        (f"breach_letter_{a}", lang) for a in ("people", "regulator") for lang in ("en", "zh")
    }
    outputs += [Path(w["out"]) for w in letters["letters"]]
    for pdf in outputs:
        check = ok_json(home, "verify-document", str(pdf))
        assert check["valid"] and check["status"] == "stored", (pdf, check)
    assert ok_json(home, "compliance")["breaches"] == 1


def test_a_purpose_without_necessity_test_cannot_import(imported) -> None:  # noqa: F811
    home, base, _, _ = imported
    fresh = ok_json(
        home,
        "purpose",
        "add",
        "--title",
        "Canteen",
        "--controller",
        "Acme HR",
        "--contact",
        "hr@acme.example",
        "--retention-days",
        "30",
        "--alternative",
        "Pay at the till",
    )
    proc = run(home, "import", str(base / "people.csv"), "--purpose", str(fresh["id"]))
    assert proc.returncode == 2 and "necessity" in proc.stderr and "Traceback" not in proc.stderr
    bad = run(
        home,
        "purpose",
        "assess",
        str(fresh["id"]),
        "--necessity",
        "x",
        "--why-not-alternative",
        "y",
        "--scenario",
        "spying",
        "--access",
        "z",
    )
    assert bad.returncode == 2
    signed = ok_json(
        home,
        "purpose",
        "assess",
        str(fresh["id"]),
        "--necessity",
        "Queues",
        "--why-not-alternative",
        "Cards are lost",
        "--scenario",
        "payment",
        "--access",
        "Canteen staff",
    )
    assert signed["purpose_version"] == 1 and signed["answers"]["scenario"] == "payment"
    row = next(
        p for p in ok_json(home, "compliance")["per_purpose"] if p["purpose_id"] == fresh["id"]
    )
    assert row["can_enroll"] and row["necessity"] == "current"
