"""Issue 12: rekey streams the vault into a new file and swaps it in atomically.

A cancel (progress raising) or a kill at any step leaves the vault opening with exactly one
key: the old one before the swap's commit point, the new one after; never a vault whose
keyslots do not fit it. Progress moves along the way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.db import open_database
from app.desk import Desk, DeskOptions
from app.errors import VaultCorrupt
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]
OPERATOR, OPERATOR_PW = "olga", "operator password 1"


def _opts() -> DeskOptions:
    return DeskOptions(kdf=FAST_KDF, auto_purge=False)


def _opens_with(home: Path, key: bytes) -> bool:
    try:
        open_database(home / "vault.db", key).close()
    except VaultCorrupt:
        return False
    return True


def _everyone_signs_in(home: Path, people: int) -> None:
    for user, password in ((ADMIN, PASSWORD), (OPERATOR, OPERATOR_PW)):
        d = Desk.unlock(home, user, password, options=_opts())
        try:
            assert d.stats().people == people
            assert d.audit_verify().ok
        finally:
            d.lock()


def test_rekey_reports_progress_and_keeps_everyone(desk: Desk, purpose, home: Path) -> None:
    enroll(desk, purpose)
    desk.add_user(OPERATOR, OPERATOR_PW, "operator")
    old_key = desk._vault.data_key
    steps: list[float] = []
    desk.rekey(steps.append)
    assert steps == sorted(steps) and steps[-1] == 1.0 and len(steps) >= 5
    assert desk._vault.data_key != old_key
    # The session goes on with the new connection: a change commits and is audited.
    enroll(desk, purpose, name="After Rekey", seed=5)
    assert any(e.action == "vault.rekey" for e in desk.audit_events())
    new_key = desk._vault.data_key
    desk.lock()
    assert not _opens_with(home, old_key) and _opens_with(home, new_key)
    assert (home / "vault.db").stat().st_mode & 0o777 == 0o600  # as private as the old one
    assert not [p.name for p in home.iterdir() if p.name.startswith(".cdrekey-")]
    _everyone_signs_in(home, 2)


def test_cancelled_rekey_leaves_the_old_vault_and_key(desk: Desk, purpose, home: Path) -> None:
    enroll(desk, purpose)
    desk.add_user(OPERATOR, OPERATOR_PW, "operator")
    old_key = desk._vault.data_key
    slots_before = (home / "keyslots.json").read_bytes()
    seen: list[float] = []

    def cancel_halfway(fraction: float) -> None:
        seen.append(fraction)
        if fraction > 0.6:  # inside the copy into the new file
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        desk.rekey(cancel_halfway)
    assert desk._vault.data_key == old_key
    assert (home / "keyslots.json").read_bytes() == slots_before
    assert not [p.name for p in home.iterdir() if p.name.startswith(".cdrekey-")]
    enroll(desk, purpose, name="After Cancel", seed=6)  # the session still works
    desk.lock()
    assert _opens_with(home, old_key)
    _everyone_signs_in(home, 2)


_KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app.desk import Desk, DeskOptions
    from tests.core.vaultkit import FAST_KDF
    die_at = os.environ["CONSENTDESK_TEST_DIE_AT"]  # read by this test child only

    def fault(step):
        if step == die_at:
            os.kill(os.getpid(), signal.SIGKILL)

    desk = Desk.unlock(Path({home!r}), "admin", {password!r},
                       options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
    desk.session.vault.rekey(fault=fault)
    print("finished", flush=True)
    """
)
_BEFORE_COMMIT = [
    "copied",
    "verified",
    "staged",
    "journal",
    "aside:vault.db",
    "placed:vault.db",
    "placed:keyslots.json",
    "opened",
]
_AFTER_COMMIT = ["committed", "cleaned:keyslots.json", "finished"]


@pytest.mark.parametrize("step", _BEFORE_COMMIT + _AFTER_COMMIT)
def test_rekey_killed_at_each_step_leaves_one_vault_and_its_keyslots(
    desk: Desk, purpose, home: Path, step: str
) -> None:
    enroll(desk, purpose)
    desk.add_user(OPERATOR, OPERATOR_PW, "operator")
    old_key = desk._vault.data_key
    desk.lock()
    script = _KILL_CHILD.format(repo=str(REPO), home=str(home), password=PASSWORD)
    env = {**os.environ, "CONSENTDESK_TEST_DIE_AT": step}
    child = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180
    )
    assert child.returncode == -signal.SIGKILL, (step, child.stdout, child.stderr[-800:])
    _everyone_signs_in(home, 1)  # recovery ran at the first open: every slot fits the file
    assert _opens_with(home, old_key) == (step in _BEFORE_COMMIT), step
    names = [p.name for p in home.iterdir()]
    assert not [n for n in names if ".replaced-" in n or n == "restore-journal.json"], names
    # A staging copy left by a kill before the swap went with the first sign-in: its owner
    # mark was free (a rekey still running would hold it).
    assert not [n for n in names if n.startswith(".cdrekey-")], names


def test_cli_rekey_shows_progress_and_the_vault_opens_with_the_new_key(
    desk: Desk, purpose, home: Path
) -> None:
    enroll(desk, purpose)
    desk.add_user(OPERATOR, OPERATOR_PW, "operator")
    old_key = desk._vault.data_key
    desk.lock()
    env = {
        **os.environ,
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_RECOVERY_CODE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "app", "rekey"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    shown = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    percents = [int(line.removeprefix("rekey: ").rstrip("%")) for line in shown]
    assert all(line.startswith("rekey: ") for line in shown), shown
    assert percents == sorted(percents) and percents[-1] == 100 and len(percents) >= 3, shown
    assert "Traceback" not in proc.stderr
    assert "fresh data key" in proc.stdout
    assert not _opens_with(home, old_key)
    _everyone_signs_in(home, 1)
