"""Consent lifecycle in the vault: enroll, refuse, withdraw, erase, retention, backup, migrations,
and what happens when a write is cut short."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.desk import Desk, DeskOptions, EnrollmentRequest, PersonDetails
from app.errors import InvalidInput, NotFound, StorageError
from app.migrations import MIGRATIONS, Migration
from app.paths import VaultPaths
from app.vault import Vault
from tests.core.vaultkit import (
    ADMIN,
    FAST_KDF,
    PASSWORD,
    FakeClock,
    embedding,
    enroll,
    make_signature,
    refuse,
    scan_pdf_bytes,
    sign_necessity,
)

REPO = Path(__file__).resolve().parents[2]


def test_enroll_stores_consent_and_templates(desk: Desk, purpose) -> None:
    result = enroll(desk, purpose)
    assert result.consent.status == "active" and result.consent.decision == "granted"
    assert result.templates_stored == 2 and result.consent.template_count == 2
    assert result.consent.text_sha256 == desk.disclosure(purpose.id, "en").sha256
    assert desk.consent_disclosure_text(result.consent.id) == desk.disclosure(purpose.id, "en").text
    assert result.consent.expires_at is not None
    days = (result.consent.expires_at - result.consent.signed_at).days
    assert days == purpose.retention_days
    page = desk.find_people("canary")
    assert page.total == 1 and page.items[0].status == "active"
    assert desk.find_people("12b").total == 1  # by reference, case-insensitive
    assert desk.find_people(result.person.id).total == 1


def test_refusal_is_recorded_without_any_face(desk: Desk, purpose) -> None:
    result = refuse(desk, purpose)  # in the person's name (they asked)
    assert result.consent is not None and result.person is not None
    assert result.consent.decision == "refused" and result.consent.status == "refused"
    assert result.consent.alternative == purpose.alternative
    assert result.consent.template_count == 0
    assert desk.stats().templates == 0 and desk.stats().refusals == 1
    assert any(e.action == "consent.refuse" for e in desk.person_audit(result.person.id))


def test_changed_disclosure_is_refused(desk: Desk, purpose) -> None:
    shown = desk.disclosure(purpose.id, "en")
    desk.edit_purpose(purpose.id, retention_days=30)
    with pytest.raises(InvalidInput, match="disclosure text changed"):
        desk.enroll(
            EnrollmentRequest(
                person=PersonDetails("A Person"),
                purpose_id=purpose.id,
                disclosure_sha256=shown.sha256,
                signature=make_signature(),
                embeddings=[embedding(3)],
            )
        )
    assert desk.stats().people == 0


def test_purpose_edit_creates_version_and_old_consents_keep_theirs(desk: Desk, purpose) -> None:
    first = enroll(desk, purpose)
    edited = desk.edit_purpose(purpose.id, title="Building entrance and car park")
    assert edited.version == 2 and edited.version_id != purpose.version_id
    assert desk.get_consent(first.consent.id).purpose_version == 1
    assert [p.version for p in desk.purpose_versions(purpose.id)] == [1, 2]


def test_minor_needs_guardian(desk: Desk, purpose) -> None:
    child = dt.date.today() - dt.timedelta(days=365 * 10)
    with pytest.raises(InvalidInput, match="guardian"):
        enroll(desk, purpose, name="Young Person", dob=child)
    assert desk.stats().people == 0
    from app.models import Guardian

    ok = enroll(
        desk,
        purpose,
        name="Young Person",
        dob=child,
        guardian=Guardian("Parent Person", make_signature(7)),
    )
    assert ok.consent.guardian_name == "Parent Person"


def test_empty_signature_is_refused(desk: Desk, purpose) -> None:
    from app.models import Signature

    d = desk.disclosure(purpose.id, "en")
    with pytest.raises(InvalidInput, match="signature"):
        desk.enroll(
            EnrollmentRequest(
                person=PersonDetails("No Ink"),
                purpose_id=purpose.id,
                disclosure_sha256=d.sha256,
                signature=Signature((), 600, 200),
                embeddings=[embedding(1)],
            )
        )


def test_duplicate_and_lookalike_need_acknowledgement(desk: Desk, purpose) -> None:
    enroll(desk, purpose, name="First Person", seed=11)
    with pytest.raises(InvalidInput, match="duplicate"):
        enroll(desk, purpose, name="Same Face", seed=11)
    warned = enroll(desk, purpose, name="Same Face", seed=11, acknowledged_warnings=True)
    assert warned.warnings and warned.warnings[0].kind == "duplicate"
    assert warned.warnings[0].distance < 0.6


def test_withdraw_destroys_templates_at_once(desk: Desk, purpose) -> None:
    r = enroll(desk, purpose)
    assert desk.identify_embedding(embedding(1))
    w = desk.withdraw(r.person.id, "moved out")
    assert w.templates_deleted == 2 and w.consent_ids == (r.consent.id,)
    assert desk.stats().templates == 0
    assert desk.identify_embedding(embedding(1)) == []
    c = desk.get_consent(r.consent.id)
    assert c.status == "withdrawn" and c.withdrawn_by == ADMIN and c.withdraw_reason == "moved out"
    with pytest.raises(InvalidInput, match="no active consent"):
        desk.withdraw(r.person.id, "again")
    # The templates cannot come back for a withdrawn consent, even by direct SQL.
    with pytest.raises(Exception, match="active consent only"):
        desk._conn.execute(
            "INSERT INTO templates (consent_id, person_id, embedding, created_at) VALUES (?,?,?,?)",
            (r.consent.id, r.person.id, embedding(1).tobytes(), "now"),
        )


def test_erase_removes_everything_but_the_pseudonymous_trail(desk: Desk, purpose) -> None:
    r = enroll(desk, purpose)
    e = desk.erase(r.person.id)
    assert e.counts_before["people"] == 1 and e.counts_before["templates"] == 2
    assert all(v == 0 for v in e.counts_after.values())
    with pytest.raises(NotFound):
        desk.get_person(r.person.id)
    assert desk.find_people("canary").total == 0
    assert desk.identify_embedding(embedding(1)) == []
    assert [ev.action for ev in desk.person_audit(r.person.id)][-1] == "person.erase"


def test_retention_purge(home: Path) -> None:
    clock = FakeClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    opts = DeskOptions(kdf=FAST_KDF, clock=clock)
    desk, _ = Desk.initialise(home, "Org", ADMIN, PASSWORD, options=opts)
    short = desk.add_purpose(
        title="Gym", controller="Org", contact="x@y", retention_days=30, alternative="card"
    )
    long = desk.add_purpose(
        title="Office", controller="Org", contact="x@y", retention_days=3000, alternative="card"
    )
    short, long = sign_necessity(desk, short), sign_necessity(desk, long)  # issue-16
    a = enroll(desk, short, name="Short Stay", seed=1)
    b = enroll(desk, long, name="Long Stay", seed=2)
    assert desk.purge_expired().expired_consents == ()
    clock.advance(days=31)
    result = desk.purge_expired()
    assert result.expired_consents == (a.consent.id,) and result.templates_deleted == 2
    assert a.person.id in result.erased_people
    # At most three years after the last interaction, whatever the purpose says.
    assert b.consent.expires_at is not None
    assert (b.consent.expires_at - b.consent.signed_at).days == 1095
    clock.advance(days=1100)
    assert b.person.id in desk.purge_expired().erased_people
    assert desk.stats().people == 0 and desk.audit_verify().ok
    desk.lock()


def test_backup_and_restore_round_trip(
    desk: Desk, purpose, home: Path, tmp_path: Path, options
) -> None:
    r = enroll(desk, purpose)
    backup = desk.backup(tmp_path / "b.cdbackup")
    later = enroll(desk, purpose, name="Enrolled Later", seed=3)
    desk.lock()
    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=options)
    assert restored.get_person(r.person.id).name == "Canary Zebulon"
    with pytest.raises(NotFound):
        restored.get_person(later.person.id)
    assert restored.audit_verify().ok
    restored.lock()
    damaged = tmp_path / "bad.cdbackup"
    damaged.write_bytes(b"PK\x03\x04 not really")
    from app.errors import VaultCorrupt

    with pytest.raises(VaultCorrupt):
        Desk.restore(home, damaged, ADMIN, PASSWORD, options=options)
    Desk.unlock(home, ADMIN, PASSWORD, options=options).lock()


def test_pending_migration_runs_after_a_backup(desk: Desk, purpose, home: Path) -> None:
    enroll(desk, purpose)
    desk.lock()

    def add_column(conn) -> None:
        conn.execute("ALTER TABLE people ADD COLUMN note TEXT")

    extra = (*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "test column", add_column))
    paths = VaultPaths(home)
    from app.keyslots import Keyslots

    slots = Keyslots.load(paths.keyslots)
    key = slots.unlock_user(ADMIN, PASSWORD)
    vault = Vault._open(paths, slots, key, extra)
    cols = [r[1] for r in vault.conn.execute("PRAGMA table_info(people)")]
    assert "note" in cols
    assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == extra[-1].version
    vault.close()
    backups = list(paths.backups.glob("before-migration-*.cdbackup"))
    assert len(backups) == 1


def test_failed_migration_rolls_back(desk: Desk, home: Path) -> None:
    desk.lock()

    def broken(conn) -> None:
        conn.execute("ALTER TABLE people ADD COLUMN half TEXT")
        raise RuntimeError("migration bug")

    extra = (*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "broken", broken))
    paths = VaultPaths(home)
    from app.keyslots import Keyslots

    slots = Keyslots.load(paths.keyslots)
    key = slots.unlock_user(ADMIN, PASSWORD)
    with pytest.raises(RuntimeError):
        Vault._open(paths, slots, key, extra)
    d = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    assert "half" not in [r[1] for r in d._conn.execute("PRAGMA table_info(people)")]
    assert d._conn.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1].version
    d.lock()


_CHILD = textwrap.dedent(
    """
    import sys, resource, signal
    sys.path.insert(0, {repo!r})
    from app.desk import Desk, DeskOptions
    from tests.core.vaultkit import FAST_KDF, enroll
    desk = Desk.unlock({home!r}, "admin", {password!r}, options=DeskOptions(kdf=FAST_KDF))
    purpose = desk.list_purposes()[0]
    mode = sys.argv[1]
    if mode == "fsize":
        import os
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        size = os.path.getsize({home!r} + "/vault.db") + os.path.getsize({home!r} + "/vault.db-wal")
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 2048, size + 2048))
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        try:
            enroll(desk, purpose, name="Crash Person %d" % i, seed=1000 + i, reference="R%d" % i)
        except Exception as exc:
            print(type(exc).__name__ + ": " + str(exc), flush=True)
            break
        print("enrolled", i, flush=True)
        if mode == "fsize" and i > 2000:
            break
    """
)


def _child(home: Path, mode: str) -> subprocess.Popen[str]:
    script = _CHILD.format(repo=str(REPO), home=str(home), password=PASSWORD)
    return subprocess.Popen(
        [sys.executable, "-c", script, mode], stdout=subprocess.PIPE, text=True, cwd=REPO
    )


def _assert_consistent(home: Path) -> int:
    d = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF, auto_purge=False))
    conn = d._conn
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA cipher_integrity_check").fetchall() == []
    half = conn.execute(
        "SELECT count(*) FROM people p WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE "
        "c.person_id = p.id) OR EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id AND "
        "(SELECT count(*) FROM templates t WHERE t.consent_id = c.id) <> 2)"
    ).fetchone()[0]
    assert half == 0, "a half-written person survived"
    assert d.audit_verify().ok
    people = d.stats().people
    d.lock()
    return people


def test_sigkill_mid_write_leaves_a_consistent_vault(desk: Desk, purpose, home: Path) -> None:
    enroll(desk, purpose, name="Committed Before", seed=500)
    desk.lock()
    child = _child(home, "loop")
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    # Let two enrollments commit, then kill in the middle of the third one's work.
    while not child.stdout.readline().startswith("enrolled 2"):
        pass
    time.sleep(0.15)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    people = _assert_consistent(home)
    assert people >= 3  # the committed one plus the child's two (at least)


def test_full_disk_fails_cleanly_and_loses_nothing(desk: Desk, purpose, home: Path) -> None:
    for i in range(3):
        enroll(desk, purpose, name=f"Committed {i}", seed=600 + i)
    desk.lock()
    child = _child(home, "fsize")
    out, _ = child.communicate(timeout=120)
    assert "StorageError" in out and "disk is full" in out, out[-500:]
    assert _assert_consistent(home) >= 3


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=300,
    ).filter(lambda s: s.strip()),
    reference=st.one_of(
        st.none(),
        st.sampled_from(
            ['O\'Brien "B"', "\u202eRTL\u202c", "张伟-301", "x" * 200, "a;DROP TABLE people"]
        ),
    ),
)
def test_names_and_references_round_trip(
    desk: Desk, purpose, name: str, reference: str | None
) -> None:
    """Any name the core accepts comes back exactly; any it refuses (control characters,
    bidi overrides, nothing visible: issue 11) is refused as InvalidInput and stores nothing."""
    from app.validation import clean_name

    try:
        clean_name(name, "name")
    except InvalidInput:
        before = desk.stats().people
        with pytest.raises(InvalidInput):
            enroll(desk, purpose, name=name, reference=reference, acknowledged_warnings=True)
        assert desk.stats().people == before
        return
    r = enroll(
        desk,
        purpose,
        name=name,
        reference=reference,
        seed=len(name) * 7919 + 13,
        acknowledged_warnings=True,
    )
    p = desk.get_person(r.person.id)
    assert p.name == name and p.reference == reference
    desk.erase(r.person.id)


def test_nul_and_overlong_names_are_refused_cleanly(desk: Desk, purpose) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        enroll(desk, purpose, name="bad\x00name")
    with pytest.raises(InvalidInput, match="too long"):
        enroll(desk, purpose, name="x" * 301)
    assert desk.stats().people == 0


def test_full_disk_in_process_raises_storage_error(desk: Desk, purpose) -> None:
    """Same guarantee through the transaction helper: the error is a StorageError, the vault
    stays usable."""
    import sqlcipher3

    from app.db import transaction

    with pytest.raises(StorageError), transaction(desk._conn):
        raise sqlcipher3.OperationalError("database or disk is full")
    enroll(desk, purpose)
    assert desk.stats().people == 1


def test_paper_consent_of_a_minor_needs_the_guardian_name_not_strokes(desk: Desk, purpose) -> None:
    from app.models import Guardian, Signature

    child = dt.date.today() - dt.timedelta(days=365 * 9)
    disclosure = desk.disclosure(purpose.id, "en")

    def request(guardian: Guardian | None) -> EnrollmentRequest:
        return EnrollmentRequest(
            person=PersonDetails("Paper Child", None, child, "en"),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            signature=Signature((), 0, 0),
            embeddings=[embedding(77)],
            guardian=guardian,
            paper_signed_on=dt.date.today(),
            paper_scan=scan_pdf_bytes(),
            paper_scan_name="scan.pdf",
        )

    with pytest.raises(InvalidInput, match="guardian"):
        desk.enroll(request(None))
    r = desk.enroll(request(Guardian("Paper Parent", Signature((), 0, 0))))
    assert r.consent.guardian_name == "Paper Parent" and r.consent.paper_signed_on


def test_rename_organisation_and_retry_after(desk: Desk, home: Path, options) -> None:
    assert desk.rename_organisation("Acme Estates").name == "Acme Estates"
    desk.lock()
    assert Desk.retry_after(home) == 0
    from app.errors import WrongPassword

    for _ in range(3):
        with pytest.raises(WrongPassword):
            Desk.unlock(home, ADMIN, "wrong password!", options=options)
    assert 0 < Desk.retry_after(home) <= 1
    time.sleep(1.05)
    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    assert d.organisation.name == "Acme Estates"
    d.lock()


def test_errors_carry_stable_codes_for_translation(desk: Desk, purpose) -> None:
    with pytest.raises(InvalidInput) as info:
        enroll(desk, purpose, name="x" * 301)
    assert info.value.code == "too_long" and info.value.params == {"field": "name", "limit": 300}
    child = dt.date.today() - dt.timedelta(days=365 * 5)
    with pytest.raises(InvalidInput) as info:
        enroll(desk, purpose, name="Kid", dob=child)
    assert info.value.code == "guardian_required" and info.value.params["age"] == "14"
    with pytest.raises(NotFound) as missing:
        desk.get_person("PNOBODY")
    assert missing.value.code == "person_not_found"


def test_paper_record_of_a_minor_names_the_guardian(desk: Desk, purpose) -> None:
    from app.models import Guardian, Signature
    from tests.core.pdftools import pdf_text

    child = dt.date.today() - dt.timedelta(days=365 * 9)
    disclosure = desk.disclosure(purpose.id, "en")
    r = desk.enroll(
        EnrollmentRequest(
            person=PersonDetails("Paper Kid", None, child, "en"),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            signature=Signature((), 0, 0),
            embeddings=[embedding(78)],
            guardian=Guardian("Hana Guardian", Signature((), 0, 0)),
            paper_signed_on=dt.date.today(),
            paper_scan=scan_pdf_bytes(),
            paper_scan_name="scan.pdf",
        )
    )
    form = next(d for d in r.documents if d.kind == "consent_form")
    text = pdf_text(desk.document_pdf(form.id))
    assert "Hana Guardian" in text


def test_bad_photo_error_keeps_the_engine_code(desk: Desk) -> None:
    with pytest.raises(InvalidInput) as info:
        desk.analyse_photo(b"not an image at all")
    assert info.value.code.startswith("bio_")
