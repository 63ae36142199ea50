"""Issue 10: restore is authorised first, atomic, and cannot bring a withdrawn or erased person
back (the erasure ledger is replayed before the restored vault opens for work)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.db import open_database
from app.desk import Desk, DeskOptions
from app.errors import NotFound, PermissionDenied, StorageError
from app.keyslots import Keyslots
from app.ledger import ErasureLedger
from app.paths import VaultPaths
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    digest,
    embedding,
    enroll,
    sign_necessity,
)

REPO = Path(__file__).resolve().parents[2]


def digest_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


OPERATOR, OPERATOR_PW = "olga", "operator password 1"


def _opts(**kw: object) -> DeskOptions:
    return DeskOptions(kdf=FAST_KDF, auto_purge=False, **kw)  # type: ignore[arg-type]


def _home_files(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home)): digest(p)
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != "login-state.json"
    }


def _check_unlocks(home: Path) -> Desk:
    """What ``unlock-check`` does: unlock, both integrity checks, the audit chain."""
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert d._conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert d._conn.execute("PRAGMA cipher_integrity_check").fetchall() == []
    assert d.audit_verify().ok
    return d


def test_restore_replays_withdrawals_and_erasures(
    desk: Desk, purpose, home: Path, tmp_path: Path
) -> None:
    p = enroll(desk, purpose, name="Erased Person", seed=1, reference="REF-ERASED-1")
    q = enroll(desk, purpose, name="Withdrawing Person", seed=2, reference="REF-Q")
    keep = enroll(desk, purpose, name="Staying Person", seed=3)
    backup = desk.backup(tmp_path / "before.cdbackup")
    erased = desk.erase(p.person.id)
    receipt = desk.withdraw(q.person.id, "changed my mind").receipt
    assert receipt is not None
    receipt_pdf = desk.document_pdf(receipt.id)
    # The receipt's hash is in the ledger, like a certificate's.
    assert desk.finality.ledger.read().entries[-1].certificate_sha256 == digest_bytes(receipt_pdf)
    late = enroll(desk, purpose, name="Late Person", seed=4)
    desk.erase(late.person.id)  # enrolled and erased after the backup: never in it
    assert erased.certificate_pdf is not None
    desk.lock()

    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        with pytest.raises(NotFound):
            restored.get_person(p.person.id)
        assert restored.find_people("erased person").total == 0
        assert restored.find_people("REF-ERASED-1").total == 0
        assert [m.person_id for m in restored.identify_embedding(embedding(1))] == []
        assert restored.identify_embedding(embedding(2)) == []
        assert [m.person_id for m in restored.identify_embedding(embedding(3))] == [keep.person.id]
        assert {c.status for c in restored.person_consents(q.person.id)} == {"withdrawn"}
        assert (
            restored._conn.execute(
                "SELECT count(*) FROM templates WHERE person_id = ?", (q.person.id,)
            ).fetchone()[0]
            == 0
        )
        replays = [e for e in restored.audit_events() if e.action == "ledger.replay"]
        kinds = {(e.subject, e.details["kind"]) for e in replays}
        assert (p.person.id, "erase") in kinds and (q.person.id, "withdraw") in kinds
        assert (late.person.id, "erase") in kinds
        assert all(e.actor == "ledger" for e in replays)
        assert restored.audit_verify().ok
        check = restored.verify_document(erased.certificate_pdf)
        assert check.valid and check.status == "erasure_certificate"
        assert check.person_id == p.person.id
        # The backup predates the receipt, so the restored vault never stored it; the ledger
        # still knows it: the person's receipt is not "unknown" after the restore.
        check = restored.verify_document(receipt_pdf)
        assert check.valid and check.status == "ledger_record", check
        assert check.person_id == q.person.id
    finally:
        restored.lock()
    # Replaying again changes nothing: the next unlock adds no replay entries.
    again = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert len([e for e in again.audit_events() if e.action == "ledger.replay"]) == len(replays)
    again.lock()


def test_ledger_holds_no_names_and_detects_tampering(desk: Desk, purpose, home: Path) -> None:
    p = enroll(desk, purpose, name="Canary Zebulon", reference="REF-CANARY-77")
    desk.withdraw(p.person.id, "Canary Zebulon says no")
    desk.erase(p.person.id, reason="Canary Zebulon asked")
    ledger = desk.finality.ledger
    text = ledger.path.read_text()
    assert "canary" not in text.lower() and "REF-CANARY" not in text
    assert [e.kind for e in ledger.read().entries] == ["withdraw", "erase"]
    assert ledger.path.stat().st_mode & 0o777 == 0o600
    lines = text.splitlines()
    doc = json.loads(lines[0])
    doc["person"] = "PXXXXXXXXXX"
    ledger.path.write_text(json.dumps(doc) + "\n" + lines[1] + "\n" + '{"torn')
    read = ErasureLedger(home, desk.session.meta("audit_key") or b"").read()
    assert [e.kind for e in read.entries] == ["erase"]
    assert any("line 1" in problem for problem in read.problems)
    assert any("incomplete" in problem for problem in read.problems)
    # The torn tail is cut before the next append; the chain continues from the last entry.
    entry = ledger.append(kind="expire", at=desk.session.now(), actor="retention", person_id=None)
    assert entry.prev == read.entries[-1].mac and entry.seq == read.entries[-1].seq + 1
    assert not ledger.path.read_text().count('{"torn')


def test_operator_restore_is_refused_before_any_file_is_touched(
    desk: Desk, purpose, home: Path, tmp_path: Path
) -> None:
    desk.add_user(OPERATOR, OPERATOR_PW, "operator")
    enroll(desk, purpose)
    backup = desk.backup(tmp_path / "b.cdbackup")
    enroll(desk, purpose, name="After Backup", seed=7)
    desk.lock()
    before = _home_files(home)
    with pytest.raises(PermissionDenied):
        Desk.restore(home, backup, OPERATOR, OPERATOR_PW, options=_opts())
    assert _home_files(home) == before
    assert not list(home.glob(".cdrestore-*"))
    d = _check_unlocks(home)
    assert d.find_people("after backup").total == 1
    d.lock()


def test_admin_of_the_backup_only_cannot_restore_over_a_vault(
    desk: Desk, purpose, home: Path, tmp_path: Path
) -> None:
    """Someone demoted (or removed) since the backup cannot use it to take the vault back."""
    desk.add_user("formeradmin", "former admin pw 1", "admin")
    backup = desk.backup(tmp_path / "b.cdbackup")
    desk.remove_user("formeradmin")
    desk.lock()
    before = _home_files(home)
    with pytest.raises(Exception) as info:
        Desk.restore(home, backup, "formeradmin", "former admin pw 1", options=_opts())
    assert type(info.value).__name__ in ("WrongPassword", "PermissionDenied")
    assert _home_files(home) == before


# ---------------------------------------------------------------------- killed at each step
_KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from app.backoff import LoginBackoff
    from app.paths import VaultPaths
    from app.restore import restore_vault
    die_at = os.environ["CONSENTDESK_TEST_DIE_AT"]  # read by this test child only

    def fault(step):
        if step == die_at:
            os.kill(os.getpid(), signal.SIGKILL)

    paths = VaultPaths(Path({home!r}))
    restore_vault(paths, Path({backup!r}), "admin", {password!r},
                  LoginBackoff(paths.login_state), fault=fault).close()
    print("finished", flush=True)
    """
)
_BEFORE_COMMIT = [
    "authorised",
    "extracted",
    "prepared",
    "verified",
    "journal",
    "aside:vault.db",
    "aside:keyslots.json",
    "placed:vault.db",
    "placed:keyslots.json",
    "opened",
]
_AFTER_COMMIT = ["committed", "cleaned:vault.db", "cleaned:keyslots.json", "finished"]


@pytest.fixture
def restore_case(desk: Desk, purpose, home: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """A backup holding "Old One"; the live vault also holds "After Backup" (so we can tell
    which vault survived) and has a WAL file, as a running workstation would."""
    old = enroll(desk, purpose, name="Old One", seed=11)
    backup = desk.backup(tmp_path / "b.cdbackup")
    later = enroll(desk, purpose, name="After Backup", seed=12)
    desk.lock()
    return backup, old.person.id, later.person.id


@pytest.mark.parametrize("step", _BEFORE_COMMIT + _AFTER_COMMIT)
def test_restore_killed_at_each_step_leaves_the_old_or_the_new_vault(
    restore_case: tuple[Path, str, str], home: Path, step: str
) -> None:
    backup, old_id, later_id = restore_case
    script = _KILL_CHILD.format(
        repo=str(REPO), home=str(home), backup=str(backup), password=PASSWORD
    )
    env = {**os.environ, "CONSENTDESK_TEST_DIE_AT": step}
    child = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert child.returncode in (-signal.SIGKILL, 0), child.stderr[-800:]
    if step != "finished":
        assert child.returncode == -signal.SIGKILL, (step, child.stdout, child.stderr[-800:])
    d = _check_unlocks(home)
    try:
        d.get_person(old_id)
        later_present = d.find_people("after backup").total == 1
        assert later_present == any(p.id == later_id for p in d.similar_names("After Backup"))
        if step in _BEFORE_COMMIT:
            assert later_present, f"killed at {step}: the old vault must be back"
        else:
            assert not later_present, f"killed at {step}: the restore had committed"
    finally:
        d.lock()
    leftovers = [
        p.name for p in home.iterdir() if ".replaced-" in p.name or p.name == "restore-journal.json"
    ]
    assert leftovers == []


# ---------------------------------------------------------------------- full disk
def _mount_tmpfs(where: Path, size_kib: int) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(where)],
        capture_output=True,
    )
    return result.returncode == 0


@pytest.mark.parametrize("spare", [4, 64, 1.0, 1.4])
def test_restore_into_a_nearly_full_filesystem(
    tmp_path: Path, purpose_args: dict[str, object], spare: float
) -> None:
    """``spare``: free space left when restoring, in KiB (int) or in backup sizes (float)."""
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, 6144):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = mnt / "vault"
        desk, _ = Desk.initialise(home, "Org", ADMIN, PASSWORD, options=_opts())
        purpose = sign_necessity(desk, desk.add_purpose(**purpose_args))  # type: ignore[arg-type]
        enroll(desk, purpose, name="Old One", seed=21)
        backup = desk.backup(tmp_path / "b.cdbackup")  # outside the small file system
        enroll(desk, purpose, name="After Backup", seed=22)
        desk.lock()
        before = _home_files(home)
        free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
        want = int(spare * 1024) if isinstance(spare, int) else int(spare * backup.stat().st_size)
        filler = mnt / "filler"
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, free - want))
        outcome = "restored"
        try:
            Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts()).lock()
        except StorageError:
            outcome = "refused"
            assert _home_files(home) == before
        filler.unlink()
        print(f"spare={spare}: {outcome}")
        if spare in (4, 64):
            assert outcome == "refused"
        d = _check_unlocks(home)
        later = d.find_people("after backup").total
        d.lock()
        assert later == (1 if outcome == "refused" else 0)
        assert not list(home.glob("*.replaced-*")) and not list(home.glob(".cdrestore-*"))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def purpose_args() -> dict[str, object]:
    return {
        "title": "Building entrance",
        "controller": "Org",
        "contact": "privacy@org.example",
        "retention_days": 365,
        "alternative": "Access card",
    }


def test_leftovers_of_interrupted_operations_are_removed_at_unlock(
    desk: Desk, purpose, home: Path
) -> None:
    enroll(desk, purpose)
    desk.lock()
    old = 1_000_000_000  # long ago: not an operation still running in another session
    made = []
    for name in (".cdbackup-x1", ".cdrestore-x2"):
        (home / name).mkdir()
        (home / name / "vault.db").write_bytes(b"copy")
        made.append(home / name)
    (home / "backups" / ".cdbackup-x3").mkdir()
    made.append(home / "backups" / ".cdbackup-x3")
    for name in ("vault.db.replaced-20200101T000000Z", "keyslots.json.next"):
        (home / name).write_bytes(b"stale")
        made.append(home / name)
    for path in made:
        os.utime(path, (old, old))
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    d.lock()
    assert [p for p in made if p.exists()] == []


def test_interrupted_old_style_restore_is_rolled_back(desk: Desk, purpose, home: Path) -> None:
    """A restore by an older version killed between its renames left no vault.db at all."""
    enroll(desk, purpose)
    desk.lock()
    for name in ("vault.db", "keyslots.json"):
        os.replace(home / name, home / f"{name}.replaced-20260101T000000000000Z")
    assert Desk.exists(home)
    _check_unlocks(home).lock()


def test_restore_on_another_machine_with_the_ledger(
    desk: Desk, purpose, home: Path, tmp_path: Path
) -> None:
    p = enroll(desk, purpose, name="Erased Person", seed=1)
    backup = desk.backup(tmp_path / "b.cdbackup")
    desk.erase(p.person.id)
    ledger = desk.finality.ledger.path
    desk.lock()
    other = tmp_path / "other-machine"
    other.mkdir(mode=0o700)
    (other / ledger.name).write_bytes(ledger.read_bytes())
    d = Desk.restore(other, backup, ADMIN, PASSWORD, options=_opts())
    assert d.find_people("erased").total == 0
    d.lock()
    key = Keyslots.load(VaultPaths(other).keyslots).unlock_user(ADMIN, PASSWORD)
    open_database(other / "vault.db", key).close()


def test_deleting_or_cutting_the_ledger_is_reported_at_unlock(
    desk: Desk, purpose, home: Path
) -> None:
    """Issue 10: without its ledger a restored older backup would silently keep everyone
    withdrawn or erased since; the vault remembers the last entry it applied, so a deleted,
    emptied or shortened ledger is reported at sign-in and by unlock-check, and audited once."""
    from tests.core.test_cli import run

    q = enroll(desk, purpose, name="Ledger Person", seed=5)
    r = enroll(desk, purpose, name="Other Ledger Person", seed=6)
    desk.withdraw(q.person.id, "no longer")
    desk.erase(r.person.id)
    ledger = desk.finality.ledger.path
    full = ledger.read_bytes()
    assert desk.ledger_problem is None
    desk.lock()
    env = {"CONSENTDESK_USER": ADMIN, "CONSENTDESK_PASSWORD": PASSWORD}
    assert run(home, "unlock-check", env=env).returncode == 0  # intact: no false alarm

    ledger.unlink()
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert d.ledger_problem is not None and "missing" in d.ledger_problem
    reported = [e for e in d.audit_events() if e.action == "ledger.missing"]
    assert len(reported) == 1 and "missing" in reported[0].details["problem"]
    d.lock()
    proc = run(home, "unlock-check", env=env)
    assert proc.returncode == 8 and "missing" in proc.stdout and "Traceback" not in proc.stderr
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert len([e for e in d.audit_events() if e.action == "ledger.missing"]) == 1  # once
    d.lock()

    ledger.write_bytes(full.split(b"\n")[0] + b"\n")  # cut back to its first entry
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert d.ledger_problem is not None and "cut short" in d.ledger_problem
    d.lock()
    proc = run(home, "--json", "unlock-check", env=env)
    assert proc.returncode == 8
    out = json.loads(proc.stdout)
    assert out["ok"] is False and "ends at entry 1" in out["ledger_problem"]

    ledger.write_bytes(b"")  # emptied
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert d.ledger_problem is not None and "ends at entry 0" in d.ledger_problem
    assert len([e for e in d.audit_events() if e.action == "ledger.missing"]) == 3

    # Put back, the ledger matches again: nothing to report.
    d.lock()
    ledger.write_bytes(full)
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    assert d.ledger_problem is None
    # Deleted while a session runs: the next withdrawal would start a new ledger and hide the
    # loss, so the loss is audited in that withdrawal's transaction.
    s = enroll(d, purpose, name="Third Ledger Person", seed=7)
    ledger.unlink()
    d.withdraw(s.person.id, "no longer")
    events = [e.action for e in d.audit_events()]
    last_withdraw = len(events) - 1 - events[::-1].index("consent.withdraw")
    assert "ledger.missing" in events[last_withdraw:]
    assert events.count("ledger.missing") == 4
    assert d.audit_verify().ok
    d.lock()
