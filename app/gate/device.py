"""``consentdesk-gate``: the reference recognition device, an executable specification for door
vendors (docs/handoff.md).

It shares the face engine with the desk but never the vault: all it has is its own folder
(``device.key``, ``device.pub``, optionally ``org.pub``, and the encrypted ``gate.store``). The
rules a door must follow are all here and each is a refusal with a reason:

* a file whose signature does not verify, or is signed by another organisation key;
* a file for another device;
* a bundle or list whose sequence number is not newer than the last one imported (replay);
* a delta bundle that does not build on the last bundle imported (a bundle went missing);
* a bundle while a newer revocation list is pending (the bundle names the newest revocation the
  desk had issued; until the door has imported a list that far it would hold stale templates).

It drops a template whose consent expiry has passed by its own clock alone, and answers only
allow/deny with the pseudonymous person ID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.devices.format import (
    TEMPLATE_BYTES,
    HandoffRefused,
    b64,
    load_device_private,
    open_sealed,
    unb64,
    unpack_payload,
)
from app.gate.store import Entry, GateState, GateStore


@dataclass(frozen=True)
class ImportResult:
    kind: str
    seq: int
    added: int
    removed: int
    expired: int
    held: int


@dataclass(frozen=True)
class GateDecision:
    photo: str
    decision: str  # allow | deny | no_face | error
    person_id: str | None
    message: str


@dataclass(frozen=True)
class GateStatus:
    bundle_seq: int
    revocation_seq: int
    revocations_through: int
    held: int
    org_key: str | None


def _parse_time(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class Gate:
    """One device folder. ``clock`` is injected: expiry is decided by the door's date alone."""

    def __init__(
        self,
        home: Path,
        *,
        clock: Callable[[], dt.datetime],
        engine: Any = None,
    ) -> None:
        self.home = Path(home)
        self._key = load_device_private(self.home / "device.key")
        self._store = GateStore(self.home / "gate.store", self._key)
        self._clock = clock
        self._engine = engine
        self._owns_engine = False
        self._cache: tuple[Any, float, float, int] | None = None

    def close(self) -> None:
        """Release the face engine if this gate started it (its worker thread holds models)."""
        if self._owns_engine and self._engine is not None:
            self._engine.close()
            self._engine = None

    # ------------------------------------------------------------------------- trust
    def _trusted_org(self, state: GateState) -> bytes | None:
        """``org.pub`` in the folder (given at setup) wins; otherwise the key of the first file
        imported is pinned (trust on first use) and every later file must match it."""
        pinned = self.home / "org.pub"
        if pinned.exists():
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

            key = serialization.load_pem_public_key(pinned.read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise HandoffRefused("org.pub is not an Ed25519 key.", code="bad_org_key")
            return key.public_bytes_raw()
        return unb64(state.org_key) if state.org_key else None

    def _unexpired(self, state: GateState) -> tuple[GateState, int]:
        now = self._clock()
        keep = [
            i
            for i, e in enumerate(state.entries)
            if e.expires_at is None or _parse_time(e.expires_at) > now
        ]
        dropped = len(state.entries) - len(keep)
        if not dropped:
            return state, 0
        return replace(
            state,
            entries=tuple(state.entries[i] for i in keep),
            templates=state.templates[keep],
        ), dropped

    # ------------------------------------------------------------------------- import
    def import_file(self, data: bytes) -> ImportResult:
        state = self._store.load()
        opened = open_sealed(data, self._key, self._trusted_org(state))
        header = opened.header
        state = replace(state, org_key=state.org_key or header.org_key)
        meta, blob = unpack_payload(opened.payload)
        if header.kind == "revocations":
            result, state = self._apply_revocations(
                state, header.seq, header.revocations_through, meta
            )
        else:
            result, state = self._apply_bundle(state, header, meta, blob)
        state, expired = self._unexpired(state)
        self._store.save(state)
        self._cache = None
        return replace(result, expired=expired, held=len(state.entries))

    def _apply_revocations(
        self, state: GateState, seq: int, through: int, meta: dict[str, Any]
    ) -> tuple[ImportResult, GateState]:
        if seq <= state.revocation_seq:
            raise HandoffRefused(
                f"Revocation list {seq} is not newer than list {state.revocation_seq} already "
                "imported.",
                code="old_sequence",
            )
        revoked = frozenset(str(e["ref"]) for e in meta.get("entries", []))
        keep = [i for i, e in enumerate(state.entries) if e.ref not in revoked]
        removed = len(state.entries) - len(keep)
        state = replace(
            state,
            entries=tuple(state.entries[i] for i in keep),
            templates=state.templates[keep],
            revoked=state.revoked | revoked,
            revocation_seq=seq,
            revocations_through=max(state.revocations_through, through),
        )
        return ImportResult("revocations", seq, 0, removed, 0, 0), state

    def _apply_bundle(
        self, state: GateState, header: Any, meta: dict[str, Any], blob: bytes
    ) -> tuple[ImportResult, GateState]:
        if header.seq <= state.bundle_seq:
            raise HandoffRefused(
                f"Bundle {header.seq} is not newer than bundle {state.bundle_seq} already "
                "imported.",
                code="old_sequence",
            )
        if header.revocations_through > state.revocations_through:
            raise HandoffRefused(
                "A newer revocation list is pending: import the device's revocation list first.",
                code="revocations_pending",
            )
        if not header.full and header.base_seq != state.bundle_seq:
            raise HandoffRefused(
                f"This delta builds on bundle {header.base_seq} but the device holds bundle "
                f"{state.bundle_seq}: ask the desk for a full bundle.",
                code="missing_delta",
            )
        raw = meta.get("entries", [])
        if len(blob) != len(raw) * TEMPLATE_BYTES:
            raise HandoffRefused("The bundle's templates do not match its entries.", code="damaged")
        incoming = [
            Entry(str(e["ref"]), str(e["person_id"]), str(e["consent_id"]), e.get("expires_at"))
            for e in raw
        ]
        mat = np.frombuffer(blob, dtype="<f4").astype(np.float32).reshape(-1, 128)
        ok = [i for i, e in enumerate(incoming) if e.ref not in state.revoked]
        incoming = [incoming[i] for i in ok]
        mat = mat[ok]
        if header.full:
            entries, templates, removed = tuple(incoming), mat, len(state.entries)
        else:
            new_refs = {e.ref for e in incoming}
            keep = [i for i, e in enumerate(state.entries) if e.ref not in new_refs]
            entries = tuple(state.entries[i] for i in keep) + tuple(incoming)
            templates = (
                np.concatenate([state.templates[keep], mat])
                if len(mat)
                else (state.templates[keep])
            )
            removed = len(state.entries) - len(keep)
        state = replace(
            state,
            entries=entries,
            templates=np.ascontiguousarray(templates, dtype=np.float32),
            bundle_seq=header.seq,
            match_threshold=float(meta.get("match_threshold", state.match_threshold)),
        )
        return ImportResult("bundle", header.seq, len(incoming), removed, 0, 0), state

    # ------------------------------------------------------------------------- identify
    def status(self) -> GateStatus:
        state = self._store.load()
        return GateStatus(
            state.bundle_seq,
            state.revocation_seq,
            state.revocations_through,
            len(state.entries),
            state.org_key,
        )

    def _matcher(self) -> tuple[Any, float] | None:
        """The gallery of unexpired templates, kept between decisions (decrypting the store for
        every face would cost a door ~0.5 s at 100k) and rebuilt when an import changed the store
        or the clock passed an entry's expiry."""
        from app.bio.gallery import Gallery

        now = self._clock().timestamp()
        if self._cache is None or self._cache[2] <= now:
            state, _ = self._unexpired(self._store.load())
            next_expiry = min(
                (_parse_time(e.expires_at).timestamp() for e in state.entries if e.expires_at),
                default=float("inf"),
            )
            gallery = Gallery.from_arrays([e.person_id for e in state.entries], state.templates)
            self._cache = (gallery, state.match_threshold, next_expiry, len(state.entries))
        if not self._cache[3]:
            return None
        return self._cache[0], self._cache[1]

    def decide(self, embedding: Any, photo: str = "") -> GateDecision:
        """Allow the nearest unexpired template within the bundle's threshold; deny otherwise."""
        matcher = self._matcher()
        if matcher is None:
            return GateDecision(photo, "deny", None, "The device holds no templates.")
        gallery, threshold = matcher
        probe = np.asarray(embedding, dtype=np.float32).reshape(128)
        hits = gallery.identify(probe, threshold=threshold, k=1)
        if not hits:
            return GateDecision(photo, "deny", None, "No match.")
        return GateDecision(
            photo, "allow", hits[0].person_id, f"Match at distance {hits[0].distance:.3f}."
        )

    def identify_photo(self, path: Path) -> GateDecision:
        from app.bio.errors import BioError
        from app.bio.images import load_image

        label = str(path)
        try:
            analysis = self._face_engine().analyse_photo(load_image(path, label=Path(path).name))
        except BioError as exc:
            return GateDecision(label, "error", None, exc.message)
        if analysis.face_count == 0:
            return GateDecision(label, "no_face", None, "No face was found.")
        if analysis.face_count > 1:
            return GateDecision(label, "deny", None, "Several faces: one person at a time.")
        return self.decide(analysis.single_encoding(), label)

    def _face_engine(self) -> Any:
        if self._engine is None:
            from app.bio.engine import BioEngine

            self._engine = BioEngine.create()
            self._owns_engine = True
        return self._engine

    @staticmethod
    def org_key_b64(raw: bytes) -> str:
        return b64(raw)
