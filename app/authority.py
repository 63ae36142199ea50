"""The administrators' authority: signed role grants and signed audit entries.

Why (issue 11): every account's password opens the same data key, so an operator holding their
own password can read and write the whole database: ``UPDATE staff SET role='admin'``, rewrite
the audit chain with the audit key stored in it, drop the append-only triggers. What an operator
cannot do is open another account's keyslot. So authority lives in secrets sealed to slots:

* **Authority key** (Ed25519). Its private half is stored in the database encrypted under a
  random *authority secret* that is sealed only to administrators' slots and the recovery slot
  (``app.keyslots``: sealing needs only a slot's public key, opening needs its password). Its
  public half is kept in ``keyslots.json`` and in the database, and every slot carries a *pin*:
  a MAC of that public key made with the slot's own private key. Replacing the authority key
  (to sign one's own grant) therefore breaks the pin of every slot but one's own: the next
  sign-in of any other account, and ``unlock-check``, refuse the vault as tampered.
* **Role grants**. Each staff row carries the authority's signature over (vault, account key,
  role, row id). At every sign-in the role is taken from the database only when that signature
  verifies; an unsigned or changed role refuses the sign-in.
* **Signing keys**. Each account has its own Ed25519 key, sealed to its slot, certified by the
  authority (table ``signers``, append-only). Every audit entry written in a session is signed
  by the signed-in account over its chained MAC; ``audit verify`` checks every signature
  against a certified key. Recomputing the HMAC chain with the audit key no longer hides a
  change: it breaks the signatures of every later entry not made by the one who changed it.

Entries written outside a session (``ledger.replay`` at unlock) stay HMAC-only, as do entries
from before the authority existed: a vault from before issue 11 gets its authority at the
first administrator's sign-in, trusting the roles it holds at that moment.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.db import Connection, Row, fetch_all
from app.errors import KeyslotError, PermissionDenied, VaultCorrupt
from app.keyslots import Keyslots, OpenedSlot, Sealed, Slot, info_for
from app.names import name_key

if TYPE_CHECKING:
    from app.vault import Vault

SIGNING = "signing-key"
SECRET = "authority-secret"
# Written while opening, before anyone signs in (replaying, or reporting a damaged or lost
# erasure ledger: app.replay).
UNSIGNED_OK = frozenset({"ledger.replay", "ledger.problem", "ledger.missing"})

_TAMPERED = (
    "The administrators' authority key of this vault was replaced or removed outside "
    "ConsentDesk. Restore the latest backup (consentdesk restore FILE)."
)


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _pub(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: bytes) -> str:
    return hashlib.sha256(b"consentdesk-signer|" + public).hexdigest()[:24]


def grant_message(vault_id: str, username: str, role: str, staff_id: int) -> bytes:
    return f"consentdesk-grant|{vault_id}|{name_key(username)}|{role}|{int(staff_id)}".encode()


def signer_message(vault_id: str, key_id: str, username: str, public: bytes) -> bytes:
    return f"consentdesk-signer|{vault_id}|{key_id}|{name_key(username)}|".encode() + public


def entry_message(vault_id: str, seq: int, mac: str) -> bytes:
    return f"consentdesk-audit|{vault_id}|{int(seq)}|{mac}".encode()


def _verify(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _meta(conn: Connection, key: str) -> bytes | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return bytes(row[0]) if row else None


def _set_meta(conn: Connection, key: str, value: bytes) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def pinned_public(slots: Keyslots, conn: Connection) -> bytes | None:
    """The authority public key, when both the keyslot file and the database agree on it;
    None for a vault without one yet. Disagreement is tampering."""
    in_file = slots.extra.get("authority")
    in_db = _meta(conn, "authority_public")
    if in_file is None and in_db is None:
        return None
    try:
        from_file = base64.b64decode(str(in_file), validate=True) if in_file else None
    except ValueError:
        from_file = None
    if from_file is None or in_db is None or from_file != in_db:
        raise VaultCorrupt(_TAMPERED, code="authority_tampered")
    return from_file


@dataclass
class SessionAuthority:
    """What a signed-in session holds: the verified role, its signing key, and (admins) the
    authority key that signs grants and certifies signing keys."""

    vault_id: str
    public: bytes
    signing: Ed25519PrivateKey | None
    private: Ed25519PrivateKey | None = None
    secret: bytes | None = None

    @property
    def key_id(self) -> str | None:
        return key_id_of(_pub(self.signing)) if self.signing is not None else None

    def sign_entry(self, seq: int, mac: str) -> tuple[str, str] | None:
        if self.signing is None:
            return None
        sig = self.signing.sign(entry_message(self.vault_id, seq, mac)).hex()
        return str(self.key_id), sig

    def require_private(self) -> Ed25519PrivateKey:
        if self.private is None:
            raise PermissionDenied(
                "This session holds no administrator authority; sign in again with an "
                "administrator's own password.",
                code="authority_missing",
            )
        return self.private

    def grant(self, conn: Connection, staff_id: int, username: str, role: str) -> None:
        sig = self.require_private().sign(grant_message(self.vault_id, username, role, staff_id))
        conn.execute("UPDATE staff SET grant_sig = ? WHERE id = ?", (sig, staff_id))

    def new_signing_key(self, conn: Connection, username: str, now: str) -> Ed25519PrivateKey:
        """A fresh signing key for ``username``, certified and recorded (never changed)."""
        key = Ed25519PrivateKey.generate()
        public = _pub(key)
        kid = key_id_of(public)
        cert = self.require_private().sign(signer_message(self.vault_id, kid, username, public))
        conn.execute(
            "INSERT INTO signers (key_id, username, public_key, created_at, cert) "
            "VALUES (?,?,?,?,?)",
            (kid, username, public, now, cert),
        )
        return key

    def sealed_for(
        self, signing: Ed25519PrivateKey | None, admin: bool
    ) -> dict[str, tuple[bytes, bytes]]:
        """The secrets a slot of this account carries (part -> (HKDF label, secret))."""
        out: dict[str, tuple[bytes, bytes]] = {}
        if signing is not None:
            out[SIGNING] = (info_for(SIGNING), _raw(signing))
        if admin and self.secret is not None:
            out[SECRET] = (info_for(SECRET), self.secret)
        return out


def grant_valid(public: bytes, vault_id: str, row: Row) -> bool:
    sig = row["grant_sig"]
    if sig is None:
        return False
    message = grant_message(vault_id, row["username"], row["role"], int(row["id"]))
    return _verify(public, bytes(sig), message)


def _unseal(slots: Keyslots, opened: OpenedSlot, part: str) -> bytes | None:
    if part not in opened.slot.sealed:
        return None
    return slots.unseal(opened.slot, opened.private_key, part, info_for(part))


def _decrypt_private(conn: Connection, secret: bytes, vault_id: str) -> Ed25519PrivateKey:
    blob = _meta(conn, "authority_private") or b""
    try:
        raw = AESGCM(secret).decrypt(blob[:12], blob[12:], f"authority|{vault_id}".encode())
        return Ed25519PrivateKey.from_private_bytes(raw)
    except Exception:
        raise VaultCorrupt(_TAMPERED, code="authority_tampered") from None


def _slot_of(slots: Keyslots, username: str, shared: bool) -> Slot | None:
    for slot, legacy in slots._user_slots(username):
        if not shared or legacy:
            return slot
    return None


def establish(
    vault: Vault, conn: Connection, opened: OpenedSlot, signer_name: str, now: str
) -> SessionAuthority:
    """Create the authority for a vault that has none, trusting the roles it holds now: sign
    every grant, give every account with a slot a certified signing key sealed to that slot,
    seal the authority secret to every admin's slot and the recovery slot. Runs inside the
    caller's transaction; the keyslot file is written last, inside it too."""
    slots = vault.keyslots
    vault_id = slots.vault_id
    private = Ed25519PrivateKey.generate()
    public = _pub(private)
    secret = secrets.token_bytes(32)
    nonce = secrets.token_bytes(12)
    blob = nonce + AESGCM(secret).encrypt(nonce, _raw(private), f"authority|{vault_id}".encode())
    _set_meta(conn, "authority_public", public)
    _set_meta(conn, "authority_private", blob)
    auth = SessionAuthority(vault_id, public, None, private, secret)
    rows = fetch_all(conn, "SELECT id, username, username_key, role FROM staff ORDER BY id")
    keys = [str(r["username_key"]) for r in rows]
    mine: Ed25519PrivateKey | None = None
    with slots.changing():
        for row in rows:
            name = str(row["username"])
            auth.grant(conn, int(row["id"]), name, str(row["role"]))
            shared = keys.count(str(row["username_key"])) > 1
            slot = _slot_of(slots, name, shared)
            if slot is None:
                continue
            signing = auth.new_signing_key(conn, name, now)
            sealed = {
                part: slots.seal_to(slot, part, value, info)
                for part, (info, value) in auth.sealed_for(signing, row["role"] == "admin").items()
            }
            changed = replace(slot, sealed={**slot.sealed, **sealed})
            if slot.id == opened.slot.id:
                changed = replace(changed, pin=slots.pin_tag(slot, opened.private_key, public))
                mine = signing
            slots._slots = [changed if s.id == slot.id else s for s in slots._slots]
        for slot in [s for s in slots._slots if s.kind == "recovery"]:
            sealed = {SECRET: slots.seal_to(slot, SECRET, secret, info_for(SECRET))}
            changed = replace(slot, sealed={**slot.sealed, **sealed})
            if slot.id == opened.slot.id:
                changed = replace(changed, pin=slots.pin_tag(slot, opened.private_key, public))
            slots._slots = [changed if s.id == slot.id else s for s in slots._slots]
        slots.extra["authority"] = base64.b64encode(public).decode("ascii")
    if mine is None:  # signed in with the recovery code: a key for this session's admin
        mine = auth.new_signing_key(conn, signer_name, now)
    auth.signing = mine
    return auth


def at_sign_in(
    vault: Vault, conn: Connection, row: Row, opened: OpenedSlot | None, now: str
) -> SessionAuthority | None:
    """Check the signing-in account against the authority; returns what the session may use,
    None for a vault without an authority yet (an admin's sign-in creates it)."""
    slots = vault.keyslots
    public = pinned_public(slots, conn)
    if opened is None:
        if public is None:
            return None
        raise PermissionDenied("Sign in with a password to use this vault.", code="role_unsigned")
    if public is None:
        if row["role"] != "admin":
            return None
        return establish(vault, conn, opened, str(row["username"]), now)
    slot = opened.slot
    if slot.pin and not hmac.compare_digest(
        slot.pin, slots.pin_tag(slot, opened.private_key, public)
    ):
        raise VaultCorrupt(_TAMPERED, code="authority_tampered")
    if not grant_valid(public, slots.vault_id, row):
        raise PermissionDenied(
            "This account's role is not signed by an administrator: the staff records were "
            "changed outside ConsentDesk. An administrator must check the vault (audit verify) "
            "or restore the latest backup.",
            code="role_unsigned",
        )
    auth = SessionAuthority(slots.vault_id, public, None)
    raw = _unseal(slots, opened, SIGNING)
    if raw is not None:
        auth.signing = Ed25519PrivateKey.from_private_bytes(raw)
    if row["role"] == "admin":
        auth.secret = _unseal(slots, opened, SECRET)
        if auth.secret is not None:
            auth.private = _decrypt_private(conn, auth.secret, slots.vault_id)
    if auth.signing is not None and not _certified(conn, public, slots.vault_id, auth):
        auth.signing = None  # a key nobody certified signs nothing
    extra: dict[str, Sealed] = {}
    if auth.signing is None and auth.private is not None:
        auth.signing = auth.new_signing_key(conn, str(row["username"]), now)
        if slot.kind == "user":
            extra[SIGNING] = slots.seal_to(slot, SIGNING, _raw(auth.signing), info_for(SIGNING))
    pin = slot.pin or slots.pin_tag(slot, opened.private_key, public)
    if extra or not slot.pin:  # slots from before the authority vouch for it from now on
        with contextlib.suppress(KeyslotError, OSError):
            slots.update_slot(slot.id, lambda s: replace(s, sealed={**s.sealed, **extra}, pin=pin))
    return auth


def _certified(conn: Connection, public: bytes, vault_id: str, auth: SessionAuthority) -> bool:
    row = conn.execute(
        "SELECT username, public_key, cert FROM signers WHERE key_id = ?", (auth.key_id,)
    ).fetchone()
    if row is None:
        return False
    return _verify(
        public, bytes(row[2]), signer_message(vault_id, str(auth.key_id), row[0], bytes(row[1]))
    )


def signature_checker(
    conn: Connection, slots: Keyslots
) -> Callable[[int, str, str, Any, Any], str | None] | None:
    """For ``AuditLog.verify``: a function naming the problem with one entry's signature, or
    None for a vault without an authority."""
    try:
        public = pinned_public(slots, conn)
    except VaultCorrupt:
        return lambda seq, action, mac, signer, sig: (
            "the administrators' authority key was replaced"
        )
    if public is None:
        return None
    vault_id = slots.vault_id
    certified: dict[str, bytes] = {}
    for kid, username, pub, cert in conn.execute(
        "SELECT key_id, username, public_key, cert FROM signers"
    ).fetchall():
        if _verify(public, bytes(cert), signer_message(vault_id, str(kid), username, bytes(pub))):
            certified[str(kid)] = bytes(pub)
    seen_signed = [False]

    def check(seq: int, action: str, mac: str, signer: Any, sig: Any) -> str | None:
        if signer is None or sig is None:
            if seen_signed[0] and action not in UNSIGNED_OK:
                return f"entry {seq} is not signed by any account"
            return None
        seen_signed[0] = True
        pub = certified.get(str(signer))
        if pub is None:
            return f"entry {seq} is signed by a key no administrator certified"
        try:
            signature = bytes.fromhex(str(sig))
        except ValueError:
            return f"entry {seq} has a damaged signature"
        if not _verify(pub, signature, entry_message(vault_id, seq, mac)):
            return f"entry {seq} was changed after it was signed"
        return None

    return check
