"""HR bulk enrollment from a CSV of photos with signed paper consents, as a session verb.

Why a room around ``app.bulk_import``: the importer reads rows and enrolls them through
``Consents``; who may import, whether the vault can take writes at all, and whether the purpose
has a signed necessity test are decided once, here, before the first photo is read, and the
import as a whole is audited (each row is its own transaction: all or nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.bulk_import import ImportReport, import_people
from app.rooms.consents import Consents
from app.rooms.purposes import Purposes
from app.session import Session


class Imports:
    def __init__(self, session: Session, purposes: Purposes, consents: Consents) -> None:
        self._s = session
        self._purposes = purposes
        self._consents = consents

    def people(
        self, csv_path: Path, purpose_id: int, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Admins only (``app.permissions``)."""
        s = self._s
        s.require("import")
        s.require_writable()  # issue-11: not a photo read on a full disk
        self._consents.require_necessity(self._purposes.get(purpose_id))  # before any photo
        report = import_people(self._consents, Path(csv_path), purpose_id, progress)
        with s.write():
            s.audit.append(
                s.user.username,
                "import.csv",
                details={
                    "purpose": purpose_id,
                    "imported": report.imported,
                    "skipped": len(report.skipped),
                    "attested_adults": report.attested_adults,
                },
            )
        return report
