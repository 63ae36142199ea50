"""An enrollment interrupted by auto-lock or by closing the window, kept to resume after sign-in.

Why in the vault: the details typed for a person (name, reference, date of birth) are personal
data, so they are kept only where everything else personal is (SQLCipher-encrypted), never in
a plain file. Why so little: consent must be given in one sitting, so the person's decision and
signature are not kept (they read, decide and sign again on resume), and no face template or
photo is kept at all. One draft per staff account, in the ``meta`` table under
``draft:<username>`` (no schema change, so no migration to collide with); it is deleted when the
enrollment is saved or cancelled. Only its owner, or an admin, may read or discard it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import InvalidInput
from app.session import Session
from app.values import _dt, _iso

#: What a draft may hold: the details page, nothing biometric, nothing signed.
DRAFT_FIELDS = (
    "name",
    "reference",
    "date_of_birth",
    "language",
    "purpose_id",
    "existing_person_id",
    "step",
)
MAX_FIELD = 2000
#: A draft nobody resumed within a day is dropped: the person has long left the desk.
MAX_AGE = dt.timedelta(days=1)


@dataclass(frozen=True)
class EnrollmentDraft:
    owner: str
    saved_at: dt.datetime
    fields: Mapping[str, str]


def _key(owner: str) -> str:
    return f"draft:{owner}"


class Drafts:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _owner(self, owner: str | None) -> str:
        """The signed-in user's own draft, or (admin only) someone else's."""
        me = self._s.user.username
        if owner is None or owner == me:
            return me
        self._s.require_admin()
        return owner

    def save(self, fields: Mapping[str, str]) -> EnrollmentDraft:
        """Keep (replace) the signed-in user's draft; unknown or oversized fields are refused."""
        unknown = sorted(set(fields) - set(DRAFT_FIELDS))
        if unknown:
            raise InvalidInput(
                f"A draft cannot hold: {', '.join(unknown)}.",
                code="draft_field",
                params={"fields": unknown},
            )
        clean = {k: str(v)[:MAX_FIELD] for k, v in fields.items() if v not in (None, "")}
        now = self._s.clock()
        owner = self._s.user.username
        body = json.dumps({"saved_at": _iso(now), "fields": clean}, ensure_ascii=False)
        with self._s.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (_key(owner), body.encode("utf-8")),
            )
        return EnrollmentDraft(owner, now, clean)

    def load(self, owner: str | None = None) -> EnrollmentDraft | None:
        who = self._owner(owner)
        raw = self._s.read(lambda _c: self._s.meta(_key(who)))
        if raw is None:
            return None
        data = json.loads(bytes(raw).decode("utf-8"))
        saved = _dt(data.get("saved_at"))
        if saved is None or self._s.clock() - saved > MAX_AGE:
            self.discard(who)
            return None
        fields = {k: str(v) for k, v in data.get("fields", {}).items() if k in DRAFT_FIELDS}
        return EnrollmentDraft(who, saved, fields)

    def discard(self, owner: str | None = None) -> None:
        who = self._owner(owner)
        with self._s.write() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (_key(who),))
