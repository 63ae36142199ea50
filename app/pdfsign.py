"""Tamper evidence for the PDFs ConsentDesk issues: a workstation certificate and PAdES signing.

A consent form is evidence. Signing every PDF with a key that never leaves the workstation's
encrypted vault means anyone holding a copy (the person, an auditor, a court) can later show
whether a byte was changed since it was issued. The workstation certificate is issued by the
organisation's own root (:mod:`app.org_authority`), whose fingerprint is printed on every
document, so anyone can check a document with standard tools and the exported root alone;
``verify_pdf`` trusts exactly the anchors it is given, nothing else.

Each PDF also carries its ConsentDesk document ID in the document information dictionary
(``/ConsentDeskID``) so ``consentdesk verify-document FILE`` can find the vault's record of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

INFO_DOCUMENT_ID = "/ConsentDeskID"
INFO_DOCUMENT_KIND = "/ConsentDeskKind"
INFO_CONTENT_SHA256 = "/ConsentDeskContentSHA256"
INFO_AUDIT_HEAD = "/ConsentDeskAuditHead"  # SEQ:MAC of the audit log when it was made
_FIELD_NAME = "ConsentDeskSignature"
_CERT_YEARS = 20


def create_workstation_identity(
    org_name: str, *, now: dt.datetime | None = None
) -> tuple[bytes, bytes]:
    """Generate the workstation's signing identity: ``(key_pem, cert_pem)``.

    Called once at ``consentdesk init``; the caller stores both in the vault (the key is PKCS#8
    and unencrypted because the vault itself is the encryption). EC P-256 keeps signatures small
    and is accepted by every PAdES validator. The validity is long (20 years) because consent
    records must stay verifiable for as long as they are kept, and the workstation has no way to
    renew a certificate through a CA.
    """
    start = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0) - dt.timedelta(minutes=5)
    org = " ".join(org_name.split())[:64] or "ConsentDesk"
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "ConsentDesk workstation"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * _CERT_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def certificate_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 fingerprint (hex) of a PEM certificate, for display next to a verification."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.fingerprint(hashes.SHA256()).hex()


class PdfSigner:
    """Signs PDF bytes in memory with the workstation key (PAdES, SHA-256, invisible).

    Holding the parsed key in this object, created by the caller from vault contents, keeps the
    key out of module state and files: nothing here ever writes to disk.

    ``chain_pem`` holds the issuing certificates (the organisation root, see
    :mod:`app.org_authority`); the signature embeds the workstation certificate and each chain
    certificate exactly once, so every validator sees the same single set of certificates.
    ``timestamper`` (a pyHanko ``TimeStamper``, e.g. ``HTTPTimeStamper`` for the organisation's
    TSA) upgrades the signature from PAdES B-B (workstation clock) to B-T (trusted time); the
    caller injects it so tests can use an in-process TSA.
    """

    def __init__(
        self,
        key_pem: bytes,
        cert_pem: bytes,
        *,
        chain_pem: bytes = b"",
        timestamper: object | None = None,
    ) -> None:
        from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        certs = list(load_certs_from_pemder_data(cert_pem))
        if len(certs) != 1:
            raise ValueError("the workstation certificate must be exactly one PEM certificate")
        chain = [
            c
            for c in (load_certs_from_pemder_data(chain_pem) if chain_pem else ())
            if c.dump() != certs[0].dump()
        ]
        key = load_private_key_from_pemder_data(key_pem, passphrase=None)
        self._cert_pem = cert_pem
        self._chain_pem = chain_pem
        self._root_fingerprint = hashlib.sha256(chain[-1].dump()).hexdigest() if chain else None
        self._timestamper = timestamper
        # issue-15 point 2: the registry holds only the *other* certificates; pyHanko adds the
        # signing certificate itself, so listing it here too embedded it twice.
        self._signer = signers.SimpleSigner(
            signing_cert=certs[0],
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )

    @property
    def cert_pem(self) -> bytes:
        return self._cert_pem

    @property
    def root_fingerprint(self) -> str | None:
        """SHA-256 (hex, of the DER) of the organisation root that issued the signing
        certificate, printed on every document; None for a self-signed (legacy) signer."""
        return self._root_fingerprint

    @property
    def timestamped(self) -> bool:
        """Whether signatures carry an RFC 3161 timestamp (PAdES B-T) rather than only the
        workstation clock (B-B); documents say which."""
        return self._timestamper is not None

    def sign(self, pdf: bytes) -> bytes:
        """Return a signed copy of ``pdf``; the signature covers the whole returned file."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(
            field_name=_FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="Issued by ConsentDesk",
        )
        out = io.BytesIO()
        signers.PdfSigner(
            meta,
            signer=self._signer,
            timestamper=self._timestamper,  # type: ignore[arg-type]
        ).sign_pdf(writer, output=out)
        return out.getvalue()


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of checking one PDF against the vault's trust anchors.

    ``valid`` is the bottom line: a signature is present, the signed bytes are unchanged
    (``intact``), it chains to a trusted certificate (``trusted``: the organisation root, or the
    self-signed certificate of a vault from before the root existed), and nothing was appended
    after it (``covers_whole_document``). The separate fields let the CLI say *what* is wrong.
    ``timestamp_at`` is the RFC 3161 time of a B-T signature (None for B-B, where ``signed_at``
    is only the workstation's clock).
    """

    valid: bool
    intact: bool
    trusted: bool
    covers_whole_document: bool
    signer: str | None
    signed_at: dt.datetime | None
    sha256: str
    document_id: str | None
    document_kind: str | None = None
    content_sha256: str | None = None
    problems: tuple[str, ...] = ()
    issuer: str | None = None
    timestamp_at: dt.datetime | None = None


_NOISY_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "asn1crypto", "cryptography")


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Silence pyHanko's and its helpers' logging and warnings while checking a file.

    A tampered or forged PDF is an expected input for the verifier, not an incident: the
    libraries log tracebacks and warnings for it, which buried the one-line verdict under
    dozens of lines. The verdict carries everything that matters as ``problems``.
    """
    saved = []
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _info_value(reader: object, key: str) -> str | None:
    try:
        info = reader.trailer_view["/Info"].get_object()  # type: ignore[attr-defined]
        value = info.get(key)
    except Exception:  # missing/odd Info dictionaries are simply "no value"
        return None
    if value is None:
        return None
    text = str(value.get_object())
    return text or None


def read_info_value(pdf: bytes, key: str) -> str | None:
    """One ``/Info`` value of a PDF, or None if it is absent or the file is unreadable."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    with _quiet_libraries():
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        except Exception:  # any parse failure means "not one of ours"
            return None
        return _info_value(reader, key)


def read_document_id(pdf: bytes) -> str | None:
    """The ``/ConsentDeskID`` of a PDF, or None if it is absent or the file is unreadable."""
    return read_info_value(pdf, INFO_DOCUMENT_ID)


def _signing_cert_damaged(sig: object, anchors: list[object]) -> bool:
    """True if the embedded signing certificate names one of ``anchors`` as its issuer (same
    key identifier) but that issuer's signature on it does not verify: a changed certificate,
    told apart from a lookalike, which names an issuer key the vault does not have."""
    try:
        leaf = x509.load_der_x509_certificate(sig.signer_cert.dump())  # type: ignore[attr-defined]
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except Exception:  # no readable certificate at all is "damaged" too
        return True
    for anchor in anchors:
        issuer = x509.load_der_x509_certificate(anchor.dump())  # type: ignore[attr-defined]
        try:
            ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            continue
        if ski.digest != aki.key_identifier:
            continue
        try:
            leaf.verify_directly_issued_by(issuer)
        except Exception:
            return True
    return False


def _issuer_name(cert: object) -> str | None:
    try:
        issuer = cert.issuer.native  # type: ignore[attr-defined]
    except Exception:
        return None
    parts = [issuer.get("common_name"), issuer.get("organization_name")]
    return ", ".join(str(p) for p in parts if p) or None


def _signer_name(cert: object) -> str | None:
    try:
        subject = cert.subject.native  # type: ignore[attr-defined]
    except Exception:
        return None
    parts = [subject.get("common_name"), subject.get("organization_name")]
    return ", ".join(str(p) for p in parts if p) or None


def verify_pdf(pdf: bytes, trusted_cert_pem: bytes) -> VerificationResult:
    """Check a PDF's ConsentDesk signature against the trusted certificates given (PEM, one or
    more: the organisation root and any legacy workstation certificate).

    Never raises for a bad file and prints nothing: a damaged or foreign PDF is a *result*
    (``valid=False`` with a reason in ``problems``), because the CLI must report it, not crash
    on it or drown it in library warnings.
    """
    with _quiet_libraries():
        try:
            return _verify(pdf, trusted_cert_pem)
        except Exception:  # the last line of defence: any surprise is "could not be checked"
            return VerificationResult(
                valid=False,
                intact=False,
                trusted=False,
                covers_whole_document=False,
                signer=None,
                signed_at=None,
                sha256=hashlib.sha256(pdf).hexdigest(),
                document_id=None,
                problems=("the file could not be checked; it is damaged or not a PDF",),
            )


def _verify(pdf: bytes, trusted_cert_pem: bytes) -> VerificationResult:
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    digest = hashlib.sha256(pdf).hexdigest()

    def failed(problem: str, **known: object) -> VerificationResult:
        base: dict[str, object] = {
            "valid": False,
            "intact": False,
            "trusted": False,
            "covers_whole_document": False,
            "signer": None,
            "signed_at": None,
            "sha256": digest,
            "document_id": None,
        }
        base.update(known)
        return VerificationResult(problems=(problem,), **base)  # type: ignore[arg-type]

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception:  # unreadable is a verdict, not an error
        return failed("the file is not a readable PDF or its structure was damaged")

    doc_id = _info_value(reader, INFO_DOCUMENT_ID)
    kind = _info_value(reader, INFO_DOCUMENT_KIND)
    content = _info_value(reader, INFO_CONTENT_SHA256)
    known: dict[str, object] = {
        "document_id": doc_id,
        "document_kind": kind,
        "content_sha256": content,
    }
    if not signatures:
        return failed("the PDF carries no digital signature", **known)

    trusted_certs = list(load_certs_from_pemder_data(trusted_cert_pem))
    context = ValidationContext(trust_roots=trusted_certs, allow_fetching=False)
    usage = KeyUsageConstraints(key_usage={"non_repudiation"})
    sig = signatures[-1]
    try:
        status = validate_pdf_signature(sig, context, key_usage_settings=usage)
    except Exception:  # a mangled signature blob is a failed check
        if _signing_cert_damaged(sig, trusted_certs):
            return failed("the signing certificate was changed or is damaged", **known)
        return failed("the signature could not be checked; the file was damaged", **known)

    problems: list[str] = []
    intact = bool(status.intact and status.valid)
    trusted = bool(intact and status.trusted)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not intact:
        problems.append("the signed content was changed after signing")
    elif not trusted:
        problems.append("the signing certificate was not issued by this organisation's root")
    if not whole:
        problems.append("data was added to the file after it was signed")
    if len(signatures) > 1:
        problems.append("the file carries more than one signature")
    signed_at = status.signer_reported_dt
    timestamp_at = None
    ts_status = getattr(status, "timestamp_validity", None)
    if ts_status is not None:
        if ts_status.intact and ts_status.valid:
            timestamp_at = ts_status.timestamp
        else:
            problems.append("the signature's timestamp token is damaged")
    return VerificationResult(
        valid=intact and trusted and whole and len(signatures) == 1,
        intact=intact,
        trusted=trusted,
        covers_whole_document=whole,
        signer=_signer_name(status.signing_cert),
        signed_at=signed_at,
        sha256=digest,
        document_id=doc_id,
        document_kind=kind,
        content_sha256=content,
        problems=tuple(problems),
        issuer=_issuer_name(status.signing_cert),
        timestamp_at=timestamp_at,
    )
