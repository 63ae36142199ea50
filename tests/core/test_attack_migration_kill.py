"""Attack on the storage migrations (issue 12): a vault laid out as the code before compact
storage left it, its migration killed mid-transaction, must still open (old layout rolled back,
migrated again), with the pre-migration backup really made and every document byte-exact."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.migrations import LATEST
from tests.core.test_compact_storage import _BEFORE_COMPACT, _to_old_layout
from tests.core.vaultkit import ADMIN, PASSWORD, enroll

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    import app.stored
    from app.desk import Desk, DeskOptions
    from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD

    import app.vault
    where = {where!r}
    real = app.stored.convert_compact
    real_copy = app.vault.backup_copy

    def dying(conn, *rest):  # the data converted, the migration's transaction not committed
        real(conn, *rest)
        os.kill(os.getpid(), signal.SIGKILL)

    def dying_copy(*args, **kw):  # the backup before the migration half made
        real_copy(*args, **kw)
        os.kill(os.getpid(), signal.SIGKILL)

    if where == "migration":
        app.stored.convert_compact = dying
    else:
        app.vault.backup_copy = dying_copy
    Desk.unlock(Path({home!r}), ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    """
)


@pytest.mark.parametrize("where", ["backup", "migration"])
def test_a_migration_killed_mid_transaction_leaves_a_vault_that_opens_byte_exact(
    desk: Desk, purpose, home: Path, options: DeskOptions, where: str
) -> None:
    people = [
        enroll(desk, purpose, name="Canary Zebulon"),
        enroll(desk, purpose, name="张伟", seed=2, language="zh"),
    ]
    forms = {
        d.id: hashlib.sha256(desk.document_pdf(d.id)).hexdigest()
        for r in people
        for d in desk.person_documents(r.person.id)
    }
    _to_old_layout(desk)
    with desk.session.write() as conn:  # migration 15's index did not exist then either
        conn.execute("DROP INDEX consents_matchable")
        conn.execute(f"PRAGMA user_version = {_BEFORE_COMPACT}")
    desk.lock()

    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), home=str(home), where=where)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-800:]
    made = sorted((home / "backups").glob("before-migration-*.cdbackup"))
    assert len(made) == (1 if where == "migration" else 0), "the backup comes first"

    again = Desk.unlock(home, ADMIN, PASSWORD, options=options)
    try:
        assert again._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        for doc_id, sha in forms.items():
            assert hashlib.sha256(again.document_pdf(doc_id)).hexdigest() == sha
    finally:
        again.lock()
    made = sorted((home / "backups").glob("before-migration-*.cdbackup"))
    assert len(made) >= 1
    # the killed backup's half-made copy (it holds everyone) went at that sign-in
    assert not [p.name for p in (home / "backups").iterdir() if p.name.startswith(".cdbackup-")]
    # The backup made before the killed migration holds the old layout: it restores and
    # migrates to the same documents.
    restored = Desk.restore(home, made[0], ADMIN, PASSWORD, options=options)
    try:
        assert restored._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        for doc_id, sha in forms.items():
            assert hashlib.sha256(restored.document_pdf(doc_id)).hexdigest() == sha
    finally:
        restored.lock()


def test_an_erasure_reaches_the_before_migration_backup_of_an_old_layout(
    desk: Desk, purpose, home: Path, options: DeskOptions, tmp_path: Path
) -> None:
    """The backup made before the storage migrations holds the old layout (inline texts, raw
    documents, no counters of parts): an erasure must still reach it, and a restore of it
    must give the others' documents byte-exact."""
    import zipfile

    from tests.core.vaultkit import decrypt_database

    gone = enroll(desk, purpose, name="Canary Zebulon", reference="REF-GONE-1")
    stays = enroll(desk, purpose, name="张伟", seed=2, language="zh")
    forms = {
        d.id: hashlib.sha256(desk.document_pdf(d.id)).hexdigest()
        for d in desk.person_documents(stays.person.id)
    }
    _to_old_layout(desk)
    with desk.session.write() as conn:
        conn.execute("DROP INDEX consents_matchable")
        conn.execute(f"PRAGMA user_version = {_BEFORE_COMPACT}")
    key = bytes(desk._vault.data_key)
    desk.lock()
    d = Desk.unlock(home, ADMIN, PASSWORD, options=options)  # migrates, backup first
    made = sorted((home / "backups").glob("before-migration-*.cdbackup"))
    assert len(made) == 1
    d.erase(gone.person.id)
    d.lock()
    with zipfile.ZipFile(made[0]) as zf:
        (tmp_path / "b.db").write_bytes(zf.read("vault.db"))
    plain = decrypt_database(tmp_path / "b.db", key).lower()
    assert b"canary zebulon" not in plain and b"ref-gone-1" not in plain
    restored = Desk.restore(home, made[0], ADMIN, PASSWORD, options=options)
    try:
        assert restored.find_people("canary").total == 0
        for doc_id, sha in forms.items():
            assert hashlib.sha256(restored.document_pdf(doc_id)).hexdigest() == sha
        from app import counts

        with restored.session.write() as conn:
            assert counts.recount(conn) == {}
    finally:
        restored.lock()
