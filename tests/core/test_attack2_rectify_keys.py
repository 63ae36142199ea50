"""Attacks on the rectification key file (``rectify-keys-<id>.json``) and on rectification
itself: whatever sits at the key file's path, an erasure still goes through and nobody is locked
out; the temporary file is never written through; a person erased by another session while
their details are being corrected is one clear line, not an unexpected database error."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import NotFound
from app.ledger_seal import Unsealable
from app.models import Person, Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]


def _opts() -> DeskOptions:
    return DeskOptions(kdf=FAST_KDF, auto_purge=False)


MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of the command: a desk PC's spare memory


def _small_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, with a timeout (a FIFO hang must fail the test)
    and a memory limit (reading a 3 GiB file whole must fail it too)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=90,
        preexec_fn=_small_memory,
    )


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _huge(path: Path) -> None:
    with open(path, "wb") as fh:  # sparse: no disk used, 3 GiB to whoever reads it all
        fh.truncate(3 * 1024**3)


ODD_FILES: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "folder": _folder,
    "dev_zero": _dev_zero,
    "huge": _huge,
}


@pytest.mark.parametrize("odd", sorted(ODD_FILES))
def test_whatever_is_at_the_key_file_an_erasure_goes_through(
    desk: Desk, purpose: Purpose, home: Path, odd: str
) -> None:
    """Before: a FIFO blocked ``erase`` forever (holding the vault's write lock), /dev/zero
    ran out of memory, a folder was "unexpected IsADirectoryError", and the erasure's ledger
    entry, written before the failure, then failed every sign-in the same way."""
    a = enroll(desk, purpose, name="Anna Misspelt", seed=71)
    b = enroll(desk, purpose, name="Bruno Misspelt", seed=72)
    desk.rectify_person(a.person.id, name="Anna Corrected")
    keys = desk.finality.ledger.seals.path
    desk.lock()
    keys.unlink()
    ODD_FILES[odd](keys)

    proc = _cli(home, "erase", a.person.id, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
    # The odd file was moved aside as it was (never written into), a regular one took its place.
    aside = [p for p in home.iterdir() if p.name.startswith(f"{keys.name}.damaged-")]
    assert len(aside) == 1
    assert not os.path.lexists(keys) or keys.is_file()

    proc = _cli(home, "person", "edit", b.person.id, "--name", "Bruno Corrected")
    assert proc.returncode == 0, proc.stderr
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        with pytest.raises(NotFound):
            d.get_person(a.person.id)
        assert d.get_person(b.person.id).name == "Bruno Corrected"
        seals = d.finality.ledger.seals
        assert keys.is_file() and not keys.is_symlink()
        assert seals.holds(b.person.id) and not seals.holds(a.person.id)
        assert d.ledger_problem is None and d.audit_verify().ok
    finally:
        d.lock()


def test_an_odd_key_file_does_not_stop_a_restore_replaying_an_erasure(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """The replay at open shreds the keys of people the ledger erased: with a folder at the
    key file's path a restore (and every sign-in after it) failed with IsADirectoryError."""
    a = enroll(desk, purpose, name="Anna Misspelt", seed=73)
    b = enroll(desk, purpose, name="Bruno Misspelt", seed=74)
    backup = desk.backup(tmp_path / "before.cdbackup")
    desk.rectify_person(b.person.id, name="Bruno Corrected")
    desk.erase(a.person.id)
    keys = desk.finality.ledger.seals.path
    desk.lock()
    keys.unlink()
    keys.mkdir()

    proc = _cli(home, "restore", str(backup), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        with pytest.raises(NotFound):
            d.get_person(a.person.id)  # erasure wins, whatever the key file
        # The correction's key went with the folder: one problem line, the old name stays.
        assert d.get_person(b.person.id).name == "Bruno Misspelt"
        problems = [e for e in d.audit_events() if e.action == "ledger.problem"]
        assert problems and "Bruno" not in str(problems[-1].details)
    finally:
        d.lock()


def test_the_temporary_key_file_is_never_written_through(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """A symlink left at ``<keys>.tmp`` (by anyone who can write the home folder) made the
    next correction write the wrapped keys into the file it pointed to."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"someone else's file\n")
    a = enroll(desk, purpose, name="Anna Misspelt", seed=75)
    keys = desk.finality.ledger.seals.path
    tmp = keys.with_name(keys.name + ".tmp")
    tmp.symlink_to(victim)
    desk.rectify_person(a.person.id, name="Anna Corrected")
    assert victim.read_bytes() == b"someone else's file\n"
    assert keys.is_file() and not keys.is_symlink() and not os.path.lexists(tmp)
    assert desk.finality.ledger.seals.holds(a.person.id)


def test_erased_by_another_session_while_being_corrected(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    """The person is read, then another session erases them, then the correction is written:
    before, an unexpected ``IntegrityError`` (the receipt's foreign key); now the same
    ``NotFound`` as for anyone already erased, and nothing of theirs in the ledger or key file."""
    a = enroll(desk, purpose, name="Anna Misspelt", seed=76)
    other = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    people = desk.rectifications.people
    read_person = people.get

    def read_then_erased_elsewhere(person_id: str) -> Person:
        person = read_person(person_id)
        if not other.locked:
            other.erase(person_id)
            other.lock()
        return person

    people.get = read_then_erased_elsewhere  # type: ignore[method-assign]
    try:
        with pytest.raises(NotFound):
            desk.rectify_person(a.person.id, name="Anna Corrected")
    finally:
        people.get = read_person  # type: ignore[method-assign]
        if not other.locked:
            other.lock()
    assert [e.kind for e in desk.finality.ledger.read().entries] == ["erase"]
    assert not desk.finality.ledger.seals.holds(a.person.id)


def test_an_older_copy_of_the_key_file_put_back_does_not_undo_the_shredding(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """Erasure shreds the person's key; an older copy of the key file put back (a file-level
    backup of the home folder) brought it back, and with it their corrected name, readable
    from the ledger forever. Before: nothing noticed it. Now the next open shreds it again."""
    a = enroll(desk, purpose, name="Anna Misspelt", seed=77)
    b = enroll(desk, purpose, name="Bruno Misspelt", seed=78)
    desk.rectify_person(a.person.id, name="Anna Corrected")
    desk.rectify_person(b.person.id, name="Bruno Corrected")
    seals = desk.finality.ledger.seals
    older = seals.path.read_bytes()
    (sealed_a,) = [
        e.sealed
        for e in desk.finality.ledger.read().entries
        if e.kind == "rectify" and e.person_id == a.person.id
    ]
    desk.erase(a.person.id)
    assert not seals.holds(a.person.id)
    desk.lock()
    seals.path.write_bytes(older)  # put back

    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        again = d.finality.ledger.seals
        assert not again.holds(a.person.id) and again.holds(b.person.id)
        with pytest.raises(Unsealable):
            again.unseal(a.person.id, sealed_a or "")
        assert d.get_person(b.person.id).name == "Bruno Corrected"
        (problem,) = [e for e in d.audit_events() if e.action == "ledger.problem"]
        assert "1 erased people" in problem.details["problems"][0]
        assert "Anna" not in str(problem.details) and d.audit_verify().ok
    finally:
        d.lock()
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())  # once: nothing more to say
    try:
        assert len([e for e in d.audit_events() if e.action == "ledger.problem"]) == 1
    finally:
        d.lock()


def test_three_processes_correcting_three_people_at_once_keep_every_key(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    """Held already (the key file is changed under a file lock, inside the vault's write
    transaction); checked with real processes started together, as the front desks would."""
    people = [enroll(desk, purpose, name=f"Person Misspelt{i}", seed=80 + i) for i in range(3)]
    desk.lock()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "person", "edit", r.person.id, "--name", f"Fixed {i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for i, r in enumerate(people)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        seals = d.finality.ledger.seals
        entries = [e for e in d.finality.ledger.read().entries if e.kind == "rectify"]
        assert len(entries) == 3 and not d.finality.ledger.read().problems
        for entry in entries:
            i = [r.person.id for r in people].index(str(entry.person_id))
            assert seals.unseal(str(entry.person_id), entry.sealed or "") == {"name": f"Fixed {i}"}
    finally:
        d.lock()


def test_a_key_file_that_cannot_be_locked_does_not_stop_a_restore_replaying_an_erasure(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """A folder at the key file's lock name: shredding the erased person's key fails, so the
    restore failed (and so did every sign-in while an erasure waited to be replayed). Now the
    erasure is replayed, the failure is one problem line, and the key is shredded at the
    first open after the lock file is back."""
    a = enroll(desk, purpose, name="Anna Misspelt", seed=85)
    backup = desk.backup(tmp_path / "before.cdbackup")
    desk.rectify_person(a.person.id, name="Anna Corrected")
    seals = desk.finality.ledger.seals
    older = seals.path.read_bytes()  # the key file still holding her key, put back below
    desk.erase(a.person.id)
    desk.lock()
    seals.path.write_bytes(older)
    lock = seals.path.with_name(seals.path.name + ".lock")
    lock.unlink()
    lock.mkdir()

    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        with pytest.raises(NotFound):
            restored.get_person(a.person.id)
        assert any("could not be shredded now" in p for p in restored.replayed.problems)
        assert restored.finality.ledger.seals.holds(a.person.id)  # not yet
    finally:
        restored.lock()
    lock.rmdir()
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        assert not d.finality.ledger.seals.holds(a.person.id)
    finally:
        d.lock()
