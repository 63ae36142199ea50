"""The organisation root through the desk and the real CLI: export, fingerprint, migration,
``verify-document`` agreeing with ``pdfsig``, quiet output, printed copies and trusted time."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.desk import Desk, DeskOptions
from app.documents import DocumentMaker
from app.errors import InvalidInput, PermissionDenied
from app.models import Purpose
from app.org_authority import (
    META_LEGACY_CERT,
    META_ROOT_CERT,
    META_ROOT_KEY,
    create_org_identity,
    grouped,
)
from app.pdfsign import PdfSigner, create_workstation_identity, read_info_value, verify_pdf
from tests.core import test_documents_fixtures as fx
from tests.core.test_cli import ok_json, run
from tests.core.test_documents import build, pdftotext, squash
from tests.core.test_trust import make_nss, pdfsig, pdfsig_verdict
from tests.core.vaultkit import ADMIN, PASSWORD

# ------------------------------------------------------------------ desk level


def test_root_is_exported_and_its_fingerprint_is_on_the_retention_notice(
    desk: Desk, purpose: Purpose
) -> None:
    root = desk.organisation_root()
    cert = x509.load_pem_x509_certificate(root.pem)
    assert root.sha256 == hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    text = squash(pdftotext(desk.retention_notice(purpose.id, "en")))
    assert squash(grouped(root.sha256)) in text
    assert "PAdESB-B" in text  # no TSA configured: the page says the time is the clock's


def test_a_vault_from_before_the_root_gets_one_and_old_documents_still_verify(
    home: Path, options: DeskOptions, desk: Desk, purpose: Purpose
) -> None:
    # Turn the fresh vault into one made by the previous release: self-signed cert, no root.
    key, cert = create_workstation_identity("Acme Property Management")
    with desk.session.write() as conn:
        conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (META_ROOT_KEY, META_ROOT_CERT))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'signing_key'", (key,))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'signing_cert'", (cert,))
    desk.archive.forget()
    old = desk.retention_notice(purpose.id, "en")
    assert desk.verify_document(old).valid
    desk.add_user("clerk", "clerk password 1", "operator")
    desk.lock()

    clerk = Desk.unlock(home, "clerk", "clerk password 1", options=options)
    with pytest.raises(Exception, match="no organisation root"):
        clerk.organisation_root()  # an operator's sign-in does not create the root
    clerk.lock()

    admin = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    try:
        root = admin.organisation_root()
        legacy = admin.session.meta(META_LEGACY_CERT)
        assert legacy == cert
        check = admin.verify_document(old)
        assert check.valid and check.status == "stored"
        new = admin.retention_notice(purpose.id, "en")
        result = verify_pdf(new, root.pem)  # the root alone is enough for new documents
        assert result.valid and result.issuer and "organisation root" in result.issuer
        assert admin.verify_document(new).valid
        assert not verify_pdf(old, root.pem).valid  # old ones need the legacy anchor
    finally:
        admin.lock()
    again = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    try:
        assert again.organisation_root() == root  # migration runs once
    finally:
        again.lock()


def test_timestamp_authority_is_admin_only_and_checked(
    home: Path, options: DeskOptions, desk: Desk
) -> None:
    with pytest.raises(InvalidInput):
        desk.set_timestamp_authority("ftp://tsa.example")
    desk.set_timestamp_authority("https://tsa.example/rfc3161")
    assert desk.documents._signer.timestamped  # built lazily: no network until a signature
    desk.set_timestamp_authority(None)
    assert not desk.documents._signer.timestamped
    desk.add_user("clerk", "clerk password 1", "operator")
    clerk = Desk.unlock(home, "clerk", "clerk password 1", options=options)
    try:
        with pytest.raises(PermissionDenied):
            clerk.set_timestamp_authority("https://tsa.example/rfc3161")
    finally:
        clerk.lock()


def _qr(pdf: bytes) -> str:
    doc = read_info_value(pdf, "/ConsentDeskID")
    sha = read_info_value(pdf, "/ConsentDeskContentSHA256")
    return f"consentdesk:doc={doc};consent=;sha256={sha}"


def test_printed_copy_is_checked_by_its_qr_text(desk: Desk, purpose: Purpose) -> None:
    pdf = desk.retention_notice(purpose.id, "zh")
    text = _qr(pdf)
    assert squash(text.split("sha256=")[1]) in squash(pdftotext(pdf))  # the QR's hash is printed
    good = desk.verify_printed(text)
    assert good.status == "matches" and good.kind == "retention_notice" and good.problems == ()
    wrong = desk.verify_printed(text[:-1] + ("0" if text[-1] != "0" else "1"))
    assert wrong.status == "differs" and wrong.problems
    gone = desk.verify_printed(text.replace("doc=", "doc=x"))
    assert gone.status == "unknown"
    assert desk.verify_printed("https://example.com/not-ours").status == "unreadable"


# ------------------------------------------------------------------ trusted time


def _tsa() -> object:
    """An in-process RFC 3161 TSA (pyHanko's test double) with a proper timeStamping cert."""
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the double is RSA-only
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
    )


def test_timestamped_documents_are_b_t_and_say_so(tmp_path: Path) -> None:
    org = create_org_identity(fx.ORG.name, now=dt.datetime.now(dt.UTC))
    signer = PdfSigner(
        org.signing_key_pem, org.signing_cert_pem, chain_pem=org.root_cert_pem, timestamper=_tsa()
    )
    maker = DocumentMaker(signer, clock=lambda: fx.T0)
    nss = make_nss(tmp_path / "nss", org.root_cert_pem)
    for lang in ("en", "zh"):
        pdf = build(maker, "consent_form", lang)  # type: ignore[arg-type]
        result = verify_pdf(pdf, org.root_cert_pem)
        assert result.valid and result.timestamp_at is not None
        assert abs(result.timestamp_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
        text = squash(pdftotext(pdf))
        assert "PAdESB-T" in text and "PAdESB-B" not in text
        assert pdfsig_verdict(pdfsig(nss, pdf, tmp_path)) == (True, True)


# ------------------------------------------------------------------ the real CLI


@pytest.fixture(scope="module")
def cli_vault(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    base = tmp_path_factory.mktemp("trustcli")
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
    return home, base, int(purpose["id"])  # type: ignore[index]


def test_certificate_command_fingerprint_equals_sha256sum_of_the_der(
    cli_vault: tuple[Path, Path, int],
) -> None:
    home, base, purpose_id = cli_vault
    pem_path = base / "org-root.pem"
    out = ok_json(home, "certificate", "--out", str(pem_path))
    der_path = base / "org-root.der"
    der_path.write_bytes(
        x509.load_pem_x509_certificate(pem_path.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    summed = subprocess.run(
        ["sha256sum", str(der_path)], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    assert out == {"out": str(pem_path), "sha256": summed, "timestamp_authority": None}
    notice = base / "notice.pdf"
    run(home, "policy", str(purpose_id), "--out", str(notice), "--language", "zh")
    assert squash(grouped(summed)) in squash(pdftotext(notice.read_bytes()))
    plain = run(home, "certificate")
    assert plain.returncode == 0 and plain.stdout.strip() == f"SHA-256 fingerprint: {summed}"


def _lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.stderr == "", proc.stderr  # no library warnings, no traceback
    return proc.stdout.strip().splitlines()


def test_verify_document_agrees_with_pdfsig_and_stays_quiet(
    cli_vault: tuple[Path, Path, int],
) -> None:
    home, base, purpose_id = cli_vault
    pem_path = base / "root-for-pdfsig.pem"
    ok_json(home, "certificate", "--out", str(pem_path))
    nss = make_nss(base / "nss", pem_path.read_bytes())
    genuine = base / "genuine.pdf"
    run(home, "policy", str(purpose_id), "--out", str(genuine))
    data = genuine.read_bytes()

    lookalike = create_org_identity("Acme HR", now=dt.datetime.now(dt.UTC))
    unsigned = build(DocumentMaker(None, clock=lambda: fx.T0), "retention_notice", "en")
    forged = PdfSigner(
        lookalike.signing_key_pem, lookalike.signing_cert_pem, chain_pem=lookalike.root_cert_pem
    ).sign(unsigned)
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)", data)
    assert match is not None
    tampered = bytearray(data)
    tampered[int(match.group(2)) // 2] ^= 0x01
    cases = {"genuine": data, "forged": forged, "tampered": bytes(tampered), "garbage": b"%PDF-"}
    for name, pdf in cases.items():
        path = base / f"{name}.pdf"
        path.write_bytes(pdf)
        proc = run(home, "verify-document", str(path))
        lines = _lines(proc)
        assert 5 <= len(lines) <= 9, (name, lines)
        assert all(line.startswith(("VALID", "NOT VALID", "  ")) for line in lines)
        valid_and_trusted = all(pdfsig_verdict(pdfsig(nss, pdf, base)))
        assert (proc.returncode == 0) == valid_and_trusted == (name == "genuine"), name
        assert lines[0].startswith("VALID" if name == "genuine" else "NOT VALID")
    forged_lines = _lines(run(home, "verify-document", str(base / "forged.pdf")))
    assert "  problem: the signing certificate was not issued by this organisation's root" in (
        forged_lines
    )
    assert "  trusted time: none (signing time is the workstation clock)" in forged_lines


def test_verify_document_qr_and_usage_errors(cli_vault: tuple[Path, Path, int]) -> None:
    home, base, purpose_id = cli_vault
    notice = base / "for-qr.pdf"
    run(home, "policy", str(purpose_id), "--out", str(notice))
    text = _qr(notice.read_bytes())
    ok = run(home, "verify-document", "--qr", text)
    assert ok.returncode == 0 and _lines(ok)[0].startswith("MATCHES: retention_notice")
    bad = run(home, "verify-document", "--qr", text.replace("sha256=", "sha256=0")[:-1])
    assert bad.returncode == 9 and _lines(bad)[0].startswith("DOES NOT MATCH")
    both = run(home, "verify-document", str(notice), "--qr", text)
    assert both.returncode == 2 and "Traceback" not in both.stderr
    neither = run(home, "verify-document")
    assert neither.returncode == 2 and "Traceback" not in neither.stderr
    helptext = run(home, "verify-document", "--help").stdout
    assert "exit codes" in helptext and "9 =" in " ".join(helptext.split())


def test_access_report_is_stored_verifies_and_logs_one_access(desk: Desk, purpose: Purpose) -> None:
    from tests.core.vaultkit import enroll

    person_id = enroll(desk, purpose).person.id

    def accesses() -> int:
        return sum(1 for e in desk.person_audit(person_id) if e.action == "person.access_export")

    pdf = desk.access_report_pdf(person_id)
    assert accesses() == 1
    check = desk.verify_document(pdf)
    assert check.valid and check.status == "stored" and check.kind == "access_report"
    assert check.person_id == person_id
    assert _qr_matches(desk, pdf)
    export = desk.export_person(person_id)  # what `consentdesk export` does first
    desk.access_report_pdf(person_id, export=export)
    assert accesses() == 2  # one per request, not two
    other = enroll(desk, purpose, name="Other Person", seed=7).person.id
    with pytest.raises(InvalidInput):
        desk.access_report_pdf(other, export=export)


def _qr_matches(desk: Desk, pdf: bytes) -> bool:
    return desk.verify_printed(_qr(pdf)).status == "matches"


def test_governance_documents_chain_to_the_root_too(
    desk: Desk, purpose: Purpose, tmp_path: Path
) -> None:
    """The compliance module signs with its own maker: it must use the same chain and print the
    same fingerprint, or a regulator holding the root could not check a filing pack."""
    from app.compliance.service import Compliance

    issued, _ = Compliance(desk).records_pdf("en")
    root = desk.organisation_root()
    assert squash(grouped(root.sha256)) in squash(pdftotext(issued.pdf))
    check = desk.verify_document(issued.pdf)
    assert check.valid and check.status == "stored", check.problems
    nss = make_nss(tmp_path / "nss", root.pem)
    assert pdfsig_verdict(pdfsig(nss, issued.pdf, tmp_path)) == (True, True)
