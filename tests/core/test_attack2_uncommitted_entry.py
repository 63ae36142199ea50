"""An erasure written to the ledger whose commit never happened (the process was killed, the
disk was full) while another session stays open: that session's next ledger change used to
mark its own entry applied, so the erasure was skipped in the live vault for good (the person
stayed, corrected even) while every later restore applied it. Now the change is refused with one
line until a new sign-in has applied the erasure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import NotFound, StorageError
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app.desk import Desk, DeskOptions
    from app.finality import Finality
    from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD

    real = Finality.record

    def dying(self, conn, kind, **kw):  # the ledger entry is written, the COMMIT is not
        entry = real(self, conn, kind, **kw)
        os.kill(os.getpid(), signal.SIGKILL)
        return entry

    Finality.record = dying
    desk = Desk.unlock(Path({home!r}), ADMIN, PASSWORD,
                       options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
    desk.erase({pid!r})
    """
)


def test_a_change_after_an_uncommitted_erasure_waits_for_a_new_sign_in(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    gone = enroll(desk, purpose, name="Anna Leaving", seed=95)
    other = enroll(desk, purpose, name="Bruno Staying", seed=96)
    script = _CHILD.format(repo=str(REPO), home=str(home), pid=gone.person.id)
    child = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-800:]

    # The window still open: the erasure is in the ledger, not in the vault.
    for change in (
        lambda: desk.rectify_person(gone.person.id, name="Anna Corrected"),
        lambda: desk.rectify_person(other.person.id, name="Bruno Corrected"),
    ):
        with pytest.raises(StorageError) as refused:
            change()
        assert refused.value.code == "ledger_unapplied"
        assert "Sign in again" in str(refused.value)
    assert desk.get_person(gone.person.id).name == "Anna Leaving"  # nothing was changed
    assert [e.kind for e in desk.finality.ledger.read().entries] == ["erase"]
    desk.lock()

    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        with pytest.raises(NotFound):
            again.get_person(gone.person.id)  # the erasure, finished by the replay
        again.rectify_person(other.person.id, name="Bruno Corrected")
        assert again.get_person(other.person.id).name == "Bruno Corrected"
        assert again.audit_verify().ok
    finally:
        again.lock()
