"""Attack on the batched retention purge (issue 12): the process killed between a batch's
ledger write and its COMMIT must never bring back a person the ledger says was erased, and the
backups under <home>/backups must hold no erased person once the next purge returns."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from app.desk import Desk, DeskOptions
from app.models import Purpose
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    decrypt_database,
    enroll,
    short_purpose,
)

REPO = Path(__file__).resolve().parents[2]
_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_LATER = _START + dt.timedelta(days=40)

_CHILD = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app.desk import Desk, DeskOptions
    from app.finality import Finality
    from app.rooms import retention
    from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, FakeClock

    real = Finality.record_many
    calls = []

    def dying(self, conn, specs, **kw):  # the second batch: ledger written, no COMMIT yet
        entries = real(self, conn, specs, **kw)
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return entries

    Finality.record_many = dying
    retention.PURGE_BATCH = 2
    clock = FakeClock(dt.datetime.fromisoformat({later!r}))
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    desk = Desk.unlock(Path({home!r}), ADMIN, PASSWORD, options=opts)
    desk.purge_expired()
    """
)


def _backup_plain(path: Path, key: bytes, scratch: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        (scratch / "b.db").write_bytes(zf.read("vault.db"))
    return decrypt_database(scratch / "b.db", key).lower()


def test_purge_killed_between_ledger_and_commit_never_brings_an_erased_person_back(
    tmp_path: Path,
) -> None:
    clock = FakeClock(_START)
    home = tmp_path / "v"
    opts = DeskOptions(kdf=FAST_KDF, clock=clock, auto_purge=False)
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=opts)
    short: Purpose = short_purpose(desk)
    for i in range(5):
        enroll(desk, short, name=f"Canary Purged {i}", seed=i + 1, reference=f"REF-CP-{i}")
    desk.set_setting("clock_jump_days", 60)  # the 40 days skipped are no clock fault
    kept = desk.backup(home / "backups" / "kept.cdbackup")
    key = desk._vault.data_key
    desk.lock()

    script = _CHILD.format(repo=str(REPO), home=str(home), later=_LATER.isoformat())
    child = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-800:]

    clock.now = _LATER
    again = Desk.unlock(home, ADMIN, PASSWORD, options=opts)
    try:
        ledger = again.finality.ledger.read()
        in_ledger = {e.person_id for e in ledger.entries if e.kind == "erase"}
        assert len(in_ledger) == 4, "the first batch committed, the second reached the ledger"
        found = {p.person.id for p in again.find_people("canary purged").items}
        assert not (found & in_ledger), "an erased person came back"
        result = again.purge_expired()  # what the next sign-in runs
        assert again.find_people("canary purged").total == 0
        assert len(result.erased_people) + len(in_ledger) >= 5
        plain = _backup_plain(kept, key, tmp_path)
        assert b"canary purged" not in plain and b"ref-cp-" not in plain
        assert again.audit_verify().ok
    finally:
        again.lock()
