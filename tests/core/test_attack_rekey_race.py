"""Attack on the streaming rekey (issue 12): a ``stats`` command started while another
process re-keys must either answer right or fail with one clear line, never hang, write into
the replaced file or leave a vault that does not open."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import hashlib, os, sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app.desk import Desk, DeskOptions
    from tests.core.vaultkit import FAST_KDF
    hold_at = {step!r}

    def fault(step):
        if step == hold_at:
            Path({flag!r}).write_text("at")
            time.sleep(4)

    desk = Desk.unlock(Path({home!r}), "admin", {password!r},
                       options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
    desk.session.vault.rekey(fault=fault)
    print("finished", hashlib.sha256(desk._vault.data_key).hexdigest(), flush=True)
    desk.lock()
    """
)


@pytest.mark.parametrize("step", ["copied", "staged", "placed:vault.db", "opened"])
def test_stats_while_another_process_rekeys(
    desk: Desk, purpose, home: Path, tmp_path: Path, step: str
) -> None:
    for i in range(2):
        enroll(desk, purpose, name=f"Counted {i}", seed=i + 1)
    desk.lock()
    flag = tmp_path / "flag"
    script = _CHILD.format(
        repo=str(REPO), home=str(home), password=PASSWORD, step=step, flag=str(flag)
    )
    rekey = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_DEBUG", None)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert rekey.poll() is None, rekey.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stats = subprocess.run(
            [sys.executable, "-m", "app", "--json", "stats"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        out, err = rekey.communicate(timeout=180)
    finally:
        if rekey.poll() is None:
            rekey.kill()
    assert rekey.returncode == 0 and "finished" in out, err[-800:]
    assert "Traceback" not in stats.stderr, stats.stderr[-800:]
    if stats.returncode == 0:
        assert json.loads(stats.stdout)["people"] == 2
    else:
        assert stats.stderr.strip().count("\n") == 0, stats.stderr  # one clear line
    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        assert again.stats().people == 2
        # the key the rekey said it made is the one the files on disk now have
        assert out.split()[-1] == hashlib.sha256(again._vault.data_key).hexdigest()
    finally:
        again.lock()


_RESTORE_CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app.backoff import LoginBackoff
    from app.paths import VaultPaths
    from app.restore import restore_vault
    hold_at = {step!r}

    def fault(step):
        if step == hold_at:
            Path({flag!r}).write_text("at")
            time.sleep(4)

    paths = VaultPaths(Path({home!r}))
    restore_vault(paths, Path({backup!r}), "admin", {password!r},
                  LoginBackoff(paths.login_state), fault=fault).close()
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("step", ["placed:vault.db", "opened"])
def test_stats_while_another_process_restores(
    desk: Desk, purpose, home: Path, tmp_path: Path, step: str
) -> None:
    enroll(desk, purpose, name="In Backup", seed=1)
    backup = desk.backup(tmp_path / "b.cdbackup")
    enroll(desk, purpose, name="After Backup", seed=2)
    desk.lock()
    flag = tmp_path / "flag"
    script = _RESTORE_CHILD.format(
        repo=str(REPO),
        home=str(home),
        backup=str(backup),
        password=PASSWORD,
        step=step,
        flag=str(flag),
    )
    restore = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_DEBUG", None)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert restore.poll() is None, restore.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stats = subprocess.run(
            [sys.executable, "-m", "app", "--json", "stats"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        out, err = restore.communicate(timeout=180)
    finally:
        if restore.poll() is None:
            restore.kill()
    assert restore.returncode == 0 and "finished" in out, err[-800:]
    assert "Traceback" not in stats.stderr, stats.stderr[-800:]
    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:  # the restore said it finished: the backup's vault is the one in place
        assert again.find_people("after backup").total == 0
        assert again.find_people("in backup").total == 1
    finally:
        again.lock()
