"""Issue 11, races: keyslots.json and login-state.json change under an exclusive lock, so
processes started together neither lose slots nor get more guesses than the back-off allows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.backoff import LoginBackoff
from app.desk import Desk, DeskOptions
from app.keyslots import Keyslots
from tests.core.vaultkit import ADMIN, PASSWORD

REPO = Path(__file__).resolve().parents[2]


def start(home: Path, *args: str, password: str = PASSWORD, **env: str) -> subprocess.Popen[str]:
    environ = {
        **os.environ,
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": password,
        **env,
    }
    environ.pop("CONSENTDESK_RECOVERY_CODE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=REPO,
    )


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    out = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert "Traceback" not in err and "unexpected" not in err, err
        out.append((p.returncode, err))
    return out


@pytest.fixture
def closed_vault(desk: Desk, home: Path) -> Path:
    desk.lock()
    return home


def test_three_parallel_user_adds_all_survive(closed_vault: Path, options: DeskOptions) -> None:
    home = closed_vault
    names = ("ana", "bea", "cyd")
    procs = [
        start(home, "user", "add", n, CONSENTDESK_NEW_PASSWORD=f"{n} desk password 7")
        for n in names
    ]
    results = finish(procs)
    assert [rc for rc, _ in results] == [0, 0, 0], results
    assert Keyslots.load(home / "keyslots.json").user_count() == 4
    for n in names:
        d = Desk.unlock(home, n, f"{n} desk password 7", options=options)
        assert d.user.role == "operator"
        d.lock()


def test_rekey_racing_user_add_loses_nothing(closed_vault: Path, options: DeskOptions) -> None:
    home = closed_vault
    for round_ in range(2):
        name = f"racer{round_}"
        pw = f"{name} desk password 7"
        procs = [
            start(home, "rekey"),
            start(home, "user", "add", name, CONSENTDESK_NEW_PASSWORD=pw),
        ]
        (rekey_rc, rekey_err), (add_rc, add_err) = finish(procs)
        # The rekey either ran, or was refused because the other command had the vault open.
        assert rekey_rc == 0 or (rekey_rc == 3 and "another window" in rekey_err), rekey_err
        Desk.unlock(home, ADMIN, PASSWORD, options=options).lock()
        if add_rc == 0:  # whatever it reported, it must hold
            Desk.unlock(home, name, pw, options=options).lock()
        else:  # refused cleanly: re-keyed under it, or the name's row never committed
            assert len([ln for ln in add_err.splitlines() if ln.strip()]) == 1, add_err
            d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
            assert name not in [u.username for u in d.list_users()]
            d.lock()


def test_twelve_parallel_guesses_are_taken_one_at_a_time(closed_vault: Path) -> None:
    home = closed_vault
    procs = [start(home, "unlock-check", password=f"wrong guess {i}") for i in range(12)]
    results = finish(procs)
    assert all(rc == 4 for rc, _ in results), results
    wrong = sum("Wrong user name or password" in err for _, err in results)
    locked = sum("Too many failed sign-ins" in err for _, err in results)
    assert wrong + locked == 12
    state = json.loads((home / "login-state.json").read_text())
    # Every evaluated guess was counted, and each came only after the delay earned before it.
    assert state["failures"] == wrong == len(state["pending"])
    times = [p["at"] for p in state["pending"]]
    for i in range(1, len(times)):
        assert times[i] - times[i - 1] >= LoginBackoff.delay_for(i) - 0.01, times
    assert wrong < 12
