"""docs/handoff.md is a specification door vendors implement: its test vectors must be exactly
what the desk writes, and following the documented steps with bare primitives (not our module)
must open the documented files."""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.devices.format import HandoffRefused, open_sealed, pack_payload, seal, unpack_payload

DOC = Path(__file__).resolve().parents[2] / "docs" / "handoff.md"

ORG = Ed25519PrivateKey.from_private_bytes(bytes(range(0x00, 0x20)))
DEVICE = X25519PrivateKey.from_private_bytes(bytes(range(0x20, 0x40)))
EPHEMERAL = X25519PrivateKey.from_private_bytes(bytes(range(0x40, 0x60)))
NONCE = bytes(range(0x60, 0x6C))
TEMPLATE = struct.pack("<128f", *[(i - 64) / 512 for i in range(128)])


def build_vectors() -> dict[str, bytes]:
    device_pub = DEVICE.public_key().public_bytes_raw()
    common: dict[str, Any] = {
        "device_id": "DVECTOR0001",
        "device_public": device_pub,
        "org_key": ORG,
        "ephemeral": EPHEMERAL,
        "nonce": NONCE,
        "issued_at": "2026-12-01T12:00:00+00:00",
    }
    bundle = seal(
        kind="bundle",
        seq=1,
        full=True,
        base_seq=0,
        revocations_through=0,
        payload=pack_payload(
            {
                "entries": [
                    {
                        "ref": "T000000000000000000000001",
                        "person_id": "P0123456789abcdef01234567",
                        "consent_id": "CVECTOR001",
                        "expires_at": "2027-12-01T12:00:00+00:00",
                    }
                ],
                "match_threshold": 0.6,
            },
            TEMPLATE,
        ),
        **common,
    )
    revocations = seal(
        kind="revocations",
        seq=1,
        full=True,
        base_seq=0,
        revocations_through=7,
        payload=pack_payload(
            {
                "entries": [
                    {
                        "n": 7,
                        "ref": "T000000000000000000000001",
                        "person_id": "P0123456789abcdef01234567",
                        "consent_id": "CVECTOR001",
                        "revoked_at": "2026-12-02T08:00:00+00:00",
                    }
                ]
            }
        ),
        **common,
    )
    return {"bundle": bundle, "revocations": revocations}


def documented() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```vectors\n(.*?)```", text, re.S)
    assert block, "docs/handoff.md has no ```vectors block"
    values: dict[str, str] = {}
    for line in block.group(1).splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            values[key.strip()] = values.get(key.strip(), "") + value.strip()
        elif line.strip():
            values[list(values)[-1]] += line.strip()  # continuation of a long hex value
    return values


def test_documented_vectors_are_what_the_desk_writes() -> None:
    doc, built = documented(), build_vectors()
    assert doc["device_public"] == DEVICE.public_key().public_bytes_raw().hex()
    assert doc["org_public"] == ORG.public_key().public_bytes_raw().hex()
    assert doc["bundle_sha256"] == hashlib.sha256(built["bundle"]).hexdigest()
    assert int(doc["bundle_bytes"]) == len(built["bundle"])
    assert doc["revocations_file"] == built["revocations"].hex()


def test_the_documented_steps_open_the_files_with_bare_primitives() -> None:
    doc, built = documented(), build_vectors()
    data = bytes.fromhex(doc["revocations_file"])
    assert data[:8] == b"CDHAND01"
    (n,) = struct.unpack(">I", data[8:12])
    header = data[12 : 12 + n]
    assert header.decode("ascii") == doc["revocations_header"]
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(doc["org_public"])).verify(
        data[-64:], data[:-64]
    )
    epk = EPHEMERAL.public_key().public_bytes_raw()
    device_pub = bytes.fromhex(doc["device_public"])
    key = HKDF(hashes.SHA256(), 32, salt=epk + device_pub, info=b"consentdesk-handoff-v1").derive(
        DEVICE.exchange(X25519PublicKey.from_public_bytes(epk))
    )
    assert key.hex() == doc["content_key"]
    plain = AESGCM(key).decrypt(NONCE, data[12 + n : -64], data[: 12 + n])
    assert plain.hex() == doc["revocations_payload"]
    # And our own reader agrees on both files.
    opened = open_sealed(built["bundle"], DEVICE, ORG.public_key().public_bytes_raw())
    meta, templates = unpack_payload(opened.payload)
    assert templates == TEMPLATE and meta["entries"][0]["consent_id"] == "CVECTOR001"


def test_a_file_readdressed_to_another_device_does_not_decrypt() -> None:
    """Even with a valid signature over a header naming E, D's ciphertext stays closed to E: the
    content key comes from D's key agreement."""
    import json

    other = X25519PrivateKey.from_private_bytes(bytes(range(0x80, 0xA0)))
    data = build_vectors()["bundle"]
    (n,) = struct.unpack(">I", data[8:12])
    header = json.loads(data[12 : 12 + n])
    header["device_key"] = hashlib.sha256(other.public_key().public_bytes_raw()).hexdigest()[:32]
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    prefix = b"CDHAND01" + struct.pack(">I", len(hb)) + hb
    ciphertext = data[12 + n : -64]
    forged = prefix + ciphertext + ORG.sign(prefix + ciphertext)
    with pytest.raises(HandoffRefused) as refused:
        open_sealed(forged, other, None)
    assert refused.value.code == "undecryptable"
    with pytest.raises(HandoffRefused) as signer:
        open_sealed(data, DEVICE, Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    assert signer.value.code == "wrong_signer"


if __name__ == "__main__":  # print the values to paste into docs/handoff.md
    built = build_vectors()
    data = built["revocations"]
    (n,) = struct.unpack(">I", data[8:12])
    opened = open_sealed(data, DEVICE, None)
    epk = EPHEMERAL.public_key().public_bytes_raw()
    dpub = DEVICE.public_key().public_bytes_raw()
    print("device_public:", dpub.hex())
    print("org_public:", ORG.public_key().public_bytes_raw().hex())
    print(
        "content_key:",
        HKDF(hashes.SHA256(), 32, salt=epk + dpub, info=b"consentdesk-handoff-v1")
        .derive(DEVICE.exchange(X25519PublicKey.from_public_bytes(epk)))
        .hex(),
    )
    print("bundle_bytes:", len(built["bundle"]))
    print("bundle_sha256:", hashlib.sha256(built["bundle"]).hexdigest())
    print("revocations_header:", data[12 : 12 + n].decode())
    print("revocations_payload:", opened.payload.hex())
    print("revocations_file:", data.hex())
