"""Reading, checking and adding to the audit log on behalf of the signed-in staff member.

Why a room of its own: ``app.audit.AuditLog`` is the chain itself (append, verify, page through)
and knows nothing of who may read it or which keys an administrator certified. Checking every
entry's signature needs the keyslot file as it is now and the vault's authority table, and
exporting every entry is an admin's verb; that belongs with the session, not in the facade.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.authority import signature_checker
from app.db import Connection
from app.keyslots import Keyslots
from app.models import AuditEvent, AuditVerification
from app.session import Session


class AuditTrail:
    def __init__(self, session: Session) -> None:
        self._s = session

    def verify(self, expected_head: str | None = None) -> AuditVerification:
        """The HMAC chain, and every entry's signature against a key an administrator
        certified (``app.authority``), read from the keyslot file as it is now."""
        s = self._s

        def check(conn: Connection) -> AuditVerification:
            slots = Keyslots.load(s.vault.paths.keyslots)
            return s.audit.verify(expected_head, signature_checker(conn, slots))

        return s.read(check)

    def head(self) -> str:
        return self._s.read(lambda c: self._s.audit.head())

    def events(self, limit: int | None = None, offset: int = 0) -> list[AuditEvent]:
        return self._s.read(lambda c: self._s.audit.events(limit=limit, offset=offset))

    def export(self) -> list[AuditEvent]:
        """Every audit entry, for ``audit export``: admins only (``app.permissions``)."""
        self._s.require("audit export")
        return self.events()

    def record(
        self, action: str, subject: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        """For UI-only events worth keeping (e.g. a document handed over, an export made)."""
        with self._s.write():
            self._s.audit.append(self._s.user.username, action, subject, details)
