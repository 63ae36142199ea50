"""The reference device's local store: one AES-256-GCM file under a key derived from device.key.

Why one sealed file rewritten atomically: a door holds at most its purpose's templates (51 MB at
100k), imports are rare, and a file that is either the old or the new state can never hold a
revoked template next to a record saying it was revoked. The key is derived (HKDF) from the
device's private key, so the store is unreadable without ``device.key`` and nothing about it is
kept anywhere else.

    gate.store = STORE_MAGIC || nonce(12) || AES-GCM(key, nonce, u32be(len(json)) || json
                 || templates, aad = STORE_MAGIC)
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import VaultCorrupt
from app.paths import write_private

STORE_MAGIC = b"CDGATE01"
STORE_INFO = b"consentdesk-gate-store-v1"
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Entry:
    ref: str
    person_id: str
    consent_id: str
    expires_at: str | None


@dataclass(frozen=True)
class GateState:
    """Everything a door remembers. ``templates`` row i belongs to ``entries[i]``."""

    org_key: str | None = None
    bundle_seq: int = 0
    revocation_seq: int = 0
    revocations_through: int = 0
    match_threshold: float = 0.6
    entries: tuple[Entry, ...] = ()
    revoked: frozenset[str] = frozenset()
    templates: F32 = field(default_factory=lambda: np.zeros((0, 128), np.float32))


def store_key(device_key: X25519PrivateKey) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=STORE_INFO).derive(
        device_key.private_bytes_raw()
    )


class GateStore:
    def __init__(self, path: Path, device_key: X25519PrivateKey) -> None:
        self.path = path
        self._aead = AESGCM(store_key(device_key))

    def load(self) -> GateState:
        if not self.path.exists():
            return GateState()
        data = self.path.read_bytes()
        try:
            if not data.startswith(STORE_MAGIC):
                raise ValueError("magic")
            nonce = data[len(STORE_MAGIC) : len(STORE_MAGIC) + 12]
            plain = self._aead.decrypt(nonce, data[len(STORE_MAGIC) + 12 :], STORE_MAGIC)
            (length,) = struct.unpack(">I", plain[:4])
            meta: dict[str, Any] = json.loads(plain[4 : 4 + length])
            blob = plain[4 + length :]
            columns = meta.pop("entries")
            entries = tuple(
                Entry(*row)
                for row in zip(
                    columns["ref"],
                    columns["person_id"],
                    columns["consent_id"],
                    columns["expires_at"],
                    strict=True,
                )
            )
            revoked = frozenset(meta.pop("revoked"))
            mat = np.frombuffer(blob, dtype="<f4").astype(np.float32).reshape(-1, 128)
            if mat.shape[0] != len(entries):
                raise ValueError("count")
            return GateState(entries=entries, revoked=revoked, templates=mat, **meta)
        except (InvalidTag, ValueError, TypeError, KeyError, struct.error):
            raise VaultCorrupt(
                "The device store cannot be read with this device key: it is damaged or belongs "
                "to another key. Remove gate.store and import a full bundle."
            ) from None

    def save(self, state: GateState) -> None:
        meta = {
            "org_key": state.org_key,
            "bundle_seq": state.bundle_seq,
            "revocation_seq": state.revocation_seq,
            "revocations_through": state.revocations_through,
            "match_threshold": state.match_threshold,
            # Columns, not one object per entry: 100k dataclasses through asdict() took seconds.
            "entries": {
                "ref": [e.ref for e in state.entries],
                "person_id": [e.person_id for e in state.entries],
                "consent_id": [e.consent_id for e in state.entries],
                "expires_at": [e.expires_at for e in state.entries],
            },
            "revoked": sorted(state.revoked),
        }
        body = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
        plain = struct.pack(">I", len(body)) + body + state.templates.astype("<f4").tobytes()
        nonce = os.urandom(12)
        write_private(
            self.path, STORE_MAGIC + nonce + self._aead.encrypt(nonce, plain, STORE_MAGIC)
        )
