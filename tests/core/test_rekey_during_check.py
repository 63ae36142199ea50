"""A rekey while the background full integrity check runs: the check yields.

Why: the check reads every page on a connection of its own (minutes at 100,000 people). A rekey
started meanwhile said "vault busy" (it cannot leave WAL mode while that connection reads), or,
when the check sat between two statements, swapped the file under it: the check then read the
old, zeroed file and recorded the vault as damaged, locking writes. Now the rekey cancels the
check and waits (bounded) for its connection to close; a check started during the rekey stops
at once; neither is recorded, so the check stays due and passes on the new key afterwards.

Real threads and a real check; the check is held at a known point (its first progress report,
its connection open) by an event, never by a sleep.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import VaultError
from app.integrity import FullCheckResult
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll

WAIT = 30.0  # only a bound for a broken build: every wait below ends on an event


class HeldCheck:
    """A full check on its own thread, held at its first progress report (connection open)
    until ``release`` is set or, with ``until_asked``, until a rekey asks it to yield."""

    def __init__(self, desk: Desk, *, until_asked: bool) -> None:
        self.opened = threading.Event()
        self.release = threading.Event()
        self.result: FullCheckResult | None = None
        self._desk = desk
        self._until_asked = until_asked
        self._thread = threading.Thread(target=self._run)

    def _progress(self, fraction: float) -> None:
        if self.opened.is_set():
            return
        self.opened.set()
        if self._until_asked:
            assert self._desk.integrity.yield_asked.wait(WAIT)
        else:
            assert self.release.wait(WAIT)

    def _run(self) -> None:
        self.result = self._desk.full_check(self._progress)

    def __enter__(self) -> HeldCheck:
        self._thread.start()
        assert self.opened.wait(WAIT)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()


def _check_entries(desk: Desk) -> int:
    return sum(1 for e in desk.audit_events() if e.action == "vault.full_check")


def test_rekey_while_the_check_runs_makes_it_yield(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    enroll(desk, purpose)
    old_key = desk._vault.data_key
    assert desk.full_check_status().due
    steps: list[float] = []
    with HeldCheck(desk, until_asked=True) as check:
        desk.rekey(steps.append)  # on main, "vault busy" or a false damage verdict
    assert check.result is not None and check.result.cancelled
    assert desk._vault.data_key != old_key
    assert steps == sorted(steps) and steps[-1] == 1.0
    assert not desk.writes_locked
    # The yielded check was not recorded: still due, and it passes on the new key.
    assert desk.full_check_status().due and _check_entries(desk) == 0
    assert not desk.integrity.yield_asked.is_set()
    after = desk.full_check()
    assert after.ok and not after.cancelled
    assert not desk.full_check_status().due
    enroll(desk, purpose, name="After Rekey", seed=5)
    desk.lock()
    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        assert again.stats().people == 2 and not again.writes_locked
    finally:
        again.lock()


def test_a_check_started_during_the_rekey_stops_at_once(desk: Desk, purpose: Purpose) -> None:
    enroll(desk, purpose)
    during: list[FullCheckResult] = []

    def progress(fraction: float) -> None:
        if not during and 0 < fraction < 1:  # the rekey is under way: a check from another thread
            thread = threading.Thread(target=lambda: during.append(desk.full_check()))
            thread.start()
            thread.join(WAIT)

    desk.rekey(progress)
    assert len(during) == 1 and during[0].cancelled and during[0].seconds == 0.0
    assert _check_entries(desk) == 0
    assert desk.full_check().ok


def test_a_check_that_does_not_stop_in_time_leaves_the_vault_as_it_was(
    desk: Desk, purpose: Purpose
) -> None:
    """The wait is bounded: a check that cannot stop (held here past its cancel) makes the
    rekey give up with a clear error and nothing changed, not hang."""
    enroll(desk, purpose)
    old_key = desk._vault.data_key
    desk.integrity.yield_timeout = 0.3
    waited: list[float] = []
    with HeldCheck(desk, until_asked=False) as check:
        with pytest.raises(VaultError) as refused:
            desk.rekey(waited.append)
        assert refused.value.code == "integrity_check_running"
        assert not desk.integrity.yield_asked.is_set()
    assert waited and set(waited) == {0.0}  # progress while it waited, nothing more
    assert check.result is not None and check.result.cancelled  # it was asked, and stopped
    assert desk._vault.data_key == old_key
    assert not list((desk.home / "backups").glob("before-rekey-*"))
    desk.integrity.yield_timeout = 30.0
    desk.rekey()
    assert desk._vault.data_key != old_key
