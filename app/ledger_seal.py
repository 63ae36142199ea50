"""Corrected details carried by the erasure ledger, sealed, and shredded when the person is erased.

Why: a rectification (GDPR Art. 16) must survive the restore of a backup taken before it, like
an erasure, so the ledger outside the vault records it. But the corrected name is personal
data and the ledger is plain JSON kept forever, so the values travel *sealed*: AES-256-GCM
under a key of the person's own, bound to their pseudonymous ID, never in plaintext.

The per-person keys live in ``<home>/rectify-keys-<fingerprint>.json``, beside the ledger and,
like it, never replaced by ``restore``. Each is wrapped (AES-GCM) with a key derived by HKDF from
the vault's audit key: that key lives inside the encrypted database, is the same in every
backup of the vault and is not changed by ``rekey``, so only someone who can open some copy of
this vault can read a sealed value, and a rekeyed vault or an older backup still can.

Erasure wins: when a person is erased their key is deleted from the file (crypto-shredding),
so the sealed values left in the append-only ledger can no longer be read by anyone, and replay
never applies a correction to someone the ledger says was erased.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import StorageError
from app.filelock import FileLock

_VERSION = b"\x01"
_NONCE = 12
MAX_KEYS_BYTES = 64 * 1024 * 1024
"""Far above any real key file (about 100 bytes per corrected person: 13 MB at 100,000), far
below what would take the memory of the desk PC: a larger file is treated as damaged."""


class Unsealable(Exception):
    """A sealed value this vault cannot open; the message is one line, names no value."""


def _wrap_key(audit_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"consentdesk-rectify-wrap"
    ).derive(audit_key)


def seal_keys_path(home: Path, audit_key: bytes) -> Path:
    """``<home>/rectify-keys-<fingerprint>.json``: one file per vault lineage, like the ledger."""
    fingerprint = hashlib.sha256(b"rectify-keys-id|" + _wrap_key(audit_key)).hexdigest()[:16]
    return Path(home) / f"rectify-keys-{fingerprint}.json"


def _aad(what: str, person_id: str) -> bytes:
    return f"consentdesk-rectify|{what}|{person_id}".encode()


class SealedValues:
    """Seals and opens one vault's corrected values; forgets a person's key at erasure.

    Every read-change-write of the key file happens under a ``FileLock`` (a window and the CLI
    may rectify or erase at once) and is an atomic, fsynced replace."""

    def __init__(self, home: Path, audit_key: bytes) -> None:
        self.path = seal_keys_path(home, audit_key)
        self._wrap = AESGCM(_wrap_key(audit_key))
        self._lock = self.path.with_name(self.path.name + ".lock")
        # (inode, size, mtime) of the file last read for unsealing, and what it held: a replay
        # of thousands of corrections reads the file once, not once per entry.
        self._cached: tuple[tuple[int, int, int], dict[str, str] | None] | None = None

    # ------------------------------------------------------------------ sealing
    def seal(self, person_id: str, values: Mapping[str, str | None]) -> str:
        """The values, encrypted under the person's key (made on first use), as base64."""
        with FileLock(self._lock):
            keys = self._read_for_change()
            wrapped = keys.get(person_id)
            if wrapped is None:
                key = AESGCM.generate_key(bit_length=256)
                keys[person_id] = self._wrap_one(person_id, key)
                self._write(keys)
            else:
                key = self._unwrap_one(person_id, wrapped)
        nonce = secrets.token_bytes(_NONCE)
        plain = json.dumps(dict(values), ensure_ascii=False, sort_keys=True).encode()
        sealed = AESGCM(key).encrypt(nonce, plain, _aad("values", person_id))
        return base64.b64encode(_VERSION + nonce + sealed).decode("ascii")

    def unseal(self, person_id: str, sealed: str) -> dict[str, str | None]:
        """The values, or :class:`Unsealable` saying in one line why they cannot be read."""
        keys = self._read_cached()
        if keys is None:
            raise Unsealable(f"{self.path.name} is damaged: no correction in it can be read")
        wrapped = keys.get(person_id)
        if wrapped is None:
            raise Unsealable(
                f"the key of person {person_id}'s corrections is not in {self.path.name} "
                "(the file was deleted, replaced or comes from elsewhere)"
            )
        key = self._unwrap_one(person_id, wrapped)
        try:
            raw = base64.b64decode(sealed, validate=True)
            if raw[:1] != _VERSION or len(raw) < 1 + _NONCE + 16:
                raise ValueError
            plain = AESGCM(key).decrypt(
                raw[1 : 1 + _NONCE], raw[1 + _NONCE :], _aad("values", person_id)
            )
            doc = json.loads(plain)
            return {str(k): None if v is None else str(v) for k, v in dict(doc).items()}
        except (InvalidTag, ValueError, TypeError):
            raise Unsealable(
                f"person {person_id}'s corrected details do not decrypt with this vault's key"
            ) from None

    def forget(self, person_ids: Iterable[str | None]) -> int:
        """Delete the keys of people being erased; how many were held. The file is only
        rewritten when it held one of them (a purge of thousands costs one small read)."""
        wanted = {str(p) for p in person_ids if p}
        if not wanted or not os.path.lexists(self.path):
            return 0
        with FileLock(self._lock):
            keys = self._read_for_change()
            gone = wanted & keys.keys()
            if gone:
                self._write({k: v for k, v in keys.items() if k not in gone})
        return len(gone)

    def holds(self, person_id: str) -> bool:
        return person_id in (self._read() or {})

    def held(self) -> frozenset[str]:
        """Whose keys the file holds (none when it is missing or damaged); one stat when
        the file has not changed since the last look."""
        return frozenset(self._read_cached() or ())

    # ------------------------------------------------------------------ the file
    def _wrap_one(self, person_id: str, key: bytes) -> str:
        nonce = secrets.token_bytes(_NONCE)
        wrapped = self._wrap.encrypt(nonce, key, _aad("key", person_id))
        return base64.b64encode(nonce + wrapped).decode("ascii")

    def _unwrap_one(self, person_id: str, wrapped: str) -> bytes:
        try:
            raw = base64.b64decode(wrapped, validate=True)
            return self._wrap.decrypt(raw[:_NONCE], raw[_NONCE:], _aad("key", person_id))
        except (InvalidTag, ValueError, TypeError):
            raise Unsealable(
                f"the key of person {person_id}'s corrections in {self.path.name} was changed "
                "or belongs to another vault"
            ) from None

    def _read(self) -> dict[str, str] | None:
        """The wrapped keys by person; None when the file is damaged.

        Why not ``read_bytes``: whatever sits at this path is read at every erasure (to shred)
        and at every replay, inside the vault's write transaction. A FIFO there blocked the
        erasure forever, ``/dev/zero`` filled the memory and a folder raised an unexpected
        error; and an erasure whose ledger entry was written but not committed then failed at
        every sign-in. So the file is opened without blocking, must be a regular file of at
        most :data:`MAX_KEYS_BYTES`, and anything else counts as damaged (moved aside at the
        next change, one problem line at a replay), never as a reason to stop an erasure."""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return {}
        except OSError:
            return None  # a folder, no permission, an I/O error
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_KEYS_BYTES:
                return None
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(MAX_KEYS_BYTES + 1)
            if len(data) > MAX_KEYS_BYTES:
                return None
            doc = json.loads(data)
            return {str(k): str(v) for k, v in dict(doc["keys"]).items()}
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        finally:
            os.close(fd)

    def _read_cached(self) -> dict[str, str] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError:
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._cached is None or self._cached[0] != stamp:
            self._cached = (stamp, self._read())
        return self._cached[1]

    def _read_for_change(self) -> dict[str, str]:
        """Under the lock. A damaged file is never overwritten: it is moved aside as it is
        (``*.damaged-<ns>``, for whoever investigates) and a fresh one started."""
        keys = self._read()
        if keys is None:
            aside = self.path.with_name(f"{self.path.name}.damaged-{time.time_ns()}")
            try:
                os.replace(self.path, aside)  # a folder or a FIFO is moved aside as well
            except OSError as exc:
                raise StorageError(
                    f"{self.path.name} is damaged and cannot be moved aside ({exc.strerror}); "
                    "nothing was changed."
                ) from None
            return {}
        return keys

    def _write(self, keys: Mapping[str, str]) -> None:
        """Atomic and fsynced. The temporary file is made new (``O_EXCL``, no symlink followed):
        whatever was left at its name (a symlink to another file, a FIFO) is removed first,
        never written through. A failure (a full disk) is one line and leaves the file as
        it was."""
        data = json.dumps({"version": 1, "keys": dict(sorted(keys.items()))}, indent=0).encode()
        tmp = self.path.with_name(self.path.name + ".tmp")  # under the lock: one writer
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            fd = os.open(
                tmp, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o600
            )
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StorageError(
                f"{self.path.name} could not be written ({exc.strerror}); nothing was changed."
            ) from None
        try:
            dirfd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # pragma: no cover - Windows cannot open directories
            return
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
