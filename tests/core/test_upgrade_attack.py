"""Attacks on the upgrade at sign-in (app/upgrade.py, app/compact_file.py): a sign-in killed
(SIGKILL) in the middle of migration 14, of the compact copy or of its swap; a second process
signing in while the first upgrades; the disk filling before, during the migration or during
the compaction. Each time: the vault opens afterwards with every document byte-exact, nothing
half-made is left, and what was refused was said in one line."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import StorageError, VaultError
from app.migrations import LATEST
from app.upgrade import RECLAIM_PENDING, UpgradeStep
from tests.core.test_attack_rekey_disk import _mount_tmpfs
from tests.core.test_compact_storage import _BEFORE_COMPACT
from tests.core.upgradekit import build_old_vault, dump, key_of, reference_copy, version_of
from tests.core.vaultkit import ADMIN, PASSWORD

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    import app.compact_file
    from app.desk import Desk, DeskOptions
    from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD

    where, flag = {where!r}, Path({flag!r})

    paused = []

    def stop():
        if where.startswith("pause"):
            if paused:
                return  # once
            paused.append(True)
            flag.write_text("paused")
            while flag.exists():  # the test removes it to let the upgrade go on
                time.sleep(0.05)
        else:
            os.kill(os.getpid(), signal.SIGKILL)

    def progress(step):
        if where.endswith("migration") and step.version == 14 and step.fraction >= 0.5:
            stop()
        if where.endswith("copy") and step.kind == "reclaim" and step.fraction >= 0.2:
            stop()

    real_swap = app.compact_file.swap

    def swap(paths, staging, step):
        def dying(name):
            step(name)
            if where == "swap" and name == "aside:vault.db":
                os.kill(os.getpid(), signal.SIGKILL)
        return real_swap(paths, staging, dying)

    app.compact_file.swap = swap
    opts = DeskOptions(kdf=FAST_KDF, upgrade_progress=progress)
    Desk.unlock(Path({home!r}), ADMIN, PASSWORD, options=opts).lock()
    print("signed in")
    """
)


def _child(home: Path, where: str, flag: Path) -> subprocess.Popen[str]:
    code = _CHILD.format(repo=str(REPO), home=str(home), where=where, flag=str(flag))
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _opens_byte_exact(home: Path, options: DeskOptions, forms: dict[str, str]) -> None:
    again = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    try:
        conn = again._conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        for doc_id, sha in forms.items():
            assert hashlib.sha256(again.document_pdf(doc_id)).hexdigest() == sha
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0  # space given back
        assert (
            conn.execute("SELECT 1 FROM meta WHERE key = ?", (RECLAIM_PENDING,)).fetchone() is None
        )
    finally:
        again.lock()
    names = [p.name for p in home.iterdir()]
    assert not [n for n in names if n.startswith(".cd") or ".replaced-" in n], names
    assert "restore-journal.json" not in names


@pytest.mark.parametrize("where", ["migration", "copy", "swap"])
def test_a_sign_in_killed_mid_upgrade_leaves_a_vault_that_upgrades_again(
    desk: Desk, purpose, home: Path, options: DeskOptions, tmp_path: Path, where: str
) -> None:
    forms = build_old_vault(desk, purpose)
    reference = dump(reference_copy(home, tmp_path / "reference"))
    child = _child(home, where, tmp_path / "flag")
    _out, err = child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL, err[-800:]
    if where == "migration":
        # killed inside migration 14's transaction: the vault is at the schema before it,
        # its documents as they were (no encoding column yet)
        assert version_of(home) == _BEFORE_COMPACT
    else:
        # killed while the migrated vault was being compacted: migrated, compact or not
        assert version_of(home) == LATEST
    _opens_byte_exact(home, options, forms)
    # the rows the migrations rewrite, as the reference leaves them (the sign-ins since added
    # audit entries and counted them)
    signed_in = ("audit", "counts")
    assert {k: v for k, v in dump(home).items() if k not in signed_in} == {
        k: v for k, v in reference.items() if k not in signed_in
    }


@pytest.mark.parametrize("where", ["pause-migration", "pause-copy"])
def test_a_second_sign_in_while_the_first_upgrades_is_told_the_vault_is_busy(
    desk: Desk, purpose, home: Path, options: DeskOptions, tmp_path: Path, where: str
) -> None:
    forms = build_old_vault(desk, purpose)
    flag = tmp_path / "flag"
    first = _child(home, where, flag)
    try:
        deadline = time.monotonic() + 180
        while not flag.exists():
            assert first.poll() is None, first.communicate()[1][-800:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Another process (the CLI) signs in meanwhile: one line, exit 3, nothing changed.
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CONSENTDESK_USER": ADMIN,
            "CONSENTDESK_PASSWORD": PASSWORD,
        }
        t0 = time.monotonic()
        cli = subprocess.run(
            [sys.executable, "-m", "app", "--home", str(home), "stats"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert cli.returncode == 3, cli.stderr
        assert cli.stderr.count("\n") == 1 and "being upgraded" in cli.stderr, cli.stderr
        assert "Traceback" not in cli.stderr and cli.stdout == ""
        # and a window in this process: the same, at once (no waiting on the other's locks)
        with pytest.raises(VaultError) as refused:
            Desk.unlock(home, ADMIN, PASSWORD, options=options)
        assert refused.value.code == "vault_upgrading"
        assert time.monotonic() - t0 < 60
    finally:
        flag.unlink(missing_ok=True)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0 and "signed in" in out, err[-800:]
    _opens_byte_exact(home, options, forms)


@pytest.mark.parametrize(
    "fills",
    [("before", 0.5), ("before", 1.5), ("migration", 0.0), ("migration", 0.3), ("reclaim", 0.3)],
)
def test_a_filling_disk_stops_the_upgrade_with_one_line_and_loses_nothing(
    desk: Desk, purpose, options: DeskOptions, tmp_path: Path, fills: tuple[str, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The disk fills before the sign-in (the backup meets it) or, written by something else,
    when the migrations or the compaction start, leaving ``left`` vault sizes free. Both room
    checks are off, so that each step itself meets the full disk."""
    import app.compact_file
    import app.upgrade

    when, left = fills
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, 65536):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = mnt / "vault"
        forms = build_old_vault(*_reopen(home, options, desk, purpose))
        size = (home / "vault.db").stat().st_size
        filler = mnt / "filler"

        def fill() -> None:
            st = os.statvfs(mnt)
            with open(filler, "ab") as fh:
                fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - int(left * size)))

        if when == "before":
            fill()
        if when == "reclaim":  # once the WAL was folded in: the VACUUM INTO meets a full disk
            real_take_alone = app.compact_file._take_alone

            def take_alone_then_fill(conn: object) -> None:
                real_take_alone(conn)
                fill()

            monkeypatch.setattr(app.compact_file, "_take_alone", take_alone_then_fill)
        monkeypatch.setattr(app.upgrade, "ROOM_FACTOR", 0.0)
        monkeypatch.setattr(app.compact_file, "MARGIN_BYTES", -(10**12))
        notices: list[str] = []

        def seen(step: UpgradeStep) -> None:
            if when == "migration" and step.kind == when and not filler.exists():
                fill()
            if step.notice:
                notices.append(step.notice)

        opts = DeskOptions(kdf=options.kdf, upgrade_progress=seen)
        outcome = "upgraded"
        try:
            Desk.unlock(home, ADMIN, PASSWORD, options=opts).lock()
        except StorageError as exc:
            outcome = f"refused: {exc}"
            assert "\n" not in str(exc) and "sign in again" in str(exc), str(exc)
            assert exc.code == "upgrade_disk_full"
        print(f"{fills}: {outcome} {notices}")
        if when == "reclaim":  # the sign-in goes on, migrated; the space is given back later
            assert outcome == "upgraded" and len(notices) == 1, notices
            assert notices[0].startswith("Space not reclaimed: the disk filled"), notices
        else:
            assert outcome != "upgraded" and not notices
        names = [p.name for p in home.rglob("*")]
        assert not [n for n in names if n.startswith(".cd") or ".replaced-" in n], names
        monkeypatch.undo()
        filler.unlink()
        _opens_byte_exact(home, DeskOptions(kdf=options.kdf), forms)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_no_room_for_the_upgrade_is_said_before_anything_is_written(
    desk: Desk, purpose, options: DeskOptions, tmp_path: Path
) -> None:
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, 65536):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = mnt / "vault"
        forms = build_old_vault(*_reopen(home, options, desk, purpose))
        size = (home / "vault.db").stat().st_size
        st = os.statvfs(mnt)
        filler = mnt / "filler"
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - int(1.5 * size)))
        before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
        before.pop("login-state.json", None)
        with pytest.raises(StorageError) as refused:
            Desk.unlock(home, ADMIN, PASSWORD, options=options)
        assert refused.value.code == "upgrade_no_room"
        assert "MB free" in str(refused.value) and "nothing was changed" in str(refused.value)
        after = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
        for name, data in before.items():
            assert after.get(name) == data, name
        assert not (home / "backups").exists() or not list((home / "backups").iterdir())
        filler.unlink()
        _opens_byte_exact(home, options, forms)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _reopen(home: Path, options: DeskOptions, desk: Desk, purpose: object) -> tuple[Desk, object]:
    """The fixture's vault (its purpose with a signed necessity test, nobody enrolled) copied
    onto the small disk, and open there."""
    import shutil

    source = desk._vault.paths.home
    desk.lock()
    shutil.copytree(source, home)
    key_of(home)  # the copy opens with the same admin
    return Desk.unlock(home, ADMIN, PASSWORD, options=options), purpose
