"""The keyslot file: the database's data key, wrapped once per staff account and once for recovery.

Why this shape:

* The database is keyed with a random 256-bit *data key* (raw SQLCipher key, so opening it costs
  no PBKDF2). That key is never written in the clear.
* Each slot has its own X25519 key pair. The private half is encrypted (AES-256-GCM) under a key
  derived from the slot's password or recovery code with Argon2id; the data key is *sealed* to the
  public half (ephemeral X25519, HKDF-SHA256, AES-256-GCM). Unlocking needs the password.
* Because sealing needs only public keys, ``rekey`` can re-seal a fresh data key to every slot
  without knowing anyone's password, and a stolen old data key tells an attacker nothing about the
  slots' private keys.
* Every ciphertext is bound (AEAD associated data) to the vault ID, slot ID, kind and lookup tag,
  so slots cannot be swapped between vaults or accounts.
* Usernames are not stored: a slot is found by a salted hash of the lower-cased username.

Roles live inside the encrypted database, not here: this file only answers "can this person
obtain the key".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import KeyslotError, WrongPassword
from app.paths import write_private

FORMAT = "consentdesk-keyslots"
VERSION = 1
SlotKind = Literal["user", "recovery"]
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The defaults are argon2-cffi's (RFC 9106 low-memory profile)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


@dataclass(frozen=True)
class Slot:
    id: str
    kind: SlotKind
    lookup: str
    kdf: KdfParams
    salt: bytes
    public_key: bytes
    sk_nonce: bytes
    sk_wrapped: bytes
    ephemeral_public: bytes
    key_nonce: bytes
    key_wrapped: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def generate_recovery_code() -> str:
    """25 characters from a 32-symbol alphabet (125 bits), grouped in fives for reading aloud."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(25))
    return "-".join(chars[i : i + 5] for i in range(0, 25, 5))


def normalise_recovery_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


class Keyslots:
    """Reads and writes one keyslot file. Every change is written atomically before returning."""

    def __init__(self, path: Path, vault_id: str, slots: list[Slot], kdf: KdfParams) -> None:
        self.path = path
        self.vault_id = vault_id
        self._slots = slots
        self.kdf = kdf

    # ----------------------------------------------------------------- file handling
    @classmethod
    def create(cls, path: Path, kdf: KdfParams | None = None) -> Keyslots:
        return cls(path, secrets.token_hex(16), [], kdf or KdfParams())

    @classmethod
    def load(cls, path: Path, kdf: KdfParams | None = None) -> Keyslots:
        """Parse the file; any damage is a :class:`KeyslotError`, never a fallback."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyslotError(
                "The keyslot file is missing, so the vault cannot be unlocked. "
                "Restore keyslots.json from a backup."
            ) from None
        except OSError as exc:
            raise KeyslotError(f"The keyslot file cannot be read ({exc.strerror}).") from None
        try:
            doc = json.loads(raw)
            if doc.get("format") != FORMAT or doc.get("version") != VERSION:
                raise ValueError("unknown format")
            vault_id = str(doc["vault_id"])
            slots = [cls._parse_slot(s) for s in doc["slots"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyslotError(
                "The keyslot file is damaged, so the vault cannot be unlocked. "
                "Restore keyslots.json from a backup."
            ) from None
        return cls(path, vault_id, slots, kdf or KdfParams())

    @staticmethod
    def _parse_slot(s: dict[str, Any]) -> Slot:
        kdf = s["kdf"]
        if kdf.get("alg") != "argon2id":
            raise ValueError("unsupported kdf")
        kind = s["kind"]
        if kind not in ("user", "recovery"):
            raise ValueError("unknown slot kind")
        return Slot(
            id=str(s["id"]),
            kind=kind,
            lookup=str(s["lookup"]),
            kdf=KdfParams(int(kdf["t"]), int(kdf["m"]), int(kdf["p"])),
            salt=_unb64(kdf["salt"]),
            public_key=_unb64(s["public_key"]),
            sk_nonce=_unb64(s["sk_nonce"]),
            sk_wrapped=_unb64(s["sk_wrapped"]),
            ephemeral_public=_unb64(s["ephemeral_public"]),
            key_nonce=_unb64(s["key_nonce"]),
            key_wrapped=_unb64(s["key_wrapped"]),
        )

    def save(self) -> None:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "vault_id": self.vault_id,
            "slots": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "lookup": s.lookup,
                    "kdf": {
                        "alg": "argon2id",
                        "t": s.kdf.time_cost,
                        "m": s.kdf.memory_cost,
                        "p": s.kdf.parallelism,
                        "salt": _b64(s.salt),
                    },
                    "public_key": _b64(s.public_key),
                    "sk_nonce": _b64(s.sk_nonce),
                    "sk_wrapped": _b64(s.sk_wrapped),
                    "ephemeral_public": _b64(s.ephemeral_public),
                    "key_nonce": _b64(s.key_nonce),
                    "key_wrapped": _b64(s.key_wrapped),
                }
                for s in self._slots
            ],
        }
        write_private(self.path, json.dumps(doc, indent=1).encode("utf-8"))

    # ----------------------------------------------------------------- crypto helpers
    def lookup_tag(self, kind: SlotKind, name: str) -> str:
        """Salted hash of the account name, so the file does not list who works here."""
        material = f"{self.vault_id}\x00{kind}\x00{name.strip().lower()}".encode()
        return hashlib.sha256(material).hexdigest()[:32]

    def _aad(self, slot_id: str, kind: str, lookup: str, part: str) -> bytes:
        return f"{FORMAT}|{self.vault_id}|{slot_id}|{kind}|{lookup}|{part}".encode()

    @staticmethod
    def _derive(secret: str, salt: bytes, kdf: KdfParams) -> bytes:
        return hash_secret_raw(
            secret.encode("utf-8"),
            salt,
            time_cost=kdf.time_cost,
            memory_cost=kdf.memory_cost,
            parallelism=kdf.parallelism,
            hash_len=32,
            type=Type.ID,
        )

    @staticmethod
    def _seal_key(pk: bytes) -> tuple[bytes, X25519PrivateKey]:
        eph = X25519PrivateKey.generate()
        shared = eph.exchange(X25519PublicKey.from_public_bytes(pk))
        return shared, eph

    @staticmethod
    def _kek(shared: bytes, eph_pub: bytes, pk: bytes) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=eph_pub + pk, info=b"consentdesk-slot"
        ).derive(shared)

    def _seal(self, slot: Slot, data_key: bytes) -> Slot:
        shared, eph = self._seal_key(slot.public_key)
        eph_pub = eph.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        nonce = secrets.token_bytes(12)
        wrapped = AESGCM(self._kek(shared, eph_pub, slot.public_key)).encrypt(
            nonce, data_key, self._aad(slot.id, slot.kind, slot.lookup, "data-key")
        )
        return replace(slot, ephemeral_public=eph_pub, key_nonce=nonce, key_wrapped=wrapped)

    def _new_slot(self, kind: SlotKind, lookup: str, secret: str, data_key: bytes) -> Slot:
        sk = X25519PrivateKey.generate()
        sk_raw = sk.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        pk_raw = sk.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        slot_id = secrets.token_hex(8)
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        wrapped_sk = AESGCM(self._derive(secret, salt, self.kdf)).encrypt(
            nonce, sk_raw, self._aad(slot_id, kind, lookup, "private-key")
        )
        slot = Slot(slot_id, kind, lookup, self.kdf, salt, pk_raw, nonce, wrapped_sk, b"", b"", b"")
        return self._seal(slot, data_key)

    def _open(self, slot: Slot, secret: str) -> bytes | None:
        try:
            sk_raw = AESGCM(self._derive(secret, slot.salt, slot.kdf)).decrypt(
                slot.sk_nonce,
                slot.sk_wrapped,
                self._aad(slot.id, slot.kind, slot.lookup, "private-key"),
            )
        except InvalidTag:
            return None
        try:
            sk = X25519PrivateKey.from_private_bytes(sk_raw)
            shared = sk.exchange(X25519PublicKey.from_public_bytes(slot.ephemeral_public))
            kek = self._kek(shared, slot.ephemeral_public, slot.public_key)
            return AESGCM(kek).decrypt(
                slot.key_nonce,
                slot.key_wrapped,
                self._aad(slot.id, slot.kind, slot.lookup, "data-key"),
            )
        except (InvalidTag, ValueError):
            # The password was right but the sealed key is damaged: that is file damage.
            raise KeyslotError(
                "The keyslot file is damaged, so the vault cannot be unlocked. "
                "Restore keyslots.json from a backup."
            ) from None

    # ----------------------------------------------------------------- public API
    def has_user(self, username: str) -> bool:
        tag = self.lookup_tag("user", username)
        return any(s.kind == "user" and s.lookup == tag for s in self._slots)

    def user_count(self) -> int:
        return sum(1 for s in self._slots if s.kind == "user")

    def set_user(self, username: str, password: str, data_key: bytes) -> None:
        """Add a user's slot, or replace it (password change); saved before returning."""
        tag = self.lookup_tag("user", username)
        self._slots = [s for s in self._slots if not (s.kind == "user" and s.lookup == tag)]
        self._slots.append(self._new_slot("user", tag, password, data_key))
        self.save()

    def remove_user(self, username: str) -> bool:
        tag = self.lookup_tag("user", username)
        before = len(self._slots)
        self._slots = [s for s in self._slots if not (s.kind == "user" and s.lookup == tag)]
        if len(self._slots) != before:
            self.save()
            return True
        return False

    def set_recovery(self, code: str, data_key: bytes) -> None:
        tag = self.lookup_tag("recovery", "recovery")
        self._slots = [s for s in self._slots if s.kind != "recovery"]
        self._slots.append(self._new_slot("recovery", tag, normalise_recovery_code(code), data_key))
        self.save()

    def unlock_user(self, username: str, password: str) -> bytes:
        tag = self.lookup_tag("user", username)
        for slot in self._slots:
            if slot.kind == "user" and hmac.compare_digest(slot.lookup, tag):
                key = self._open(slot, password)
                if key is not None:
                    return key
                break
        else:
            # Spend the same Argon2 time for an unknown user, so timing does not reveal accounts.
            self._derive(password, b"\x00" * 16, self.kdf)
        raise WrongPassword("Wrong user name or password.")

    def unlock_recovery(self, code: str) -> bytes:
        for slot in self._slots:
            if slot.kind == "recovery":
                key = self._open(slot, normalise_recovery_code(code))
                if key is not None:
                    return key
        raise WrongPassword("That recovery code is not correct.")

    def reseal_all(self, new_data_key: bytes) -> None:
        """Seal a fresh data key to every slot (used by rekey); no passwords needed."""
        self._slots = [self._seal(s, new_data_key) for s in self._slots]
        self.save()
