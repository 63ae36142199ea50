"""Which recognition devices a withdrawal or an erasure had to reach (issue 17): read inside the
verb's own transaction, right after the template deletion trigger issued the revocations, so
the receipt and the certificate name exactly the devices that held the person's templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from app.db import Connection
from app.documents.outcome import DeviceNotice


def revocation_notices(conn: Connection, consent_ids: Sequence[str]) -> tuple[DeviceNotice, ...]:
    """Per device: templates of these consents revoked, whether the revocation list holding
    them has been written yet (collected), and when the device last collected its list."""
    if not consent_ids:
        return ()
    marks = ",".join("?" * len(consent_ids))
    rows = conn.execute(
        "SELECT d.name, count(*), min(r.id <= d.revocations_written), d.last_revocations_at "
        "FROM device_revocations r JOIN devices d ON d.id = r.device_id "
        f"WHERE r.consent_id IN ({marks}) GROUP BY d.id ORDER BY d.name",
        list(consent_ids),
    ).fetchall()
    return tuple(
        DeviceNotice(
            name=str(r[0]),
            templates=int(r[1]),
            collected=bool(r[2]),
            last_collected_at=dt.datetime.fromisoformat(r[3]) if r[3] else None,
        )
        for r in rows
    )
