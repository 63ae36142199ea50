"""A rectification (GDPR Art. 16) survives the restore of an older backup, like an erasure: the
erasure ledger carries it sealed (no plaintext name outside the vault), every restore re-applies
it, an erasure wins over it and shreds it, and what cannot be read is said in one line."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import NotFound
from app.ledger_seal import Unsealable
from app.models import AuditEvent, Purpose
from tests.core.test_cli import run
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    embedding,
    enroll,
    short_purpose,
)

REPO = Path(__file__).resolve().parents[2]
OLD, NEW = "Zebulon Canarysson", "Zebulon Kanarisson"
OLD_REF, NEW_REF = "REF-OLD-4471", "REF-NEW-4472"
ENV = {"CONSENTDESK_USER": ADMIN, "CONSENTDESK_PASSWORD": PASSWORD}


def _opts(clock: FakeClock | None = None) -> DeskOptions:
    if clock is None:
        return DeskOptions(kdf=FAST_KDF, auto_purge=False)
    return DeskOptions(kdf=FAST_KDF, auto_purge=False, clock=clock)


def _needles(*texts: str) -> list[bytes]:
    out: list[bytes] = []
    for text in texts:
        for part in (text, *text.split()):
            out += [part.encode(), part.lower().encode(), part.encode("utf-16-le")]
    return out


def _plain_outside_vault(home: Path, *texts: str) -> list[str]:
    """Files under ``home`` (the encrypted vault and backups excepted) holding any of ``texts``
    or a word of them, as UTF-8 or UTF-16."""
    hits = []
    for f in home.rglob("*"):
        if not f.is_file() or f.name.startswith("vault.db") or f.suffix == ".cdbackup":
            continue
        data = f.read_bytes()
        hits += [f"{f.name}: {n!r}" for n in _needles(*texts) if n in data]
    return hits


def _replays(desk: Desk, kind: str) -> list[AuditEvent]:
    return [
        e
        for e in desk.audit_events()
        if e.action == "ledger.replay" and e.details.get("kind") == kind
    ]


def test_restore_of_an_older_backup_reapplies_the_correction(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    r = enroll(desk, purpose, name=OLD, seed=41, reference=OLD_REF)
    pid = r.person.id
    other = enroll(desk, purpose, name="Untouched Person", seed=42)
    backup = desk.backup(tmp_path / "before-correction.cdbackup")
    fixed = desk.rectify_person(pid, name=NEW, reference=NEW_REF)
    assert fixed.receipt is not None
    receipt_pdf = desk.document_pdf(fixed.receipt.id)
    (entry,) = [e for e in desk.finality.ledger.read().entries if e.kind == "rectify"]
    assert entry.person_id == pid and entry.sealed and entry.certificate_sha256
    # The ledger and the key file hold no plaintext of the old or the new value.
    assert desk.finality.ledger.seals.path.exists()
    assert desk.finality.ledger.seals.path.stat().st_mode & 0o777 == 0o600
    assert _plain_outside_vault(home, OLD, NEW, OLD_REF, NEW_REF) == []
    assert desk.finality.ledger.seals.unseal(pid, entry.sealed) == {
        "name": NEW,
        "reference": NEW_REF,
    }
    desk.lock()

    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        person = restored.get_person(pid)
        assert (person.name, person.reference) == (NEW, NEW_REF)
        assert restored.find_people("Canarysson").total == 0
        assert restored.find_people("kanarisson").total == 1  # the search key follows
        assert restored.find_people(OLD_REF).total == 0
        assert restored.get_person(other.person.id).name == "Untouched Person"
        assert [m.person_id for m in restored.identify_embedding(embedding(41))] == [pid]
        assert restored.replayed.rectified_people == (pid,)
        assert restored.replayed.erased_people == () and restored.replayed.problems == ()
        (replay,) = _replays(restored, "rectify")
        assert replay.subject == pid and replay.actor == "ledger"
        details = replay.details
        assert details["fields"] == ["name", "reference"]
        assert details["certificate_sha256"] == entry.certificate_sha256
        assert not any(t in json.dumps(details) for t in ("anaris", "anarys", "REF-"))
        assert restored.audit_verify().ok
        # The person's receipt is known although the restored copy never stored it.
        check = restored.verify_document(receipt_pdf)
        assert check.valid and check.status == "ledger_record" and check.person_id == pid
    finally:
        restored.lock()
    # Idempotent: the next open re-applies nothing and audits nothing more.
    again = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        assert again.replayed.rectified_people == ()
        assert len(_replays(again, "rectify")) == 1
        assert again.get_person(pid).name == NEW
    finally:
        again.lock()
    assert _plain_outside_vault(home, OLD, NEW, OLD_REF, NEW_REF) == []


def test_cli_restore_reports_rectifications_next_to_erasures(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    r = enroll(desk, purpose, name=OLD, seed=43, reference=OLD_REF)
    gone = enroll(desk, purpose, name="Erased Later", seed=44)
    backup = desk.backup(tmp_path / "b.cdbackup")
    desk.rectify_person(r.person.id, name=NEW)
    desk.erase(gone.person.id)
    desk.lock()
    proc = run(home, "restore", str(backup), "--json", env=ENV)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["restored"] == str(backup) and out["stats"]["people"] == 1  # keys kept
    assert out["replayed"] == {
        "erased_people": [gone.person.id],
        "withdrawn_consents": [],
        "expired_consents": [],
        "rectified_people": [r.person.id],
        "entries_checked": 2,
        "problems": [],
    }
    proc = run(home, "restore", str(backup), env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "1 erasures" in proc.stdout and "1 rectifications" in proc.stdout
    assert NEW not in proc.stdout + proc.stderr


def test_a_second_session_and_a_cli_process_rectify_into_one_ledger(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    a = enroll(desk, purpose, name=OLD, seed=45, reference=OLD_REF)
    b = enroll(desk, purpose, name="Bob Misspelt", seed=46)
    c = enroll(desk, purpose, name="Cleo Gone", seed=47)
    backup = desk.backup(tmp_path / "b.cdbackup")
    second = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        second.rectify_person(b.person.id, name="Bob Corrected")
        # Another process while both sessions are open.
        proc = run(
            home, "person", "edit", a.person.id, "--name", NEW, "--reference", NEW_REF, env=ENV
        )
        assert proc.returncode == 0, proc.stderr
        desk.erase(c.person.id)  # the first session continues the same chain
        assert desk.get_person(a.person.id).name == NEW  # it reads the other process' commit
        read = second.finality.ledger.read()
        assert [e.kind for e in read.entries] == ["rectify", "rectify", "erase"]
        assert not read.problems
    finally:
        second.lock()
    desk.lock()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        assert restored.get_person(a.person.id).name == NEW
        assert restored.get_person(a.person.id).reference == NEW_REF
        assert restored.get_person(b.person.id).name == "Bob Corrected"
        with pytest.raises(NotFound):
            restored.get_person(c.person.id)
        assert set(restored.replayed.rectified_people) == {a.person.id, b.person.id}
    finally:
        restored.lock()
    assert _plain_outside_vault(home, OLD, NEW, OLD_REF, NEW_REF, "Bob Corrected") == []


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
        if kind == "rectify":
            os.kill(os.getpid(), signal.SIGKILL)
        return entry

    Finality.record = dying
    desk = Desk.unlock(Path({home!r}), ADMIN, PASSWORD,
                       options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
    desk.rectify_person({pid!r}, name={new!r}, reference={new_ref!r})
    """
)


def test_killed_between_the_ledger_write_and_the_commit(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """Like an erasure: the entry reached the ledger, so the correction is applied at the next
    open, and a restore of an older backup gets it too; never lost, never half-applied."""
    r = enroll(desk, purpose, name=OLD, seed=48, reference=OLD_REF)
    pid = r.person.id
    backup = desk.backup(tmp_path / "b.cdbackup")
    desk.lock()
    script = _CHILD.format(repo=str(REPO), home=str(home), pid=pid, new=NEW, new_ref=NEW_REF)
    child = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-800:]
    d = Desk.unlock(home, ADMIN, PASSWORD, options=_opts())
    try:
        assert [e.kind for e in d.finality.ledger.read().entries] == ["rectify"]
        assert d.replayed.rectified_people == (pid,)
        person = d.get_person(pid)
        assert (person.name, person.reference) == (NEW, NEW_REF)
        # The receipt went with the transaction; the replay's audit entry records the change.
        assert [doc.kind for doc in d.person_documents(pid)].count("rectification_receipt") == 0
        assert len(_replays(d, "rectify")) == 1
        assert d.audit_verify().ok
    finally:
        d.lock()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        assert restored.get_person(pid).name == NEW
    finally:
        restored.lock()
    assert _plain_outside_vault(home, OLD, NEW, OLD_REF, NEW_REF) == []


def test_rectify_then_erase_then_restore_stays_erased(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    r = enroll(desk, purpose, name=OLD, seed=49, reference=OLD_REF)
    pid = r.person.id
    backup = desk.backup(tmp_path / "b.cdbackup")
    desk.rectify_person(pid, name=NEW)
    seals = desk.finality.ledger.seals
    (entry,) = [e for e in desk.finality.ledger.read().entries if e.kind == "rectify"]
    assert seals.holds(pid)
    desk.erase(pid)
    # Erasure shreds the key: the sealed correction left in the ledger opens for nobody.
    assert not seals.holds(pid)
    with pytest.raises(Unsealable):
        seals.unseal(pid, entry.sealed or "")
    desk.lock()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        with pytest.raises(NotFound):
            restored.get_person(pid)
        assert restored.find_people("zebulon").total == 0
        assert restored.replayed.erased_people == (pid,)
        assert restored.replayed.rectified_people == ()
        assert restored.replayed.problems == ()  # erasure wins: nothing to report
        assert _replays(restored, "rectify") == []
    finally:
        restored.lock()


def test_a_retention_purge_shreds_the_sealed_correction(tmp_path: Path) -> None:
    clock = FakeClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    home = tmp_path / "v"
    desk, _ = Desk.initialise(home, "Acme", ADMIN, PASSWORD, options=_opts(clock))
    try:
        short = short_purpose(desk)
        r = enroll(desk, short, name=OLD, seed=50)
        keep = enroll(desk, short, name="Kept Person", seed=51)
        desk.rectify_person(r.person.id, name=NEW)
        desk.rectify_person(keep.person.id, name="Kept Corrected")
        desk.set_setting("clock_jump_days", 60)
        clock.advance(days=40)
        result = desk.purge_expired()
        assert {r.person.id, keep.person.id} <= set(result.erased_people)
        seals = desk.finality.ledger.seals
        assert not seals.holds(r.person.id) and not seals.holds(keep.person.id)
    finally:
        desk.lock()


def test_a_tampered_entry_or_lost_key_is_one_line_and_nothing_else_is_lost(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    a = enroll(desk, purpose, name=OLD, seed=52, reference=OLD_REF)
    b = enroll(desk, purpose, name="Bob Misspelt", seed=53)
    gone = enroll(desk, purpose, name="Erased Later", seed=54)
    backup = desk.backup(tmp_path / "b.cdbackup")
    desk.rectify_person(a.person.id, name=NEW)
    desk.rectify_person(b.person.id, name="Bob Corrected")
    desk.erase(gone.person.id)
    ledger = desk.finality.ledger
    keys = ledger.seals.path
    desk.lock()

    original = ledger.path.read_bytes()

    # 1. The sealed value of the first correction changed: its line fails its MAC.
    lines = original.split(b"\n")
    doc = json.loads(lines[0])
    assert doc["kind"] == "rectify"
    doc["sealed"] = (
        doc["sealed"][:8] + ("A" if doc["sealed"][8] != "A" else "B") + doc["sealed"][9:]
    )
    lines[0] = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
    tampered = b"\n".join(lines)
    ledger.path.write_bytes(tampered)
    proc = run(home, "restore", str(backup), "--json", env=ENV)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    replayed = json.loads(proc.stdout)["replayed"]
    assert replayed["problems"] == ["ledger line 1 is damaged or was changed"]
    assert replayed["rectified_people"] == [b.person.id]
    assert replayed["erased_people"] == [gone.person.id]
    assert ledger.path.read_bytes() == tampered  # the evidence is kept as it was
    proc = run(home, "restore", str(backup), env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "Ledger problem: ledger line 1 is damaged or was changed" in proc.stdout

    # 2. The key file is lost: each correction it sealed is one line; the rest still applies.
    ledger.path.write_bytes(original)
    keys.unlink()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        problems = restored.replayed.problems
        assert len(problems) == 2 and all("\n" not in p for p in problems), problems
        assert all("was not re-applied" in p and "the entry is kept" in p for p in problems)
        assert all(p.count(".json") == 1 for p in problems)  # names the missing file
        assert restored.get_person(a.person.id).name == OLD  # cannot be corrected again
        assert restored.get_person(b.person.id).name == "Bob Misspelt"
        with pytest.raises(NotFound):
            restored.get_person(gone.person.id)
        problem_events = [e for e in restored.audit_events() if e.action == "ledger.problem"]
        assert problem_events[-1].details["problems"] == list(problems)
        assert restored.audit_verify().ok
    finally:
        restored.lock()
    assert ledger.path.read_bytes() == original


def test_rekey_then_restore_an_older_backup(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """The seal's key comes from the audit key, which ``rekey`` keeps: a correction made
    before or after a rekey is re-applied to a backup from before it."""
    r = enroll(desk, purpose, name=OLD, seed=55, reference=OLD_REF)
    s = enroll(desk, purpose, name="Second Misspelt", seed=56)
    backup = desk.backup(tmp_path / "old-key.cdbackup")
    old_key = desk._vault.data_key
    desk.rectify_person(r.person.id, name=NEW)
    desk.rekey()
    assert desk._vault.data_key != old_key
    desk.rectify_person(s.person.id, name="Second Corrected")
    desk.lock()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        assert restored.get_person(r.person.id).name == NEW
        assert restored.get_person(s.person.id).name == "Second Corrected"
        assert set(restored.replayed.rectified_people) == {r.person.id, s.person.id}
        assert restored.replayed.problems == ()
    finally:
        restored.lock()


def test_backups_under_home_get_the_correction_at_the_next_sign_in(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path
) -> None:
    """Not rewritten at the correction itself (minutes at 100,000 people), but by the purge of
    the next sign-in; a copy of such a backup then restores corrected even without the ledger.
    A Chinese name, so the no-plaintext check covers UTF-8 and UTF-16 of CJK too."""
    old_zh, new_zh = "张伟明", "张卫民"
    r = enroll(desk, purpose, name=old_zh, seed=57, reference=OLD_REF, language="zh")
    kept = desk.backup(home / "backups" / "kept.cdbackup")
    desk.rectify_person(r.person.id, name=new_zh, reference=NEW_REF)
    assert desk.finality.unsettled()
    assert _plain_outside_vault(home, old_zh, new_zh, OLD_REF, NEW_REF) == []
    desk.lock()
    signed_in = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        assert not signed_in.finality.unsettled()
        assert any(e.action == "backup.reapply" for e in signed_in.audit_events())
    finally:
        signed_in.lock()
    elsewhere = tmp_path / "elsewhere"  # no ledger, no key file: only the backup itself
    restored = Desk.restore(elsewhere, kept, ADMIN, PASSWORD, options=_opts())
    try:
        assert not list(elsewhere.glob("erasure-ledger-*"))
        person = restored.get_person(r.person.id)
        assert (person.name, person.reference) == (new_zh, NEW_REF)
        assert restored.find_people(old_zh).total == 0
        assert [(e.subject, e.details["kind"]) for e in _replays(restored, "rectify")] == [
            (r.person.id, "rectify")
        ]
    finally:
        restored.lock()
