"""issue-11 (full disk): reading still works when nothing can be written to the vault's disk.

Two real setups, each in a real subprocess so nothing is simulated inside the process under test:
* ``RLIMIT_FSIZE = 0``: no file may grow (works everywhere, but no file on any disk can be
  written either, so export and backup are checked with the second setup);
* a tiny tmpfs filled to the last block (needs root and ``mount``; skipped otherwise): the vault's
  disk is full while another disk takes the export and the backup.
In both, sign-in and search succeed and say "read-only", every write verb fails with one line and
exit code 7, and no byte of the vault changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backoff import FREE_ATTEMPTS, LoginBackoff, StateUnusable
from app.desk import Desk
from app.errors import VaultReadOnly, WrongPassword
from app.models import Purpose
from tests.core.vaultkit import ADMIN, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]
READ_ONLY = "read-only because its disk is full"


def _no_writes() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _snapshot(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def _unchanged(home: Path, before: dict[str, str]) -> None:
    after = _snapshot(home)
    for name, digest in before.items():
        assert after.get(name) == digest, name
    # Only SQLite's scratch files may appear: an empty log, and the log's index (-shm, no data)
    for name in set(after) - set(before):
        assert name in ("vault.db-wal", "vault.db-shm"), name
        if name.endswith("-wal"):
            assert (home / name).stat().st_size == 0, name


def _cli(home: Path, *args: str, limit: bool) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
        "CONSENTDESK_NEW_PASSWORD": "a much longer passphrase 7 kites",
    }
    env.pop("CONSENTDESK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        preexec_fn=_no_writes if limit else None,
        timeout=120,
    )


def _vault(desk: Desk, purpose: Purpose) -> str:
    person = str(enroll(desk, purpose, name="Canary Zebulon").person.id)
    enroll(desk, purpose, name="Second Person", seed=2, reference="Unit 3")
    desk.lock()
    return person


def _refuses_writes(home: Path, person: str, spare: Path, *, limit: bool) -> None:
    csv = spare / "people.csv"  # on another disk; never read: the import is refused first
    if not csv.exists():
        csv.write_text("name,photo\nNobody Here,nowhere.jpg\n", encoding="utf-8")
    for args in (
        ["import", str(csv), "--purpose", "1"],
        ["withdraw", str(person), "--reason", "asked"],
        ["erase", str(person), "--yes", "--reason", "asked"],
        ["user", "add", "bob", "--role", "operator"],
    ):
        proc = _cli(home, *args, limit=limit)
        assert proc.returncode == 7, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("consentdesk: ") and READ_ONLY in lines[-1], proc.stderr
        assert "Traceback" not in proc.stderr


def _reads(home: Path, *, limit: bool) -> None:
    proc = _cli(home, "people", limit=limit)
    assert proc.returncode == 0, proc.stderr
    assert "Canary Zebulon" in proc.stdout and "Second Person" in proc.stdout
    assert "read-only: the disk is full" in proc.stderr  # the operator is told at once
    stats = _cli(home, "--json", "stats", limit=limit)
    assert stats.returncode == 0 and '"people": 2' in stats.stdout, stats.stderr


def test_no_file_can_grow_sign_in_and_search_work_writes_refused(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    person = _vault(desk, purpose)
    before = _snapshot(home)
    _reads(home, limit=True)
    _refuses_writes(home, person, tmp_path, limit=True)
    _unchanged(home, before)
    again = Desk.unlock(home, ADMIN, PASSWORD)  # with space back, everything is there
    assert not again.read_only and again.stats().people == 2
    again.lock()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs, filled to the last block after the vault is copied onto it."""
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full tmpfs needs root to mount")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path) -> Path:
    filler = mount / "filler"
    with filler.open("wb", buffering=0) as f:
        for chunk in (4096, 1):  # to the last byte
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


def test_full_disk_export_and_backup_to_another_disk(
    desk: Desk, purpose: Purpose, home: Path, full_disk: Path, tmp_path: Path
) -> None:
    person = _vault(desk, purpose)
    vault = full_disk / "vault"
    shutil.copytree(home, vault)
    filler = _fill(full_disk)
    before = _snapshot(vault)

    _reads(vault, limit=False)
    out = tmp_path / "elsewhere"
    out.mkdir()
    export = _cli(vault, "export", str(person), "--out", str(out / "person"), limit=False)
    assert export.returncode == 0, export.stderr
    assert "Canary Zebulon" in (out / "person" / "person.json").read_text(encoding="utf-8")
    backup = _cli(vault, "backup", str(out / "copy.cdbackup"), limit=False)
    assert backup.returncode == 0, backup.stderr
    assert (out / "copy.cdbackup").stat().st_size > 0
    _refuses_writes(vault, person, tmp_path, limit=False)
    _unchanged(vault, before)

    # In this process too: the read-only session refuses changes through the core, and its
    # sign-in, which could not be recorded, is written by the first sign-in after space is freed.
    ro = Desk.unlock(vault, ADMIN, PASSWORD)
    assert ro.read_only and ro.stats().people == 2
    with pytest.raises(VaultReadOnly) as refused:
        ro.withdraw(person, reason="asked")
    assert refused.value.exit_code == 7 and refused.value.code == "vault_read_only"
    assert ro.export_person(person).person.name == "Canary Zebulon"
    ro.backup(out / "again.cdbackup")
    ro.lock()
    _unchanged(vault, before)
    filler.unlink()
    rw = Desk.unlock(vault, ADMIN, PASSWORD)
    assert not rw.read_only
    actions = [e.action for e in rw.audit_events()]
    # the read-only sign-ins, the access export and the backup reach the audit log now
    assert "login.read_only" in actions
    assert "person.access_export" in actions and "vault.backup" in actions
    rw.lock()


def test_failed_sign_ins_on_a_full_disk_are_kept_and_then_refused(full_disk: Path) -> None:
    """login-state.json cannot be updated: failures are counted in the process, sign-in is
    refused after the free attempts (fail safe), and they reach the file once space is back."""
    state = full_disk / "login-state.json"
    backoff = LoginBackoff(state, required=lambda: True)
    backoff.record_success()  # the file exists, as in every vault
    before = state.read_bytes()
    filler = _fill(full_disk)

    def wrong() -> None:
        raise WrongPassword("Wrong user name or password.")

    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(WrongPassword):
            backoff.attempt("password", wrong, WrongPassword)
    tried: list[int] = []
    with pytest.raises(StateUnusable) as refused:
        backoff.attempt("password", lambda: tried.append(1), WrongPassword)
    assert refused.value.code == "login_state_unsaved" and not tried  # no password evaluated
    assert state.read_bytes() == before
    filler.unlink()
    failures = backoff.pending()  # the next read writes what was kept
    assert [f.kind for f in failures] == ["password"] * FREE_ATTEMPTS
    assert len(json.loads(state.read_bytes())["pending"]) == FREE_ATTEMPTS


def test_committed_work_only_in_the_log_is_refused_never_ignored(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    """A session killed before closing leaves committed work in the WAL. Reading it needs the
    log's index rebuilt (a write), and reading the main file alone (``immutable``) would
    silently drop that work: the vault is refused with the full-disk line instead, the log is
    left as it was, and with space back the work is there."""
    _vault(desk, purpose)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from app.desk import Desk; "
            "d = Desk.unlock(sys.argv[1], sys.argv[2], sys.argv[3]); "
            "print(d.stats().audit_entries); os._exit(0)",
            str(home),
            ADMIN,
            PASSWORD,
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 0, killed.stderr
    entries = int(killed.stdout.strip())
    wal = home / "vault.db-wal"
    log = wal.read_bytes()
    assert log  # committed work only in the log
    refused = _cli(home, "stats", limit=True)
    assert refused.returncode == 7 and "nothing can be written" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    assert wal.read_bytes() == log
    again = Desk.unlock(home, ADMIN, PASSWORD)
    assert again.stats().audit_entries > entries  # the killed session's work, and this sign-in
    again.lock()
