"""Recognition devices: registration, handoff bundles and revocation lists (issue 17).

A small manager constructed with an unlocked :class:`~app.desk.Desk`: it works through the
desk's own connection, lock, transactions, audit log and clock, so it needs no state of its own
and the desk's public surface does not grow. Roles are checked before anything is read or
written.

Why templates leave only like this: a template goes to a registered device only under an active,
unexpired consent for that device's purpose, under a pseudonym (``person_ref``, an HMAC of the
person ID keyed per vault and per device, so two doors cannot link their entries and the desk
can still map a door's answer back), with its consent ID and expiry so the door can drop it on
its own. What each device holds is recorded in ``device_handed``; deleting a template (every
withdrawal, erasure and purge path) turns those rows into revocations in SQL (see
``app.devices.schema``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.devices import marks
from app.devices.disclosure import new_device_version
from app.devices.format import b64, key_fingerprint, pack_payload, seal
from app.errors import InvalidInput, NotFound
from app.replay import audit_key_of
from app.validation import clean_name, clean_text
from app.values import _iso, _new_id

SIGNING_META = "handoff_signing_key"
PSEUDONYM_META = "handoff_pseudonym_key"


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    purpose_id: int
    key_fingerprint: str
    created_at: str
    created_by: str
    removed_at: str | None
    bundle_seq: int
    revocation_seq: int
    last_bundle_at: str | None
    last_revocations_at: str | None
    templates_held: int
    revocations_issued: int
    revocations_unsent: int
    location: str = ""
    # Set by ``add`` and ``remove``: the purpose version that now names (or no longer names)
    # the device, and how many consents need re-consent because of it.
    purpose_version: int | None = None
    reconsent_needed: int = 0


@dataclass(frozen=True)
class HandoffResult:
    device_id: str
    device_name: str
    seq: int
    full: bool
    templates: int
    people: int
    revocations_through: int
    issued_at: str
    data: bytes


@dataclass(frozen=True)
class RevocationListResult:
    device_id: str
    device_name: str
    seq: int
    entries: int
    through: int
    issued_at: str
    data: bytes


@dataclass(frozen=True)
class PersonDeviceEvent:
    """A line of the person's access report: which device was given (or told to drop) their
    template and when."""

    device_id: str
    device_name: str
    event: str
    bundle_seq: int | None
    at: str


@dataclass(frozen=True)
class DeviceFreshness:
    """Per device: what was last handed over, and whether a revocation has been waiting longer
    than allowed (a withdrawal that has not reached the door)."""

    device_id: str
    name: str
    last_bundle_at: str | None
    last_revocations_at: str | None
    unsent: int
    oldest_unsent_at: str | None
    overdue: bool


def rows(cursor: Any) -> list[dict[str, Any]]:
    """Rows by column name (the connection has no row factory of its own)."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


_DEVICE_SQL = (
    "SELECT d.id, d.name, d.purpose_id, d.public_key, d.created_at, d.created_by, d.removed_at, "
    "d.bundle_seq, d.revocation_seq, d.last_bundle_at, d.last_revocations_at, "
    "d.revocations_written, d.location, "
    "(SELECT count(*) FROM device_handed h WHERE h.device_id = d.id) AS templates_held, "
    "(SELECT count(*) FROM device_revocations r WHERE r.device_id = d.id) AS revocations_issued, "
    "(SELECT count(*) FROM device_revocations r WHERE r.device_id = d.id "
    " AND r.id > d.revocations_written) AS revocations_unsent "
    "FROM devices d "
)


def _device(row: dict[str, Any]) -> Device:
    return Device(
        id=row["id"],
        name=row["name"],
        purpose_id=int(row["purpose_id"]),
        key_fingerprint=key_fingerprint(bytes(row["public_key"])),
        created_at=row["created_at"],
        created_by=row["created_by"],
        removed_at=row["removed_at"],
        bundle_seq=int(row["bundle_seq"]),
        revocation_seq=int(row["revocation_seq"]),
        last_bundle_at=row["last_bundle_at"],
        last_revocations_at=row["last_revocations_at"],
        templates_held=int(row["templates_held"]),
        revocations_issued=int(row["revocations_issued"]),
        revocations_unsent=int(row["revocations_unsent"]),
        location=row["location"],
    )


class Devices:
    """Device verbs over one unlocked desk. ``clock`` defaults to the desk's own."""

    def __init__(self, desk: Any, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._desk = desk
        self._clock: Callable[[], dt.datetime] = clock or desk.session.now

    # ------------------------------------------------------------------------- keys
    def _secret(self, conn: Any, key: str, make: Callable[[], bytes]) -> bytes:
        """A vault secret kept in ``meta``: encrypted with the data key like everything in the
        vault, so it exists only while the vault is unlocked; created on first use."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return bytes(row[0])
        value = make()
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        return value

    def _signing_key(self, conn: Any) -> Ed25519PrivateKey:
        raw = self._secret(
            conn, SIGNING_META, lambda: Ed25519PrivateKey.generate().private_bytes_raw()
        )
        return Ed25519PrivateKey.from_private_bytes(raw)

    def organisation_key(self) -> bytes:
        """The raw Ed25519 public key every bundle and revocation list is signed with; give it
        to a door at setup (``device org-key``) so it need not trust its first file."""
        with self._desk.session.write() as conn:
            return self._signing_key(conn).public_key().public_bytes_raw()

    def organisation_key_pem(self) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(self.organisation_key()).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _pseudonymiser(self, conn: Any, device_id: str) -> Callable[[str], str]:
        key = self._secret(conn, PSEUDONYM_META, lambda: secrets.token_bytes(32))
        prefix = device_id.encode() + b"\x00"

        def ref(person_id: str) -> str:
            return "P" + hmac.digest(key, prefix + person_id.encode(), "sha256").hex()[:24]

        return ref

    def person_ref(self, device_name: str, person_id: str) -> str:
        """The pseudonym a door answers with for this person (admin: it links door to person)."""
        self._desk.session.require_admin()
        with self._desk.session.write() as conn:
            device = self._active(conn, device_name)
            return self._pseudonymiser(conn, device.id)(person_id)

    def _mark(self, conn: Any, device_id: str, **numbers: int) -> None:
        """Keep the numbers a door has now seen outside the database (before COMMIT), so a
        restore of an older backup cannot make the desk reuse them."""
        key = audit_key_of(conn)
        if key is not None:
            marks.record(self._desk.session.vault.paths.home, key, device_id, **numbers)

    # ------------------------------------------------------------------------- registry
    def _active(self, conn: Any, name: str) -> Device:
        found = rows(
            conn.execute(_DEVICE_SQL + "WHERE d.name = ? AND d.removed_at IS NULL", (name,))
        )
        if not found:
            raise NotFound(f"No registered device is called {name!r}.", code="no_device")
        return _device(found[0])

    def add(self, name: str, purpose_id: int, public_key: bytes, location: str = "") -> Device:
        """Register a door for one purpose. Admin only: from now on templates may leave.

        A material change of the purpose (see :mod:`app.devices.disclosure`): a new version
        whose disclosure names the device; consents to older versions need re-consent."""
        self._desk.session.require_admin()
        label = clean_name(name, "device name", limit=100)
        where = clean_text(location, "device location", limit=200) or ""
        if len(public_key) != 32:
            raise InvalidInput("A device public key is 32 bytes (X25519).")
        self._desk.get_purpose(purpose_id)
        now = _iso(self._clock())
        with self._desk.session.write() as conn:
            clash = conn.execute(
                "SELECT name, public_key FROM devices WHERE removed_at IS NULL "
                "AND (name = ? OR public_key = ?)",
                (label, public_key),
            ).fetchone()
            if clash is not None:
                raise InvalidInput(
                    "A registered device already has this name or this key.", code="device_exists"
                )
            device_id = _new_id("D")
            conn.execute(
                "INSERT INTO devices (id, name, purpose_id, public_key, created_at, created_by, "
                "location) VALUES (?,?,?,?,?,?,?)",
                (device_id, label, purpose_id, public_key, now, self._desk.user.username, where),
            )
            version = new_device_version(self._desk, conn, purpose_id, self._clock(), add=device_id)
            self._desk.session.audit.append(
                self._desk.user.username,
                "device.add",
                None,
                {
                    "device": device_id,
                    "name": label,
                    "purpose": purpose_id,
                    "key": key_fingerprint(public_key),
                    "purpose_version": version.version,
                    "material": True,
                },
                at=self._clock(),
            )
            added = self._active(conn, label)
        if version.reconsent_needed:
            self._desk.faces.reload()  # those templates must not match one second longer
        return replace(
            added, purpose_version=version.version, reconsent_needed=version.reconsent_needed
        )

    def list(self, include_removed: bool = False) -> Sequence[Device]:
        self._desk.session.require_admin()
        where = "" if include_removed else "WHERE d.removed_at IS NULL "

        def q(c: Any) -> list[Device]:
            return [_device(r) for r in rows(c.execute(_DEVICE_SQL + where + "ORDER BY d.name"))]

        result: list[Device] = self._desk.session.read(q)
        return result

    def get(self, name: str) -> Device:
        self._desk.session.require_admin()
        result: Device = self._desk.session.read(lambda c: self._active(c, name))
        return result

    def remove(self, name: str) -> Device:
        """Retire a device. Its holdings are forgotten here (no further revocations are made for
        it), so whoever retires it must wipe it; the audit entry records how much it held."""
        self._desk.session.require_admin()
        now = self._clock()
        with self._desk.session.write() as conn:
            device = self._active(conn, name)
            conn.execute("DELETE FROM device_handed WHERE device_id = ?", (device.id,))
            conn.execute(
                "UPDATE devices SET removed_at = ?, removed_by = ? WHERE id = ?",
                (_iso(now), self._desk.user.username, device.id),
            )
            version = new_device_version(self._desk, conn, device.purpose_id, now, remove=device.id)
            self._desk.session.audit.append(
                self._desk.user.username,
                "device.remove",
                None,
                {"device": device.id, "name": device.name, "templates_held": device.templates_held},
                at=now,
            )
            found = rows(conn.execute(_DEVICE_SQL + "WHERE d.id = ?", (device.id,)))
        return replace(_device(found[0]), purpose_version=version.version)

    # ------------------------------------------------------------------------- handoff
    def handoff(self, name: str, full: bool = False) -> HandoffResult:
        """Sign and encrypt a bundle for the device: what it does not hold yet (a delta on the
        last bundle), or everything it may hold (``full``; always for its first bundle).

        Only templates of active, unexpired consents of the device's purpose go. The sequence
        number advances even if the file is then lost: the door then refuses the next delta
        (wrong base) and a ``full`` bundle repairs it, so nothing can silently go missing."""
        self._desk.session.require_admin()
        now = self._clock()
        issued = _iso(now) or ""
        threshold = self._desk.get_float("match_threshold")
        with self._desk.session.write() as conn:
            device = self._active(conn, name)
            public = bytes(
                conn.execute(
                    "SELECT public_key FROM devices WHERE id = ?", (device.id,)
                ).fetchone()[0]
            )
            # After a restore rolled this device back, the door may hold templates the
            # restored vault never handed: only a full bundle replaces them (app.devices.marks).
            full = full or device.bundle_seq == 0 or marks.full_needed(conn, device.id)
            held = {
                r["template_id"]: r["ref"]
                for r in rows(
                    conn.execute(
                        "SELECT template_id, ref FROM device_handed WHERE device_id = ?",
                        (device.id,),
                    )
                )
            }
            candidates = conn.execute(
                "SELECT t.id AS template_id, t.person_id, t.consent_id, t.embedding, "
                "c.expires_at FROM templates t JOIN consents c ON c.id = t.consent_id "
                "JOIN purpose_versions v ON v.id = c.purpose_version_id "
                "WHERE v.purpose_id = ? AND c.status = 'active' AND c.reconsent_due_at IS NULL "
                "AND (c.expires_at IS NULL OR c.expires_at > ?)",
                (device.purpose_id, issued),
            )
            pseudonym = self._pseudonymiser(conn, device.id)
            refs: dict[str, str] = {}
            entries: list[dict[str, Any]] = []
            blobs: list[bytes] = []
            new_rows: list[tuple[Any, ...]] = []
            seq = device.bundle_seq + 1
            found = rows(candidates)
            # One urandom call for every new reference (96 bits each), not one per template.
            fresh = secrets.token_bytes(12 * len(found))
            for n, r in enumerate(found):
                tid = r["template_id"]
                if not full and tid in held:
                    continue
                person = r["person_id"]
                pref = refs.get(person) or refs.setdefault(person, pseudonym(person))
                ref = held.get(tid)
                if ref is None:
                    ref = "T" + fresh[12 * n : 12 * n + 12].hex()
                    new_rows.append(
                        (device.id, tid, ref, person, pref, r["consent_id"], seq, issued)
                    )
                entries.append(
                    {
                        "ref": ref,
                        "person_id": pref,
                        "consent_id": r["consent_id"],
                        "expires_at": r["expires_at"],
                    }
                )
                blobs.append(bytes(r["embedding"]))
            through = int(
                conn.execute(
                    "SELECT coalesce(max(id), 0) FROM device_revocations WHERE device_id = ?",
                    (device.id,),
                ).fetchone()[0]
            )
            conn.executemany(
                "INSERT INTO device_handed (device_id, template_id, ref, person_id, person_ref, "
                "consent_id, bundle_seq, handed_at) VALUES (?,?,?,?,?,?,?,?)",
                new_rows,
            )
            conn.executemany(
                "INSERT INTO device_person_log (device_id, person_id, event, bundle_seq, at) "
                "VALUES (?, ?, 'handed', ?, ?)",
                [(device.id, p, seq, issued) for p in dict.fromkeys(r[3] for r in new_rows)],
            )
            conn.execute(
                "UPDATE devices SET bundle_seq = ?, last_bundle_at = ? WHERE id = ?",
                (seq, issued, device.id),
            )
            if full:
                marks.clear_full_needed(conn, device.id)
            self._mark(conn, device.id, bundle_seq=seq, revocations_through=through)
            payload = pack_payload(
                {"entries": entries, "match_threshold": threshold}, b"".join(blobs)
            )
            data = seal(
                kind="bundle",
                device_id=device.id,
                device_public=public,
                seq=seq,
                issued_at=issued,
                full=full,
                base_seq=0 if full else device.bundle_seq,
                revocations_through=through,
                payload=payload,
                org_key=self._signing_key(conn),
            )
            self._desk.session.audit.append(
                self._desk.user.username,
                "device.handoff",
                None,
                {
                    "device": device.id,
                    "seq": seq,
                    "full": full,
                    "templates": len(entries),
                    "people": len(refs),
                    "revocations_through": through,
                    "sha256": hashlib.sha256(data).hexdigest(),
                },
                at=now,
            )
        return HandoffResult(
            device.id, device.name, seq, full, len(entries), len(refs), through, issued, data
        )

    def revocations(self, name: str) -> RevocationListResult:
        """The complete signed revocation list of a device (every entry ever issued, not only the
        newest), so a door that missed a list catches up from any later one. Any signed-in staff
        member may write it: it can only take access away, and it should never wait for an admin."""
        now = self._clock()
        issued = _iso(now) or ""
        with self._desk.session.write() as conn:
            device = self._active(conn, name)
            public = bytes(
                conn.execute(
                    "SELECT public_key FROM devices WHERE id = ?", (device.id,)
                ).fetchone()[0]
            )
            entries = [
                {
                    "n": int(r["id"]),
                    "ref": r["ref"],
                    "person_id": r["person_ref"],
                    "consent_id": r["consent_id"],
                    "revoked_at": r["revoked_at"],
                }
                for r in rows(
                    conn.execute(
                        "SELECT id, ref, person_ref, consent_id, revoked_at FROM device_revocations "
                        "WHERE device_id = ? ORDER BY id",
                        (device.id,),
                    )
                )
            ]
            through = entries[-1]["n"] if entries else 0
            seq = device.revocation_seq + 1
            conn.execute(
                "UPDATE devices SET revocation_seq = ?, last_revocations_at = ?, "
                "revocations_written = ? WHERE id = ?",
                (seq, issued, through, device.id),
            )
            self._mark(conn, device.id, revocation_seq=seq, revocations_through=through)
            data = seal(
                kind="revocations",
                device_id=device.id,
                device_public=public,
                seq=seq,
                issued_at=issued,
                full=True,
                base_seq=0,
                revocations_through=through,
                payload=pack_payload({"entries": entries}),
                org_key=self._signing_key(conn),
            )
            self._desk.session.audit.append(
                self._desk.user.username,
                "device.revocations",
                None,
                {
                    "device": device.id,
                    "seq": seq,
                    "entries": len(entries),
                    "through": through,
                    "sha256": hashlib.sha256(data).hexdigest(),
                },
                at=now,
            )
        return RevocationListResult(
            device.id, device.name, seq, len(entries), through, issued, data
        )

    # ------------------------------------------------------------------------- reports
    def person_events(self, person_id: str) -> Sequence[PersonDeviceEvent]:
        """For the access report: every device given this person's template, or told to drop
        it, and when."""

        def q(c: Any) -> list[PersonDeviceEvent]:
            return [
                PersonDeviceEvent(r["device_id"], r["name"], r["event"], r["bundle_seq"], r["at"])
                for r in rows(
                    c.execute(
                        "SELECT l.device_id, d.name, l.event, l.bundle_seq, l.at "
                        "FROM device_person_log l JOIN devices d ON d.id = l.device_id "
                        "WHERE l.person_id = ? ORDER BY l.rowid",
                        (person_id,),
                    )
                )
            ]

        result: list[PersonDeviceEvent] = self._desk.session.read(q)
        return result

    def freshness(
        self, max_age: dt.timedelta = dt.timedelta(hours=24)
    ) -> Sequence[DeviceFreshness]:
        """For the start screen and ``compliance`` (any staff member: it names no one). A device
        is overdue when a revocation made more than ``max_age`` ago is in no written list yet.
        "Written" is what the desk can know; the door's own pick-up is not reported back."""
        limit = self._clock() - max_age

        def q(c: Any) -> list[DeviceFreshness]:
            out = []
            for r in rows(
                c.execute(
                    "SELECT d.id, d.name, d.last_bundle_at, d.last_revocations_at, "
                    "(SELECT count(*) FROM device_revocations r WHERE r.device_id = d.id "
                    " AND r.id > d.revocations_written) AS unsent, "
                    "(SELECT min(r.revoked_at) FROM device_revocations r WHERE r.device_id = d.id "
                    " AND r.id > d.revocations_written) AS oldest "
                    "FROM devices d WHERE d.removed_at IS NULL ORDER BY d.name"
                )
            ):
                oldest = r["oldest"]
                overdue = oldest is not None and dt.datetime.fromisoformat(oldest) <= limit
                out.append(
                    DeviceFreshness(
                        r["id"],
                        r["name"],
                        r["last_bundle_at"],
                        r["last_revocations_at"],
                        int(r["unsent"]),
                        oldest,
                        overdue,
                    )
                )
            return out

        result: list[DeviceFreshness] = self._desk.session.read(q)
        return result

    @staticmethod
    def public_key_b64(raw: bytes) -> str:
        return b64(raw)
