"""The organisation's certificate authority: one root per organisation, issuing workstation certs.

A self-signed workstation certificate proves nothing to someone outside the vault: a forger can
make another self-signed certificate with the same name, and every validator shows the same
"issuer unknown" for both. So each organisation gets a *root*: a CA key and certificate made at
``consentdesk init`` that signs the workstation's signing certificate. The root certificate is
public (``consentdesk certificate --out org-root.pem``, fingerprint printed on every document and
on the retention notice); anyone who imports it into ``pdfsig``'s NSS database, Adobe Reader or
pyHanko can tell a genuine document from a forgery without asking the vault.

Where the keys live, and why:

* The root private key is stored in the vault's ``meta`` table, i.e. inside the SQLCipher file
  that only an unlocked vault can read (the same seal as the data key's contents). It therefore
  travels with every rekey (the file is re-encrypted, rows are unchanged) and with every backup
  and restore (a restore brings back the same rows), so an organisation keeps one root for the
  life of its records.
* Only :func:`ensure_org_root` and :func:`issue_workstation_certificate` ever load the root key,
  and the desk calls them for an admin only (at ``init`` or an admin's first unlock of an older
  vault); signing a document uses the workstation key alone.
* A vault created before the root existed keeps its old self-signed certificate under
  :data:`META_LEGACY_CERT`; :func:`trust_anchors` trusts it next to the root so documents issued
  before the migration keep verifying. Its workstation key is kept and re-certified by the root,
  so nothing about a stored document changes.

Nothing in this module logs, and no exception carries key material.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.errors import InvalidInput

if TYPE_CHECKING:
    from app.pdfsign import PdfSigner

META_ROOT_KEY = "org_root_key"
META_ROOT_CERT = "org_root_cert"
META_SIGNING_KEY = "signing_key"
META_SIGNING_CERT = "signing_cert"
META_LEGACY_CERT = "signing_cert_legacy"
META_TSA_URL = "tsa_url"

_ROOT_YEARS = 30
_LEAF_YEARS = 20


@dataclass(frozen=True)
class OrgIdentity:
    """The four PEM blobs stored at ``init``: the root pair and the workstation pair."""

    root_key_pem: bytes
    root_cert_pem: bytes
    signing_key_pem: bytes
    signing_cert_pem: bytes


@dataclass(frozen=True)
class RootCertificate:
    """The public organisation root: PEM text and the SHA-256 (hex) of its DER encoding."""

    pem: bytes
    sha256: str


def _name(common: str, org_name: str) -> x509.Name:
    org = " ".join(org_name.split())[:64] or "ConsentDesk"
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Unencrypted PKCS#8: the vault file is the encryption (see the module docstring).
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _start(now: dt.datetime) -> dt.datetime:
    # Five minutes of slack so a validator whose clock is slightly behind still accepts it.
    return now.astimezone(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)


def create_org_root(org_name: str, *, now: dt.datetime) -> tuple[bytes, bytes]:
    """A new organisation root: ``(key_pem, cert_pem)``, EC P-384, valid 30 years.

    P-384 for the root (it outlives many workstation certificates); path length 0 because the
    root only ever issues end-entity workstation certificates.
    """
    key = ec.generate_private_key(ec.SECP384R1())
    name = _name("ConsentDesk organisation root", org_name)
    start = _start(now)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * _ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA384())
    )
    return _pem_key(key), cert.public_bytes(serialization.Encoding.PEM)


def issue_workstation_certificate(
    root_key_pem: bytes,
    root_cert_pem: bytes,
    org_name: str,
    *,
    now: dt.datetime,
    key_pem: bytes | None = None,
) -> tuple[bytes, bytes]:
    """A workstation signing certificate issued by the root: ``(key_pem, cert_pem)``.

    ``key_pem`` re-certifies an existing workstation key (migration of an older vault) instead
    of making a new one. The validity never exceeds the root's, and the certificate carries the
    authority key identifier so validators find the root without guessing by name.
    """
    root_key = serialization.load_pem_private_key(root_key_pem, password=None)
    if not isinstance(root_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the organisation root key is not an EC key")
    root_cert = x509.load_pem_x509_certificate(root_cert_pem)
    if key_pem is None:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        loaded = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError("the workstation key is not an EC key")
        key = loaded
    public = key.public_key()
    start = max(_start(now), root_cert.not_valid_before_utc)
    end = min(start + dt.timedelta(days=365 * _LEAF_YEARS), root_cert.not_valid_after_utc)
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ConsentDesk workstation", org_name))
        .issuer_name(root_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
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
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA384())
    )
    return _pem_key(key), cert.public_bytes(serialization.Encoding.PEM)


def create_org_identity(org_name: str, *, now: dt.datetime) -> OrgIdentity:
    """Everything ``init`` stores: a new root and the first workstation certificate it issues."""
    root_key, root_cert = create_org_root(org_name, now=now)
    key, cert = issue_workstation_certificate(root_key, root_cert, org_name, now=now)
    return OrgIdentity(root_key, root_cert, key, cert)


def root_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the root certificate's DER, lower-case hex: what ``sha256sum`` prints for the
    DER file and what certutil/openssl show (with colons) for the certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def grouped(fingerprint: str) -> str:
    """The fingerprint in groups of four for print: easier to read aloud and compare by eye."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


# ---------------------------------------------------------------- vault meta plumbing
# These take a DB-API connection (the unlocked vault's) so the desk stays a thin caller.


def _get(conn: Any, key: str) -> bytes | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return bytes(row[0]) if row else None


def _put(conn: Any, key: str, value: bytes) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def store_org_identity(conn: Any, identity: OrgIdentity) -> None:
    """Write a fresh identity into ``meta`` (inside the caller's transaction)."""
    _put(conn, META_ROOT_KEY, identity.root_key_pem)
    _put(conn, META_ROOT_CERT, identity.root_cert_pem)
    _put(conn, META_SIGNING_KEY, identity.signing_key_pem)
    _put(conn, META_SIGNING_CERT, identity.signing_cert_pem)


def ensure_org_root(conn: Any, org_name: str, *, now: dt.datetime) -> bool:
    """Give a vault created before the organisation root one; True if anything changed.

    Keeps the workstation key (so a half-finished upgrade never strands a key) and re-certifies
    it under the new root; the old self-signed certificate moves to :data:`META_LEGACY_CERT`
    and stays a trust anchor, so every document signed before still verifies. Must run inside
    the caller's write transaction, for an admin.
    """
    if _get(conn, META_ROOT_CERT) is not None and _get(conn, META_ROOT_KEY) is not None:
        return False
    root_key, root_cert = create_org_root(org_name, now=now)
    old_key, old_cert = _get(conn, META_SIGNING_KEY), _get(conn, META_SIGNING_CERT)
    key, cert = issue_workstation_certificate(
        root_key, root_cert, org_name, now=now, key_pem=old_key
    )
    if old_cert is not None:
        _put(conn, META_LEGACY_CERT, old_cert)
    store_org_identity(conn, OrgIdentity(root_key, root_cert, key, cert))
    return True


def root_certificate(conn: Any) -> bytes | None:
    """The public root certificate (PEM), or None for a vault not yet migrated."""
    return _get(conn, META_ROOT_CERT)


def trust_anchors(conn: Any) -> bytes:
    """PEM certificates a document from this vault may chain to: the root, plus the legacy
    self-signed workstation certificate of a migrated vault (or, before migration, the current
    self-signed one)."""
    parts = [_get(conn, META_ROOT_CERT), _get(conn, META_LEGACY_CERT)]
    if parts[0] is None:
        parts.append(_get(conn, META_SIGNING_CERT))
    return b"".join(p if p.endswith(b"\n") else p + b"\n" for p in parts if p)


def timestamp_url(conn: Any) -> str | None:
    """The organisation's RFC 3161 time-stamping authority, if one is configured."""
    raw = _get(conn, META_TSA_URL)
    text = raw.decode("utf-8", "replace").strip() if raw else ""
    return text or None


def set_timestamp_url(conn: Any, url: str | None) -> None:
    """Configure (or with None/"" remove) the TSA URL; only http(s) URLs are accepted."""
    text = (url or "").strip()
    if text and not (text.startswith("https://") or text.startswith("http://")):
        raise InvalidInput("The time-stamping authority must be an http(s) URL.")
    if len(text) > 500:
        raise InvalidInput("The time-stamping authority URL is too long.")
    if text:
        _put(conn, META_TSA_URL, text.encode())
    else:
        conn.execute("DELETE FROM meta WHERE key = ?", (META_TSA_URL,))


def http_timestamper(url: str) -> object:
    """pyHanko's RFC 3161 client for the organisation's TSA (kept behind a function so the
    import, and any network use, happens only when a URL is configured)."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(url, timeout=20)


def make_signer(
    conn: Any, timestamper_for: Callable[[str], object] = http_timestamper
) -> PdfSigner | None:
    """The document signer for this vault: workstation key, its chain up to the root, and a
    timestamper when a TSA URL is configured (else None: B-B, and documents say so)."""
    from app.pdfsign import PdfSigner

    key, cert = _get(conn, META_SIGNING_KEY), _get(conn, META_SIGNING_CERT)
    if not key or not cert:
        return None
    url = timestamp_url(conn)
    return PdfSigner(
        key,
        cert,
        chain_pem=_get(conn, META_ROOT_CERT) or b"",
        timestamper=timestamper_for(url) if url else None,
    )
