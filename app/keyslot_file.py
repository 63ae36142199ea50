"""The keyslot file's format: what a slot holds, and reading and writing ``keyslots.json``.

Why a module apart from ``app.keyslots``: the file is read before anyone is signed in, from a
disk that may be damaged or tampered with, so its parser is the part a security review checks
line by line: every field is type-checked, base64 is strict, Argon2id costs must lie within
``KDF_LIMITS`` (a hostile file must neither crash the KDF nor make it allocate gigabytes), and
any damage is a :class:`KeyslotError`, never a fallback. ``app.keyslots`` does the cryptography
and the locking on top of it and re-exports these names.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.errors import KeyslotError
from app.filecheck import read_own_file

FORMAT = "consentdesk-keyslots"
VERSION = 1
SlotKind = Literal["user", "recovery"]
DAMAGED = (
    "The keyslot file is damaged, so the vault cannot be unlocked. "
    "Restore keyslots.json from a backup."
)
# Argon2id bounds a slot may ask for: a damaged or hostile file must neither crash the KDF nor
# make it allocate gigabytes (production uses t=3, m=64 MiB, p=4).
KDF_LIMITS = {"t": (1, 64), "m": (8, 1024 * 1024), "p": (1, 64)}


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The defaults are argon2-cffi's (RFC 9106 low-memory profile)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


@dataclass(frozen=True)
class Sealed:
    """A secret sealed to a slot's public key: readable only with that slot's password."""

    ephemeral_public: bytes
    nonce: bytes
    wrapped: bytes


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
    sealed: Mapping[str, Sealed] = field(default_factory=dict)
    pin: bytes = b""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _int(value: Any, name: str) -> int:
    low, high = KDF_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"kdf parameter {name} out of range")
    return value


def read_file(path: Path) -> tuple[str, list[Slot], dict[str, Any]]:
    try:
        raw = read_own_file(path)
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
        vault_id = doc["vault_id"]
        if not isinstance(vault_id, str) or not vault_id:
            raise ValueError("bad vault id")
        if not isinstance(doc["slots"], list):
            raise ValueError("bad slots")
        slots = [parse_slot(s) for s in doc["slots"]]
        extra = {
            k: v for k, v in doc.items() if k not in ("format", "version", "vault_id", "slots")
        }
        if "key_check" in extra and not isinstance(extra["key_check"], str):
            raise ValueError("bad key check")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise KeyslotError(DAMAGED) from None
    return vault_id, slots, extra


def parse_slot(s: dict[str, Any]) -> Slot:
    kdf = s["kdf"]
    if kdf.get("alg") != "argon2id":
        raise ValueError("unsupported kdf")
    kind = s["kind"]
    if kind not in ("user", "recovery"):
        raise ValueError("unknown slot kind")
    params = KdfParams(_int(kdf["t"], "t"), _int(kdf["m"], "m"), _int(kdf["p"], "p"))
    if params.memory_cost < 8 * params.parallelism:
        raise ValueError("kdf memory below 8 KiB per lane")
    salt = _unb64(kdf["salt"])
    if not 8 <= len(salt) <= 64:
        raise ValueError("bad salt")
    sealed_doc = s.get("sealed", {})
    if not isinstance(sealed_doc, dict):
        raise ValueError("bad sealed")
    sealed = {
        str(name): Sealed(_unb64(v["ephemeral_public"]), _unb64(v["nonce"]), _unb64(v["wrapped"]))
        for name, v in sealed_doc.items()
    }
    return Slot(
        id=str(s["id"]),
        kind=kind,
        lookup=str(s["lookup"]),
        kdf=params,
        salt=salt,
        public_key=_unb64(s["public_key"]),
        sk_nonce=_unb64(s["sk_nonce"]),
        sk_wrapped=_unb64(s["sk_wrapped"]),
        ephemeral_public=_unb64(s["ephemeral_public"]),
        key_nonce=_unb64(s["key_nonce"]),
        key_wrapped=_unb64(s["key_wrapped"]),
        sealed=sealed,
        pin=_unb64(s["pin"]) if "pin" in s else b"",
    )


def file_document(vault_id: str, extra: Mapping[str, Any], slots: Sequence[Slot]) -> dict[str, Any]:
    def slot_doc(s: Slot) -> dict[str, Any]:
        doc: dict[str, Any] = {
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
        if s.sealed:
            doc["sealed"] = {
                name: {
                    "ephemeral_public": _b64(v.ephemeral_public),
                    "nonce": _b64(v.nonce),
                    "wrapped": _b64(v.wrapped),
                }
                for name, v in sorted(s.sealed.items())
            }
        if s.pin:
            doc["pin"] = _b64(s.pin)
        return doc

    return {
        "format": FORMAT,
        "version": VERSION,
        "vault_id": vault_id,
        **extra,
        "slots": [slot_doc(s) for s in slots],
    }
