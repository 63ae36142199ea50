"""A lost erasure certificate is issued again from the vault's erasure record."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import NotFound, PermissionDenied
from app.models import Purpose
from tests.core.pdftools import pdf_text
from tests.core.test_cli import ok_json, run
from tests.core.vaultkit import enroll


def test_reissue_names_the_original_and_verifies(
    desk: Desk, purpose: Purpose, home: Path, options: DeskOptions
) -> None:
    person = enroll(desk, purpose, name="Canary Zebulon").person
    original = desk.erase(person.id).certificate_pdf
    assert original is not None
    original_sha = hashlib.sha256(original).hexdigest()
    for language in ("en", "zh"):
        again = desk.reissue_erasure_certificate(person.id, language)  # type: ignore[arg-type]
        text = " ".join(pdf_text(again).split())
        assert person.id in text and original_sha[:16] in text.replace(" ", "")
        assert "Canary" not in text and "Zebulon" not in text  # the name is gone for good
        check = desk.verify_document(again)
        assert check.valid and check.status == "stored"
    assert [e.action for e in desk.audit_events()].count("erasure.reissue") == 2
    with pytest.raises(NotFound) as missing:
        desk.reissue_erasure_certificate("P-NEVER-ERASED")
    assert missing.value.code == "erasure_not_found"
    desk.add_user("frontdesk", "operator-pass-1", "operator")
    op = Desk.unlock(home, "frontdesk", "operator-pass-1", options=options)
    try:
        with pytest.raises(PermissionDenied):
            op.reissue_erasure_certificate(person.id)
    finally:
        op.lock()


def test_reissue_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    ok_json(home, "init", "--org", "Acme HR", "--admin", "admin")
    proc = run(home, "erasure-certificate", "P-UNKNOWN", "--out", str(tmp_path / "c.pdf"))
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1
    assert "No erasure" in proc.stderr and not (tmp_path / "c.pdf").exists()
