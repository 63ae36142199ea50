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
* Usernames are not stored: a slot is found by a salted hash of the account key (NFKC +
  casefold, ``app.names``). Slots written before that used the lower-cased name; they are still
  found and are re-tagged at their owner's next sign-in (``retag_legacy``).
* Every change is made under an exclusive lock on ``keyslots.lock`` after re-reading the file,
  so parallel processes (``user add`` in two terminals, a rekey) never lose each other's slots.
  ``key_check`` (an HMAC of the current data key) lets a process that still holds the key from
  before another process's rekey notice it instead of sealing a stale key into a new slot.
* Besides the data key a slot can carry further secrets *sealed* to its public key (an account's
  signing key, the administrators' authority secret: ``app.authority``), and a *pin*: a MAC of
  the vault's authority public key made with the slot's private key, so replacing that public
  key in this file is noticed at the next sign-in of every account it was not made by.

Roles live inside the encrypted database, not here: this file only answers "can this person
obtain the key". The file's format (slot fields, strict parsing, writing) is
``app.keyslot_file``; this module is the cryptography and the locking on top of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import KeyslotError, VaultError, WrongPassword
from app.filelock import FileLock
from app.keyslot_file import (
    DAMAGED,
    FORMAT,
    KDF_LIMITS,
    VERSION,
    KdfParams,
    Sealed,
    Slot,
    SlotKind,
    file_document,
    read_file,
)
from app.names import name_key, password_form
from app.paths import write_private

_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed


@dataclass(frozen=True)
class OpenedSlot:
    """What a correct password opens: the data key, and the slot's private key for unsealing."""

    slot: Slot
    data_key: bytes
    private_key: bytes
    legacy: bool  # found by the pre-normalisation lookup tag


def generate_recovery_code() -> str:
    """25 characters from a 32-symbol alphabet (125 bits), grouped in fives for reading aloud."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(25))
    return "-".join(chars[i : i + 5] for i in range(0, 25, 5))


def normalise_recovery_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def key_check(data_key: bytes) -> str:
    """Identifies the current data key without revealing it (HMAC with a fixed label)."""
    return hmac.new(data_key, b"consentdesk-keyslots-key-check", hashlib.sha256).hexdigest()[:32]


class Keyslots:
    """Reads and writes one keyslot file. Every change is written atomically, under the file
    lock, on top of what the file holds at that moment, before returning."""

    def __init__(
        self,
        path: Path,
        vault_id: str,
        slots: list[Slot],
        kdf: KdfParams,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.vault_id = vault_id
        self._slots = slots
        self.kdf = kdf
        # Top-level fields besides the slots: key_check, authority, login_state ...
        self.extra: dict[str, Any] = dict(extra or {})

    # ----------------------------------------------------------------- file handling
    @classmethod
    def create(cls, path: Path, kdf: KdfParams | None = None) -> Keyslots:
        return cls(path, secrets.token_hex(16), [], kdf or KdfParams(), {"login_state": True})

    @classmethod
    def load(cls, path: Path, kdf: KdfParams | None = None) -> Keyslots:
        """Parse the file; any damage is a :class:`KeyslotError`, never a fallback."""
        vault_id, slots, extra = read_file(path)
        return cls(path, vault_id, slots, kdf or KdfParams(), extra)

    def save(self) -> None:
        write_private(
            self.path,
            json.dumps(file_document(self.vault_id, self.extra, self._slots), indent=1).encode(
                "utf-8"
            ),
        )

    def file_lock(self) -> FileLock:
        return FileLock(self.path.with_name("keyslots.lock"))

    @contextmanager
    def changing(self, data_key: bytes | None = None) -> Iterator[None]:
        """Hold the lock, re-read the file, let the caller change the slots, write it back.

        With ``data_key``: refuse when the file says the vault was re-keyed since this process
        got its key (sealing the old key into a slot would make that slot useless)."""
        with self.file_lock():
            if self.path.exists():
                vault_id, slots, extra = read_file(self.path)
                if vault_id != self.vault_id:
                    raise KeyslotError(
                        "keyslots.json now belongs to another vault; nothing was changed.",
                        code="keyslots_replaced",
                    )
                self._slots, self.extra = slots, extra
            if data_key is not None:
                mine = key_check(data_key)
                current = self.extra.get("key_check")
                if current is not None and not hmac.compare_digest(str(current), mine):
                    raise VaultError(
                        "The vault was re-keyed by another session; sign in again. "
                        "Nothing was changed.",
                        code="rekeyed_elsewhere",
                    )
                self.extra["key_check"] = mine
            yield
            self.save()

    # ----------------------------------------------------------------- crypto helpers
    def lookup_tag(self, kind: SlotKind, name: str) -> str:
        """Salted hash of the account key, so the file does not list who works here."""
        if kind == "recovery":
            return self.legacy_tag(kind, name)
        material = f"{self.vault_id}\x00{kind}\x00nfkc-casefold\x00{name_key(name)}".encode()
        return hashlib.sha256(material).hexdigest()[:32]

    def legacy_tag(self, kind: SlotKind, name: str) -> str:
        """The tag slots were found by before names were normalised (``lower()`` only)."""
        material = f"{self.vault_id}\x00{kind}\x00{name.strip().lower()}".encode()
        return hashlib.sha256(material).hexdigest()[:32]

    def _aad(self, slot_id: str, kind: str, lookup: str, part: str) -> bytes:
        return f"{FORMAT}|{self.vault_id}|{slot_id}|{kind}|{lookup}|{part}".encode()

    @staticmethod
    def _derive(secret: str, salt: bytes, kdf: KdfParams) -> bytes:
        try:
            return hash_secret_raw(
                secret.encode("utf-8", "surrogatepass"),
                salt,
                time_cost=kdf.time_cost,
                memory_cost=kdf.memory_cost,
                parallelism=kdf.parallelism,
                hash_len=32,
                type=Type.ID,
            )
        except (HashingError, MemoryError, ValueError, OverflowError):
            raise KeyslotError(DAMAGED) from None

    @staticmethod
    def _kek(shared: bytes, eph_pub: bytes, pk: bytes, info: bytes = b"consentdesk-slot") -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + pk, info=info).derive(
            shared
        )

    def seal_to(self, slot: Slot, part: str, secret: bytes, info: bytes) -> Sealed:
        """Encrypt ``secret`` to the slot's public key: no password needed, only it opens it."""
        eph = X25519PrivateKey.generate()
        shared = eph.exchange(X25519PublicKey.from_public_bytes(slot.public_key))
        eph_pub = eph.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        nonce = secrets.token_bytes(12)
        wrapped = AESGCM(self._kek(shared, eph_pub, slot.public_key, info)).encrypt(
            nonce, secret, self._aad(slot.id, slot.kind, slot.lookup, part)
        )
        return Sealed(eph_pub, nonce, wrapped)

    def _seal(self, slot: Slot, data_key: bytes) -> Slot:
        s = self.seal_to(slot, "data-key", data_key, b"consentdesk-slot")
        return replace(
            slot, ephemeral_public=s.ephemeral_public, key_nonce=s.nonce, key_wrapped=s.wrapped
        )

    def _new_slot(
        self, kind: SlotKind, lookup: str, secret: str, data_key: bytes, sk: X25519PrivateKey
    ) -> Slot:
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
        wrapped_sk = AESGCM(self._derive(password_form(secret), salt, self.kdf)).encrypt(
            nonce, sk_raw, self._aad(slot_id, kind, lookup, "private-key")
        )
        slot = Slot(slot_id, kind, lookup, self.kdf, salt, pk_raw, nonce, wrapped_sk, b"", b"", b"")
        return self._seal(slot, data_key)

    def _open_sk(self, slot: Slot, secret: str) -> bytes | None:
        """The slot's private key, or None for a wrong secret. A password typed in another
        Unicode form than it was set in (slots from before NFC) is tried as typed as well."""
        forms = [password_form(secret)]
        if secret != forms[0]:
            forms.append(secret)
        for form in forms:
            try:
                return AESGCM(self._derive(form, slot.salt, slot.kdf)).decrypt(
                    slot.sk_nonce,
                    slot.sk_wrapped,
                    self._aad(slot.id, slot.kind, slot.lookup, "private-key"),
                )
            except InvalidTag:
                continue
        return None

    def unseal(self, slot: Slot, private_key: bytes, part: str, info: bytes) -> bytes:
        sealed = (
            Sealed(slot.ephemeral_public, slot.key_nonce, slot.key_wrapped)
            if part == "data-key"
            else slot.sealed.get(part)
        )
        if sealed is None:
            raise KeyError(part)
        try:
            sk = X25519PrivateKey.from_private_bytes(private_key)
            shared = sk.exchange(X25519PublicKey.from_public_bytes(sealed.ephemeral_public))
            kek = self._kek(shared, sealed.ephemeral_public, slot.public_key, info)
            return AESGCM(kek).decrypt(
                sealed.nonce, sealed.wrapped, self._aad(slot.id, slot.kind, slot.lookup, part)
            )
        except (InvalidTag, ValueError):
            # The password was right but the sealed secret is damaged: that is file damage.
            raise KeyslotError(DAMAGED) from None

    def _open(self, slot: Slot, secret: str, legacy: bool = False) -> OpenedSlot | None:
        sk_raw = self._open_sk(slot, secret)
        if sk_raw is None:
            return None
        key = self.unseal(slot, sk_raw, "data-key", b"consentdesk-slot")
        return OpenedSlot(slot, key, sk_raw, legacy)

    # ----------------------------------------------------------------- public API
    def _user_slots(self, username: str) -> list[tuple[Slot, bool]]:
        """The slots that may be ``username``'s: by its normalised tag, then by the legacy one
        (in a vault from before normalisation two accounts can share the first)."""
        tag = self.lookup_tag("user", username)
        legacy = self.legacy_tag("user", username)
        found = [(s, False) for s in self._slots if s.kind == "user" and s.lookup == tag]
        found += [(s, True) for s in self._slots if s.kind == "user" and s.lookup == legacy]
        return found

    def has_user(self, username: str) -> bool:
        return bool(self._user_slots(username))

    def user_count(self) -> int:
        return sum(1 for s in self._slots if s.kind == "user")

    def slots(self) -> tuple[Slot, ...]:
        return tuple(self._slots)

    def _without_user(self, username: str, shared: bool = False) -> list[Slot]:
        """All slots but ``username``'s. ``shared``: another account has the same normalised
        name (a vault from before issue 11), so only the legacy-tagged slot is its own."""
        tags = {self.legacy_tag("user", username)}
        if not shared:
            tags.add(self.lookup_tag("user", username))
        return [s for s in self._slots if not (s.kind == "user" and s.lookup in tags)]

    def set_user(
        self,
        username: str,
        password: str,
        data_key: bytes,
        *,
        sealed: Mapping[str, tuple[bytes, bytes]] | None = None,
        pin_to: bytes | None = None,
        shared: bool = False,
    ) -> Slot:
        """Add a user's slot, or replace it (password change); saved before returning.

        ``sealed``: further secrets for this slot (part name -> (HKDF info, secret));
        ``pin_to``: the authority public key this slot vouches for; ``shared``: see
        :meth:`_without_user` (the slot then keeps the legacy tag)."""
        with self.changing(data_key):
            slot = self._build(username, password, data_key, sealed or {}, pin_to, shared)
            self._slots = self._without_user(username, shared)
            self._slots.append(slot)
        return slot

    def _build(
        self,
        username: str,
        password: str,
        data_key: bytes,
        sealed: Mapping[str, tuple[bytes, bytes]],
        pin_to: bytes | None,
        shared: bool = False,
    ) -> Slot:
        sk = X25519PrivateKey.generate()
        tag = self.legacy_tag("user", username) if shared else self.lookup_tag("user", username)
        slot = self._new_slot("user", tag, password, data_key, sk)
        sk_raw = sk.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        slot = replace(
            slot,
            sealed={
                part: self.seal_to(slot, part, secret, info)
                for part, (info, secret) in sealed.items()
            },
        )
        if pin_to is not None:
            slot = replace(slot, pin=self.pin_tag(slot, sk_raw, pin_to))
        return slot

    def remove_user(self, username: str, shared: bool = False) -> bool:
        with self.changing():
            before = len(self._slots)
            self._slots = self._without_user(username, shared)
            return len(self._slots) != before

    def set_recovery(
        self,
        code: str,
        data_key: bytes,
        *,
        sealed: Mapping[str, tuple[bytes, bytes]] | None = None,
        pin_to: bytes | None = None,
    ) -> Slot:
        with self.changing(data_key):
            tag = self.lookup_tag("recovery", "recovery")
            sk = X25519PrivateKey.generate()
            slot = self._new_slot("recovery", tag, normalise_recovery_code(code), data_key, sk)
            sk_raw = sk.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            slot = replace(
                slot,
                sealed={
                    part: self.seal_to(slot, part, secret, info)
                    for part, (info, secret) in (sealed or {}).items()
                },
            )
            if pin_to is not None:
                slot = replace(slot, pin=self.pin_tag(slot, sk_raw, pin_to))
            self._slots = [s for s in self._slots if s.kind != "recovery"]
            self._slots.append(slot)
        return slot

    def replace_slot(self, slot: Slot) -> None:
        """Store a changed slot (same id), e.g. one with a secret sealed to it."""
        with self.changing():
            self._slots = [slot if s.id == slot.id else s for s in self._slots]

    def update_slot(self, slot_id: str, change: Callable[[Slot], Slot]) -> None:
        """Apply ``change`` to the slot as the file holds it now (under the lock)."""
        with self.changing():
            self._slots = [change(s) if s.id == slot_id else s for s in self._slots]

    def open_user(self, username: str, password: str) -> OpenedSlot:
        candidates = self._user_slots(username)
        for slot, legacy in candidates:
            opened = self._open(slot, password, legacy)
            if opened is not None:
                return opened
        if not candidates:
            # Spend the same Argon2 time for an unknown user, so timing does not reveal accounts.
            self._derive(password_form(password), b"\x00" * 16, self.kdf)
        raise WrongPassword("Wrong user name or password.")

    def unlock_user(self, username: str, password: str) -> bytes:
        return self.open_user(username, password).data_key

    def open_recovery(self, code: str) -> OpenedSlot:
        for slot in self._slots:
            if slot.kind == "recovery":
                opened = self._open(slot, normalise_recovery_code(code))
                if opened is not None:
                    return opened
        raise WrongPassword("That recovery code is not correct.")

    def unlock_recovery(self, code: str) -> bytes:
        return self.open_recovery(code).data_key

    def retag_legacy(self, username: str, password: str) -> bool:
        """Move a slot found by its pre-normalisation tag to the normalised one (same keys, same
        sealed secrets). Refused, and left as it is, when another slot already has that tag."""
        with self.changing():
            new_tag = self.lookup_tag("user", username)
            if any(s.kind == "user" and s.lookup == new_tag for s in self._slots):
                return False
            legacy = self.legacy_tag("user", username)
            old = next((s for s in self._slots if s.kind == "user" and s.lookup == legacy), None)
            if old is None:
                return False
            sk_raw = self._open_sk(old, password)
            if sk_raw is None:
                return False
            data_key = self.unseal(old, sk_raw, "data-key", b"consentdesk-slot")
            secrets_ = {part: self.unseal(old, sk_raw, part, info_for(part)) for part in old.sealed}
            nonce = secrets.token_bytes(12)
            wrapped_sk = AESGCM(self._derive(password_form(password), old.salt, old.kdf)).encrypt(
                nonce, sk_raw, self._aad(old.id, "user", new_tag, "private-key")
            )
            moved = replace(old, lookup=new_tag, sk_nonce=nonce, sk_wrapped=wrapped_sk)
            moved = self._seal(moved, data_key)
            moved = replace(
                moved,
                sealed={
                    part: self.seal_to(moved, part, value, info_for(part))
                    for part, value in secrets_.items()
                },
            )
            self._slots = [moved if s.id == old.id else s for s in self._slots]
            return True

    def pin_tag(self, slot: Slot, private_key: bytes, authority_public: bytes) -> bytes:
        """MAC of the authority public key under a key only this slot's password yields."""
        mac_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=slot.public_key, info=b"consentdesk-pin"
        ).derive(private_key)
        material = f"{self.vault_id}|{slot.id}|".encode() + authority_public
        return hmac.new(mac_key, material, hashlib.sha256).digest()

    def reseal_all(self, new_data_key: bytes) -> None:
        """Seal a fresh data key to every slot (used by rekey); no passwords needed. The caller
        holds :meth:`file_lock` for the whole rekey."""
        with self.file_lock():
            self._slots = [self._seal(s, new_data_key) for s in self._slots]
            self.extra["key_check"] = key_check(new_data_key)
            self.save()


def info_for(part: str) -> bytes:
    """The HKDF label of a secret sealed to a slot besides the data key (see app.authority)."""
    return f"consentdesk-{part}".encode()


__all__ = [
    "FORMAT",
    "KDF_LIMITS",
    "VERSION",
    "KdfParams",
    "Keyslots",
    "OpenedSlot",
    "Sealed",
    "Slot",
    "SlotKind",
    "generate_recovery_code",
    "info_for",
    "key_check",
    "normalise_recovery_code",
]
