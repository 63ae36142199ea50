"""Issue 10 point 8: receipts and certificates say who asked, what was destroyed (including the
backups brought in line) and what remains and why, in the person's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.desk import Desk
from app.errors import InvalidInput
from app.models import Purpose
from tests.core.pdftools import pdf_text
from tests.core.vaultkit import ADMIN, PASSWORD, enroll


def _flat(pdf: bytes) -> str:
    """Extracted text with line breaks and spacing removed, so wrapped sentences match."""
    return re.sub(r"\s+", "", pdf_text(pdf))


def _has(text: str, phrase: str) -> bool:
    return re.sub(r"\s+", "", phrase) in text


def test_withdrawal_receipt_names_the_representative_and_what_remains_until_when(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    desk.backup(home / "backups" / "kept.cdbackup")
    r = enroll(desk, purpose, name="Receipt Person", seed=3)
    w = desk.withdraw(r.person.id, "moving away", requested_by="representative")
    assert w.receipt is not None
    text = _flat(desk.document_pdf(w.receipt.id))
    assert _has(text, "A representative acting for the person")
    assert not _has(text, "in person")  # the statement no longer assumes who asked
    assert _has(text, "What remains, and why")
    assert _has(text, "automatically on") and _has(text, "at the latest")
    assert _has(text, "Backups kept on this workstation: 1")


def test_erasure_certificate_says_who_asked_and_what_is_kept_in_chinese(
    desk: Desk, purpose: Purpose
) -> None:
    r = enroll(desk, purpose, name="证书 人", seed=5, language="zh")
    e = desk.erase(r.person.id, "管理员决定", requested_by="admin")
    assert e.certificate_pdf is not None
    text = _flat(e.certificate_pdf)
    assert _has(text, "本机构的管理员")
    assert _has(text, "仍保留的内容及原因")
    assert _has(text, "删除登记簿") and _has(text, "本工作站未保存备份")
    assert not _has(text, "应本人要求")


def test_person_request_is_the_default_and_an_impossible_requester_is_refused_first(
    desk: Desk, purpose: Purpose
) -> None:
    r = enroll(desk, purpose, name="Default Person", seed=6)
    with pytest.raises(InvalidInput):
        desk.withdraw(r.person.id, "x", requested_by="retention")
    assert desk.person_consents(r.person.id)[0].status == "active"  # nothing changed
    e = desk.erase(r.person.id)
    assert e.certificate_pdf is not None
    text = _flat(e.certificate_pdf)
    assert _has(text, "The person, in person") and _has(text, "erasure ledger")


def test_cli_erase_requested_by_representative(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    from tests.core.test_cli import ok_json, run

    r = enroll(desk, purpose, name="Cli Person", seed=7)
    desk.lock()
    out = tmp_path / "certificate.pdf"
    args = ("erase", r.person.id, "--yes", "--requested-by", "representative")
    env = {"CONSENTDESK_USER": ADMIN, "CONSENTDESK_PASSWORD": PASSWORD}
    ok_json(home, *args, "--certificate", str(out), env=env)
    assert _has(_flat(out.read_bytes()), "A representative acting for the person")
    proc = run(home, "erase", r.person.id, "--yes", "--requested-by", "retention", env=env)
    assert proc.returncode == 2  # not a choice a person can make


def test_every_document_carries_the_audit_head_and_reveals_a_rollback(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """Issue 10: each document in a person's hands witnesses the audit chain. After an older
    backup is restored, a document issued later names a head the vault no longer holds."""
    from app.pdfsign import INFO_AUDIT_HEAD, read_info_value
    from tests.core.test_cli import run

    early = enroll(desk, purpose, name="Early Person", seed=11)
    form = desk.document_pdf(early.documents[0].id)
    form_head = read_info_value(form, INFO_AUDIT_HEAD)
    assert form_head is not None and form_head.split(":")[0].isdigit()
    assert _has(_flat(form), "Audit log head when issued")
    backup = desk.backup(tmp_path / "before.cdbackup")
    later = enroll(desk, purpose, name="Later Person", seed=12)
    receipt = desk.withdraw(later.person.id, "changed my mind").receipt
    assert receipt is not None
    receipt_pdf = desk.document_pdf(receipt.id)
    receipt_head = read_info_value(receipt_pdf, INFO_AUDIT_HEAD)
    assert receipt_head is not None and receipt_head != form_head
    seq = receipt_head.split(":")[0]
    assert _has(_flat(receipt_pdf), f"{seq}:")  # printed too, not only in the metadata
    assert desk.audit_verify_against(receipt_pdf).ok
    (tmp_path / "receipt.pdf").write_bytes(receipt_pdf)
    (tmp_path / "form.pdf").write_bytes(form)
    desk.lock()

    env = {"CONSENTDESK_USER": ADMIN, "CONSENTDESK_PASSWORD": PASSWORD}
    proc = run(home, "audit", "verify", "--against", str(tmp_path / "receipt.pdf"), env=env)
    assert proc.returncode == 0 and f"still holds {seq}" in proc.stdout, proc.stderr
    # The rollback: restore the backup taken before the receipt was issued.
    proc = run(home, "restore", str(backup), env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run(home, "audit", "verify", "--against", str(tmp_path / "receipt.pdf"), env=env)
    assert proc.returncode == 8, proc.stdout
    assert "rolled back" in proc.stdout and f"entry {seq}" in proc.stdout
    assert "Traceback" not in proc.stderr
    # The form issued before the backup still matches the restored chain.
    proc = run(home, "audit", "verify", "--against", str(tmp_path / "form.pdf"), env=env)
    assert proc.returncode == 0, proc.stdout
    # Not a ConsentDesk document at all: one clear line, no traceback.
    (tmp_path / "other.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    proc = run(home, "audit", "verify", "--against", str(tmp_path / "other.pdf"), env=env)
    assert (
        proc.returncode == 2 and "no audit head" in proc.stderr and "Traceback" not in proc.stderr
    )
    proc = run(home, "audit", "verify", "--against", str(tmp_path / "missing.pdf"), env=env)
    assert proc.returncode == 2 and "not found" in proc.stderr
