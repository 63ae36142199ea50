"""The daily full check verifies the reference counts of the documents' shared font programs
(``document_parts``, kept by triggers since migration 16) and sets a drifted one right, the way
it sets the statistics' counters right.

Why it matters: a count too low deletes a part while another person's signed form still needs
it (that form can no longer be handed out); a count too high keeps a part after its last
document is erased (a Chinese name has a font subset of its own, so its glyphs would stay).
Each test changes a count with raw SQL on a temporary vault, as a change outside ConsentDesk
would, and runs the real full check.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.doc_parts import LISTINGS_SQL
from app.errors import VaultCorrupt
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, enroll


def _parts_of(desk: Desk, consent_id: str) -> list[str]:
    row = desk._conn.execute(
        "SELECT parts FROM documents WHERE consent_id = ? AND kind = 'consent_form'",
        (consent_id,),
    ).fetchone()
    return [str(p[2]) for p in json.loads(str(row[0]))]


def _refs(desk: Desk) -> dict[str, int]:
    return {
        str(sha): int(refs)
        for sha, refs in desk._conn.execute("SELECT sha256, refs FROM document_parts")
    }


def _repairs(desk: Desk) -> list[dict[str, object]]:
    return [dict(e.details) for e in desk.audit_events() if e.action == "document_parts.repaired"]


def _set_refs(desk: Desk, sha: str, refs: int) -> None:
    with desk.session.write() as conn:  # raw SQL: what a change outside ConsentDesk does
        conn.execute("UPDATE document_parts SET refs = ? WHERE sha256 = ?", (refs, sha))


def test_a_count_too_low_is_found_and_set_right_before_it_loses_a_form(
    desk: Desk, purpose: Purpose
) -> None:
    first = enroll(desk, purpose, name="Canary Zebulon")
    second = enroll(desk, purpose, name="Other Person", seed=9)
    (shared,) = set(_parts_of(desk, first.consent.id)) & set(_parts_of(desk, second.consent.id))
    assert _refs(desk)[shared] == 2
    _set_refs(desk, shared, 1)

    result = desk.full_check()
    assert result.ok and result.parts_off == 1
    assert result.repaired == (f"document part {shared[:12]}: refs 1 -> 2",)
    assert _refs(desk)[shared] == 2
    assert _repairs(desk) == [{"parts": 1, "deleted": 0}]
    assert not desk.writes_locked

    # Set right, erasing the first person keeps the part the second person's form needs.
    desk.erase(first.person.id)
    assert _refs(desk)[shared] == 1
    form = next(d for d in desk.person_documents(second.person.id) if d.kind == "consent_form")
    assert hashlib.sha256(desk.document_pdf(form.id)).hexdigest() == form.sha256

    again = desk.full_check()  # nothing left to repair
    assert again.ok and again.parts_off == 0 and again.repaired == ()
    assert len(_repairs(desk)) == 1


def test_a_count_too_high_is_set_right(desk: Desk, purpose: Purpose) -> None:
    first = enroll(desk, purpose, name="Canary Zebulon")
    enroll(desk, purpose, name="Other Person", seed=9)
    (shared, *_) = _parts_of(desk, first.consent.id)
    _set_refs(desk, shared, 5)
    result = desk.full_check()
    assert result.ok and result.parts_off == 1
    assert result.repaired == (f"document part {shared[:12]}: refs 5 -> 2",)
    assert _refs(desk)[shared] == 2


def test_orphan_parts_are_deleted_as_the_triggers_intend(desk: Desk, purpose: Purpose) -> None:
    """A part no document names goes, whatever its stored count says: the triggers delete a
    part when its last document goes (refs reaching 0)."""
    kept = enroll(desk, purpose, name="Other Person", seed=9)
    zh = enroll(desk, purpose, name="张伟", seed=11, language="zh")
    zh_parts = _parts_of(desk, zh.consent.id)
    only_zh = [sha for sha in zh_parts if sha not in _parts_of(desk, kept.consent.id)]
    name_part = only_zh[-1]
    _set_refs(desk, name_part, 2)  # one too many: erasing leaves it behind
    desk.erase(zh.person.id)
    assert _refs(desk).get(name_part) == 1  # an orphan the triggers no longer see
    zero = "0" * 64
    with desk.session.write() as conn:  # an orphan with the count the triggers act on
        conn.execute(
            "INSERT INTO document_parts (sha256, data, refs) VALUES (?, ?, 0)", (zero, b"x" * 64)
        )

    result = desk.full_check()
    assert result.ok and result.parts_off == 2
    assert set(result.repaired) == {
        f"document part {name_part[:12]}: refs 1 -> 0 (named by no document: deleted)",
        f"document part {zero[:12]}: refs 0 -> 0 (named by no document: deleted)",
    }
    refs = _refs(desk)
    assert name_part not in refs and zero not in refs
    assert _repairs(desk) == [{"parts": 2, "deleted": 2}]
    form = next(d for d in desk.person_documents(kept.person.id) if d.kind == "consent_form")
    assert hashlib.sha256(desk.document_pdf(form.id)).hexdigest() == form.sha256


def test_a_part_named_by_a_document_but_gone_is_damage(desk: Desk, purpose: Purpose) -> None:
    """Not a count to set right: a form that needs it can no longer be read back, so the
    check fails and writes are locked, as for any damage (restore the latest backup)."""
    first = enroll(desk, purpose, name="Canary Zebulon")
    (part, *_) = _parts_of(desk, first.consent.id)
    with desk.session.write() as conn:
        conn.execute("DELETE FROM document_parts WHERE sha256 = ?", (part,))
    result = desk.full_check()
    assert not result.ok
    assert result.problems == ("document_parts: 1 part(s) named by documents are missing",)
    assert desk.writes_locked
    with pytest.raises(VaultCorrupt):
        enroll(desk, purpose, name="Not Written", seed=5)
    assert _repairs(desk) == []


def test_unlock_check_full_lists_what_it_set_right(
    desk: Desk, purpose: Purpose, home: Path
) -> None:
    """The command line says what the check set right (text and ``--json``)."""
    first = enroll(desk, purpose, name="Canary Zebulon")
    (part, *_) = _parts_of(desk, first.consent.id)
    _set_refs(desk, part, 4)
    desk.lock()
    env = {
        **os.environ,
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "unlock-check", "--full", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            timeout=120,
        )

    out = json.loads(cli("--json").stdout)
    assert out["ok"] is True and out["full_check"]["parts_off"] == 1
    assert out["full_check"]["repaired"] == [f"document part {part[:12]}: refs 4 -> 1"]

    again = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    _set_refs(again, part, 3)
    again.lock()
    text = cli()
    assert text.returncode == 0, text.stderr
    assert f"set right: document part {part[:12]}: refs 3 -> 1" in text.stdout


def test_the_count_reads_the_listings_index_not_the_documents(desk: Desk) -> None:
    """Migration 17: the listings come from a covering index, so the daily count does not walk
    every stored document's pages (``parts`` comes after the content in each row)."""
    plan = " ".join(
        str(row[-1]) for row in desk._conn.execute(f"EXPLAIN QUERY PLAN {LISTINGS_SQL}")
    )
    assert "COVERING INDEX documents_parts" in plan, plan
