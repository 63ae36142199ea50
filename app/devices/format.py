"""The handoff file format: one envelope for bundles and revocation lists (docs/handoff.md).

    file   = MAGIC || u32be(len(header)) || header || ciphertext || signature
    header = canonical JSON (sorted keys, no spaces, ASCII) of :class:`Header`
    key    = HKDF-SHA256(X25519(epk_private, device_public), salt = epk || device_public,
                         info = INFO, length 32)
    ciphertext = AES-256-GCM(key, nonce, payload, aad = MAGIC || u32be || header)
    signature  = Ed25519(organisation key, MAGIC || u32be || header || ciphertext)

Why this shape: a door checks the organisation's signature over everything *before* it spends a
decryption on it, and a single flipped bit anywhere fails that check. The header is readable
without the device key (which device, which sequence number) so a door can refuse a bundle for
another device or an old one with a clear reason; it is bound to the ciphertext both by the
signature and as AEAD associated data. Encrypting to an ephemeral X25519 key means a file that
leaks is readable only with that one device's private key. Everything a vendor needs is in
``cryptography``'s primitives or any libsodium/OpenSSL equivalent.

Payload (after decryption) = u32be(len(json)) || json || templates, where templates are
``len(entries)`` times 512 bytes (128 little-endian float32) in entry order for a bundle, and
nothing for a revocation list.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import ConsentDeskError, InvalidInput
from app.paths import write_private

MAGIC = b"CDHAND01"
INFO = b"consentdesk-handoff-v1"
FORMAT_VERSION = 1
TEMPLATE_BYTES = 512
SIGNATURE_BYTES = 64
MAX_HEADER = 64 * 1024
Kind = Literal["bundle", "revocations"]


class HandoffRefused(ConsentDeskError):
    """A bundle or revocation list that a device must not apply. The message says why and never
    contains personal data (there is none in a header)."""

    code = "handoff_refused"
    exit_code = 8


@dataclass(frozen=True)
class Header:
    """What a door can read before decrypting. ``seq`` counts bundles and revocation lists
    separately. A bundle's ``base_seq`` is the bundle a delta builds on (0 for a full bundle);
    ``revocations_through`` is the number of the newest revocation entry the desk had issued for
    the device: a door that has not imported a list that far refuses the bundle."""

    v: int
    kind: str
    device_id: str
    device_key: str
    seq: int
    issued_at: str
    full: bool
    base_seq: int
    revocations_through: int
    org_key: str
    epk: str
    nonce: str


@dataclass(frozen=True)
class Opened:
    header: Header
    payload: bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def key_fingerprint(public_raw: bytes) -> str:
    """How a header names its device: the first 128 bits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _hkdf(shared: bytes, epk: bytes, device_pk: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + device_pk, info=INFO).derive(
        shared
    )


def seal(
    *,
    kind: Kind,
    device_id: str,
    device_public: bytes,
    seq: int,
    issued_at: str,
    full: bool,
    base_seq: int,
    revocations_through: int,
    payload: bytes,
    org_key: Ed25519PrivateKey,
    ephemeral: X25519PrivateKey | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt ``payload`` to the device and sign the result. ``ephemeral`` and ``nonce`` are
    parameters only so docs/handoff.md can give byte-exact test vectors; production passes none."""
    import os

    eph = ephemeral or X25519PrivateKey.generate()
    iv = nonce if nonce is not None else os.urandom(12)
    epk = eph.public_key().public_bytes_raw()
    key = _hkdf(eph.exchange(X25519PublicKey.from_public_bytes(device_public)), epk, device_public)
    header = Header(
        v=FORMAT_VERSION,
        kind=kind,
        device_id=device_id,
        device_key=key_fingerprint(device_public),
        seq=seq,
        issued_at=issued_at,
        full=full,
        base_seq=base_seq,
        revocations_through=revocations_through,
        org_key=b64(org_key.public_key().public_bytes_raw()),
        epk=b64(epk),
        nonce=b64(iv),
    )
    hb = canonical_json(asdict(header))
    prefix = MAGIC + struct.pack(">I", len(hb)) + hb
    ciphertext = AESGCM(key).encrypt(iv, payload, prefix)
    return prefix + ciphertext + org_key.sign(prefix + ciphertext)


def read_header(data: bytes) -> tuple[Header, int]:
    """Parse the readable part; returns the header and where the ciphertext starts."""
    if len(data) < len(MAGIC) + 4 + SIGNATURE_BYTES or not data.startswith(MAGIC):
        raise HandoffRefused("This is not a ConsentDesk handoff file.", code="not_handoff")
    (length,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if length > MAX_HEADER or start + length + SIGNATURE_BYTES > len(data):
        raise HandoffRefused("The handoff file is damaged.", code="damaged")
    try:
        raw = json.loads(data[start : start + length])
        header = Header(**raw)
        typed = (
            isinstance(header.v, int)
            and isinstance(header.seq, int)
            and isinstance(header.base_seq, int)
            and isinstance(header.revocations_through, int)
            and isinstance(header.full, bool)
            and header.kind in ("bundle", "revocations")
            and all(
                isinstance(getattr(header, f), str)
                for f in ("device_id", "device_key", "issued_at", "org_key", "epk", "nonce")
            )
        )
    except (ValueError, TypeError):
        typed = False
    if not typed:
        raise HandoffRefused("The handoff file is damaged.", code="damaged")
    if header.v != FORMAT_VERSION:
        raise HandoffRefused("This handoff file has an unknown format version.", code="version")
    return header, start + length


def open_sealed(data: bytes, device_key: X25519PrivateKey, trusted_org_key: bytes | None) -> Opened:
    """Verify, check the addressee, decrypt — in that order. ``trusted_org_key`` is the raw
    Ed25519 public key the device was set up with; ``None`` accepts the header's key (first use)."""
    header, body = read_header(data)
    try:
        org_raw = unb64(header.org_key)
        org = Ed25519PublicKey.from_public_bytes(org_raw)
        epk = unb64(header.epk)
        nonce = unb64(header.nonce)
    except ValueError:
        raise HandoffRefused("The handoff file is damaged.", code="damaged") from None
    if trusted_org_key is not None and org_raw != trusted_org_key:
        raise HandoffRefused(
            "The handoff file is signed by another organisation key.", code="wrong_signer"
        )
    signed, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    try:
        org.verify(signature, signed)
    except InvalidSignature:
        raise HandoffRefused(
            "The signature does not verify: the file was changed or not made by the desk.",
            code="bad_signature",
        ) from None
    own = device_key.public_key().public_bytes_raw()
    if header.device_key != key_fingerprint(own):
        raise HandoffRefused("This handoff file is for another device.", code="other_device")
    try:
        key = _hkdf(device_key.exchange(X25519PublicKey.from_public_bytes(epk)), epk, own)
        payload = AESGCM(key).decrypt(nonce, data[body:-SIGNATURE_BYTES], data[:body])
    except (InvalidTag, ValueError):
        raise HandoffRefused(
            "The handoff file cannot be decrypted with this device's key.", code="undecryptable"
        ) from None
    return Opened(header, payload)


# ------------------------------------------------------------------------------------ payload
def pack_payload(meta: dict[str, Any], templates: bytes = b"") -> bytes:
    body = canonical_json(meta)
    return struct.pack(">I", len(body)) + body + templates


def unpack_payload(payload: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        (length,) = struct.unpack(">I", payload[:4])
        meta = json.loads(payload[4 : 4 + length])
    except (struct.error, ValueError):
        raise HandoffRefused("The handoff payload is damaged.", code="damaged") from None
    if not isinstance(meta, dict):
        raise HandoffRefused("The handoff payload is damaged.", code="damaged")
    return meta, payload[4 + length :]


# ------------------------------------------------------------------------------------ key files
def generate_device_keys(folder: Path) -> bytes:
    """Write ``device.key`` (PKCS#8 PEM, mode 0600) and ``device.pub`` (SubjectPublicKeyInfo
    PEM); returns the raw public key. Refuses to overwrite: a new key orphans the device."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path, pub_path = folder / "device.key", folder / "device.pub"
    if key_path.exists() or pub_path.exists():
        raise InvalidInput(f"{folder} already holds a device key; it was not replaced.")
    private = X25519PrivateKey.generate()
    write_private(
        key_path,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    public = private.public_key()
    pub_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public.public_bytes_raw()


def load_device_private(path: Path) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InvalidInput(f"No device key at {path}.") from None
    except ValueError:
        raise InvalidInput(f"{path} is not a device key.") from None
    if not isinstance(key, X25519PrivateKey):
        raise InvalidInput(f"{path} is not an X25519 device key.")
    return key


def parse_public_key(data: bytes) -> bytes:
    """Raw 32-byte X25519 public key from a PEM file or from base64 of the raw key."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError:
            raise InvalidInput("The public key file cannot be read.") from None
        if not isinstance(key, X25519PublicKey):
            raise InvalidInput("The public key is not an X25519 key.")
        return key.public_bytes_raw()
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise InvalidInput("The public key file cannot be read.") from None
    if len(raw) != 32:
        raise InvalidInput("The public key is not an X25519 key.")
    return raw
