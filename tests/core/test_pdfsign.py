"""Workstation identity, PAdES signing and tamper detection."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from reportlab.pdfgen.canvas import Canvas

from app.documents import DocumentMaker
from app.pdfsign import (
    PdfSigner,
    certificate_fingerprint,
    create_workstation_identity,
    read_document_id,
    verify_pdf,
)
from tests.core import test_documents_fixtures as fx


@pytest.fixture(scope="module")
def identity() -> tuple[bytes, bytes]:
    return create_workstation_identity("Harbourside Property Management")


def _plain_pdf() -> bytes:
    buf = io.BytesIO()
    canvas = Canvas(buf, pageCompression=0)
    canvas.drawString(72, 720, "MARKER-TEXT-FOR-TAMPERING")
    canvas.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def signed(identity: tuple[bytes, bytes]) -> bytes:
    key, cert = identity
    return PdfSigner(key, cert).sign(_plain_pdf())


def test_identity_is_a_self_signed_p256_certificate(identity: tuple[bytes, bytes]) -> None:
    key_pem, cert_pem = identity
    assert b"PRIVATE KEY" in key_pem
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.issuer == cert.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert cert.not_valid_after_utc - cert.not_valid_before_utc > dt.timedelta(days=365 * 10)
    assert len(certificate_fingerprint(cert_pem)) == 64


def test_signed_pdf_verifies(signed: bytes, identity: tuple[bytes, bytes]) -> None:
    result = verify_pdf(signed, identity[1])
    assert result.valid and result.intact and result.trusted and result.covers_whole_document
    assert result.signer is not None and "ConsentDesk" in result.signer
    assert result.signed_at is not None
    assert abs(result.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)
    assert result.problems == ()
    assert result.sha256 == hashlib.sha256(signed).hexdigest()


def test_one_flipped_byte_inside_the_signed_range_is_detected(
    signed: bytes, identity: tuple[bytes, bytes]
) -> None:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", signed)
    assert match is not None
    start, len1 = int(match.group(1)), int(match.group(2))
    pos = signed.index(b"MARKER-TEXT")
    assert start <= pos < start + len1
    tampered = bytearray(signed)
    tampered[pos] ^= 0x01  # "M" -> "L": same length, still a parseable PDF
    result = verify_pdf(bytes(tampered), identity[1])
    assert not result.valid
    assert not result.intact
    assert any("changed" in p for p in result.problems)


def test_appended_bytes_mean_the_signature_no_longer_covers_the_file(
    signed: bytes, identity: tuple[bytes, bytes]
) -> None:
    result = verify_pdf(signed + b"\n% appended later\n", identity[1])
    assert not result.covers_whole_document
    assert not result.valid
    assert result.intact  # the signed bytes themselves are untouched


def test_another_workstation_certificate_is_not_trusted(signed: bytes) -> None:
    _, other = create_workstation_identity("Some Other Office")
    result = verify_pdf(signed, other)
    assert not result.trusted and not result.valid


def test_unsigned_and_garbage_files_are_reported_not_raised(
    identity: tuple[bytes, bytes],
) -> None:
    unsigned = verify_pdf(_plain_pdf(), identity[1])
    assert not unsigned.valid and "no digital signature" in unsigned.problems[0]
    garbage = verify_pdf(b"this is not a pdf at all", identity[1])
    assert not garbage.valid and garbage.document_id is None
    assert read_document_id(b"nope") is None


def test_document_id_travels_in_the_metadata(identity: tuple[bytes, bytes]) -> None:
    maker = DocumentMaker(PdfSigner(*identity))
    pdf = maker.retention_notice(fx.purpose("en"), fx.ORG, "en", document_id="doc-123abc")
    assert read_document_id(pdf) == "doc-123abc"
    result = verify_pdf(pdf, identity[1])
    assert result.valid
    assert result.document_id == "doc-123abc"
    assert result.document_kind == "retention_notice"
    assert result.content_sha256 is not None and len(result.content_sha256) == 64
