"""The organisation root: every document kind checks out with ``pdfsig`` and the root alone.

The checks use tools ConsentDesk did not write: poppler's ``pdfsig`` against an NSS database
(made with ``certutil``) that holds nothing but the exported root, exactly as the README tells a
regulator or a person to do. ``verify_pdf`` must agree with ``pdfsig`` on every file, and a
forgery signed by a lookalike certificate of the same names must fail both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from app.documents import DocumentMaker
from app.models import Language
from app.org_authority import (
    OrgIdentity,
    create_org_identity,
    create_org_root,
    grouped,
    issue_workstation_certificate,
    root_fingerprint,
)
from app.pdfsign import PdfSigner, create_workstation_identity, verify_pdf
from tests.core import test_documents_fixtures as fx
from tests.core.pdftools import poppler
from tests.core.test_documents import KINDS, build, squash
from tests.core.test_documents import pdftotext as extract_text

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _tool(name: str) -> str:
    """poppler's tools as every PDF test finds them; NSS's certutil the same way (skip with the
    reason, fail under CI: tools/system_deps.sh installs libnss3-tools)."""
    if name != "certutil":
        return poppler(name)
    path = shutil.which(name)
    if path is None:
        why = "certutil (libnss3-tools) is not installed; see tools/system_deps.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    return path


def make_nss(directory: Path, root_pem: bytes) -> Path:
    """An NSS database holding only ``root_pem``, trusted as a CA (the README's commands)."""
    certutil = _tool("certutil")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "org-root.pem").write_bytes(root_pem)
    for args in (
        ["-N", "-d", f"sql:{directory}", "--empty-password"],
        [
            "-A",
            "-d",
            f"sql:{directory}",
            "-n",
            "root",
            "-t",
            "C,C,",
            "-i",
            str(directory / "org-root.pem"),
        ],
    ):
        proc = subprocess.run([certutil, *args], capture_output=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
    return directory


def pdfsig(nss: Path, pdf: bytes, tmp: Path) -> str:
    """pdfsig's report on ``pdf`` (synthetic sample data only, so a temp file is fine)."""
    path = tmp / "checked.pdf"
    path.write_bytes(pdf)
    proc = subprocess.run(
        [_tool("pdfsig"), "-nssdir", f"sql:{nss}", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    path.unlink()
    return proc.stdout + proc.stderr


def pdfsig_verdict(report: str) -> tuple[bool, bool]:
    """``(signature valid, certificate trusted)`` as pdfsig states them."""
    return "Signature is Valid" in report, "Certificate is Trusted" in report


@pytest.fixture(scope="module")
def org() -> OrgIdentity:
    return create_org_identity(fx.ORG.name, now=NOW)


@pytest.fixture(scope="module")
def lookalike() -> OrgIdentity:
    """A forger's copy: a new root and workstation certificate with exactly the same names."""
    return create_org_identity(fx.ORG.name, now=NOW)


@pytest.fixture(scope="module")
def nss(tmp_path_factory: pytest.TempPathFactory, org: OrgIdentity) -> Path:
    return make_nss(tmp_path_factory.mktemp("nss"), org.root_cert_pem)


def _signer(identity: OrgIdentity) -> PdfSigner:
    return PdfSigner(
        identity.signing_key_pem, identity.signing_cert_pem, chain_pem=identity.root_cert_pem
    )


@pytest.fixture(scope="module")
def signed_docs(org: OrgIdentity) -> dict[tuple[str, Language], bytes]:
    maker = DocumentMaker(_signer(org), clock=lambda: fx.T0)
    return {(k, lang): build(maker, k, lang) for k in KINDS for lang in ("en", "zh")}


@pytest.fixture(scope="module")
def unsigned_docs() -> dict[str, bytes]:
    maker = DocumentMaker(None, clock=lambda: fx.T0)
    return {k: build(maker, k, "en") for k in KINDS}


def test_root_is_a_ca_and_issues_the_workstation_certificate(org: OrgIdentity) -> None:
    root = x509.load_pem_x509_certificate(org.root_cert_pem)
    leaf = x509.load_pem_x509_certificate(org.signing_cert_pem)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.issuer == root.subject and leaf.issuer != leaf.subject
    leaf.verify_directly_issued_by(root)
    assert leaf.not_valid_after_utc <= root.not_valid_after_utc
    der = root.public_bytes(serialization.Encoding.DER)
    assert root_fingerprint(org.root_cert_pem) == hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_kind_is_valid_and_trusted_with_only_the_root(
    signed_docs: dict[tuple[str, Language], bytes],
    org: OrgIdentity,
    nss: Path,
    tmp_path: Path,
    kind: str,
    lang: Language,
) -> None:
    pdf = signed_docs[kind, lang]
    report = pdfsig(nss, pdf, tmp_path)
    assert pdfsig_verdict(report) == (True, True), report
    ours = verify_pdf(pdf, org.root_cert_pem)
    assert ours.valid and ours.trusted and ours.problems == ()
    assert ours.issuer is not None and "organisation root" in ours.issuer
    # The fingerprint of the root is printed on the document itself (grouped by four).
    assert squash(grouped(root_fingerprint(org.root_cert_pem))) in squash(extract_text(pdf))


@pytest.mark.parametrize("kind", KINDS)
def test_lookalike_forgery_is_not_trusted_by_pdfsig_nor_by_us(
    unsigned_docs: dict[str, bytes],
    org: OrgIdentity,
    lookalike: OrgIdentity,
    nss: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    self_signed = create_workstation_identity(fx.ORG.name)
    forgeries = {
        "lookalike root": _signer(lookalike).sign(unsigned_docs[kind]),
        "self-signed": PdfSigner(*self_signed).sign(unsigned_docs[kind]),
    }
    for how, pdf in forgeries.items():
        report = pdfsig(nss, pdf, tmp_path)
        valid, trusted = pdfsig_verdict(report)
        assert valid and not trusted, (how, report)  # intact bytes, untrusted signer
        ours = verify_pdf(pdf, org.root_cert_pem)
        assert ours.intact and not ours.trusted and not ours.valid, how
        assert ours.problems == (
            "the signing certificate was not issued by this organisation's root",
        )


def _embedded_certs(pdf: bytes) -> list[bytes]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    (sig,) = reader.embedded_regular_signatures
    signed_data = sig.signed_data
    assert isinstance(signed_data, cms.SignedData)
    return [c.chosen.dump() for c in signed_data["certificates"]]


def test_chain_is_embedded_once(
    signed_docs: dict[tuple[str, Language], bytes], org: OrgIdentity
) -> None:
    certs = _embedded_certs(signed_docs["consent_form", "en"])
    leaf = x509.load_pem_x509_certificate(org.signing_cert_pem).public_bytes(
        serialization.Encoding.DER
    )
    root = x509.load_pem_x509_certificate(org.root_cert_pem).public_bytes(
        serialization.Encoding.DER
    )
    assert sorted(certs) == sorted([leaf, root])


@pytest.mark.parametrize("which", ["leaf", "root"])
def test_a_changed_byte_in_an_embedded_certificate_gets_one_verdict(
    signed_docs: dict[tuple[str, Language], bytes],
    org: OrgIdentity,
    nss: Path,
    tmp_path: Path,
    which: str,
) -> None:
    """Point 2 of issue 15: with the certificate embedded twice, pdfsig said valid and
    verify-document said damaged. Each certificate is now embedded once; a flipped byte in
    either copy gets the same verdict from both validators (and a changed signing
    certificate is never valid)."""
    pdf = signed_docs["retention_notice", "en"]
    pem = org.signing_cert_pem if which == "leaf" else org.root_cert_pem
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    hexed = der[-40:-20].hex().encode()
    matches = list(re.finditer(re.escape(hexed), pdf, flags=re.IGNORECASE))
    assert len(matches) == 1  # once, inside the /Contents hex string
    tampered = bytearray(pdf)
    pos = matches[0].start() + 2
    tampered[pos] = ord("0") if tampered[pos] != ord("0") else ord("1")
    ours = verify_pdf(bytes(tampered), org.root_cert_pem)
    report = pdfsig(nss, bytes(tampered), tmp_path)
    assert all(pdfsig_verdict(report)) == ours.valid, (report, ours.problems)
    if which == "leaf":
        assert not ours.valid
        assert ours.problems == ("the signing certificate was changed or is damaged",)


def test_legacy_self_signed_anchor_still_verifies_old_documents(
    unsigned_docs: dict[str, bytes],
) -> None:
    """A vault migrated to a root keeps trusting its old self-signed certificate, and its old
    key re-certified by the root signs documents that chain to the root."""
    old_key, old_cert = create_workstation_identity(fx.ORG.name)
    old_doc = PdfSigner(old_key, old_cert).sign(unsigned_docs["retention_notice"])
    root_key, root_cert = create_org_root(fx.ORG.name, now=NOW)
    key, cert = issue_workstation_certificate(
        root_key, root_cert, fx.ORG.name, now=NOW, key_pem=old_key
    )
    assert key == old_key or b"PRIVATE KEY" in key
    new_doc = PdfSigner(key, cert, chain_pem=root_cert).sign(unsigned_docs["retention_notice"])
    anchors = root_cert + old_cert
    assert verify_pdf(old_doc, anchors).valid
    assert verify_pdf(new_doc, anchors).valid
    assert not verify_pdf(old_doc, root_cert).valid  # the legacy anchor is what keeps it valid
