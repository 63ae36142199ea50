"""Issue 12: the face gallery is read by scanning the templates table against a covering index
of matchable consents (never a wide consent row), and finds exactly who it found before."""

from __future__ import annotations

from pathlib import Path

import pytest

import app.rooms.faces as faces_room
from app.desk import Desk, EnrollmentRequest, PersonDetails
from app.models import Purpose
from app.rooms.faces import Faces, Scope
from tests.core.vaultkit import enroll, make_signature, sign_necessity

# The gallery query before issue 12 (a join visiting every active consent row): the reference.
_OLD = (
    "SELECT t.person_id, t.embedding FROM templates t JOIN consents c "
    "ON c.id = t.consent_id JOIN purpose_versions v ON v.id = c.purpose_version_id "
    "WHERE c.status = 'active'"
)


def _old_sql(scope: Scope) -> tuple[str, list[object]]:
    sql = _OLD + ("" if scope == "withdrawal" else " AND c.reconsent_due_at IS NULL")
    if isinstance(scope, int):
        return sql + " AND v.purpose_id = ?", [scope]
    return sql, []


def _rows(desk: Desk, sql: str, args: list[object]) -> list[tuple[str, bytes]]:
    return sorted((str(p), bytes(e)) for p, e in desk._conn.execute(sql, args).fetchall())


def _enroll_photos(desk: Desk, purpose: Purpose, name: str, photos: list[Path]) -> str:
    embeddings = [desk.analyse_photo(p).single_encoding() for p in photos]
    disclosure = desk.disclosure(purpose.id, "en")
    result = desk.enroll(
        EnrollmentRequest(
            person=PersonDetails(name, None, None, "en", age_basis="id_document_seen"),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            signature=make_signature(len(name)),
            embeddings=embeddings,
            acknowledged_warnings=True,
        )
    )
    return result.person.id


def _second_purpose(desk: Desk) -> Purpose:
    added = desk.add_purpose(
        title="Canteen payments",
        controller="Acme Property Management",
        contact="privacy@acme.example",
        retention_days=365,
        alternative="Pay by card",
    )
    return sign_necessity(desk, added, scenario="payment")


def _plan(desk: Desk, sql: str, args: object) -> str:
    return " | ".join(str(r[3]) for r in desk._conn.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_gallery_queries_use_the_covering_index_and_the_template_ids(desk: Desk) -> None:
    for scope in ("all", "withdrawal", 1):
        matchable = _plan(desk, *Faces._matchable_sql(scope))  # type: ignore[arg-type]
        assert "USING COVERING INDEX consents_matchable" in matchable, matchable
        assert "SCAN c" not in matchable, matchable  # never a (wide) consent row
        one_query = _plan(desk, *Faces._scope_sql(scope))  # type: ignore[arg-type]
        assert "SCAN t" in one_query and "COVERING INDEX consents_matchable" in one_query
    chunk = _plan(desk, faces_room._CHUNK_SQL, (0, 10))
    assert "SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in chunk, chunk
    assert "SCAN t" not in chunk, chunk


def _gallery_rows(desk: Desk, scope: Scope) -> list[tuple[str, bytes]]:
    gallery = desk.faces.gallery(scope)
    return sorted(
        (pid, row.astype("<f4").tobytes())
        for pid in gallery.person_ids()
        for row in gallery.templates_of(pid)
    )


def test_identify_finds_the_same_people_as_before(
    desk: Desk, purpose: Purpose, faces: Path
) -> None:
    canteen = _second_purpose(desk)
    obama = _enroll_photos(
        desk, purpose, "Barack Obama", [faces / "obama_1.jpg", faces / "obama_2.jpg"]
    )
    biden = _enroll_photos(desk, canteen, "Joe Biden", [faces / "biden_1.jpg"])
    kit = _enroll_photos(desk, purpose, "Kit Harington", [faces / "kit_harington_1.jpg"])
    rose = _enroll_photos(desk, purpose, "Rose Leslie", [faces / "rose_leslie_1.jpg"])
    desk.withdraw(rose, "changed her mind")  # withdrawn: matches nowhere
    desk.edit_purpose(canteen.id, material=True, retention_days=200)  # Biden: re-consent due

    for scope in ("all", "withdrawal", purpose.id, canteen.id):
        old = _rows(desk, *_old_sql(scope))
        assert _rows(desk, *Faces._scope_sql(scope)) == old, scope
        assert _gallery_rows(desk, scope) == old, scope
    desk.faces.reload()

    def found(photo: str, scope_purpose: int | None, task: str = "identify") -> list[str]:
        result = desk.identify_photo(faces / photo, scope_purpose, task)  # type: ignore[arg-type]
        return [c.person_id for c in result.candidates]

    assert found("obama_3.jpg", purpose.id) == [obama]
    assert found("obama_4.jpg", None) == [obama]
    assert found("kit_harington_2.jpg", purpose.id) == [kit]
    assert found("rose_leslie_2.jpg", purpose.id) == []
    assert found("biden_2.jpg", canteen.id) == []  # waiting for re-consent matches nothing
    assert found("biden_2.jpg", None, "withdrawal") == [biden]  # but can still withdraw
    assert found("obama_3.jpg", canteen.id) == []  # another purpose's people


def test_a_withdrawal_while_the_gallery_is_read_in_chunks_is_never_matched(
    desk: Desk, purpose: Purpose, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read gives the lock back between chunks; a withdrawal in between (here: right after
    the first chunk) makes the read start over, and the withdrawn face is not in the gallery."""
    people = [enroll(desk, purpose, name=f"Chunked Person {i}", seed=i + 1) for i in range(4)]
    gone = people[0].person.id
    monkeypatch.setattr(faces_room, "GALLERY_CHUNK", 2)
    real = faces_room.fetch_columns
    chunks: list[int] = []

    def fetch_columns(conn, sql, args=()):  # type: ignore[no-untyped-def]
        columns = real(conn, sql, args)
        if sql == faces_room._CHUNK_SQL:
            chunks.append(int(columns["n"][0]))
            if len(chunks) == 1:
                desk.withdraw(gone, "changed my mind")  # between two chunks of the read
        return columns

    monkeypatch.setattr(faces_room, "fetch_columns", fetch_columns)
    desk.faces.reload()
    gallery = desk.faces.gallery("all")
    assert gone not in gallery
    assert set(gallery.person_ids()) == {p.person.id for p in people[1:]}
    assert len(gallery) == 6
    assert len(chunks) > 4  # the first read was abandoned and the gallery read again


def test_identify_with_photos_reads_the_gallery_once_alongside_the_analysis(
    desk: Desk, purpose: Purpose, faces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``identify`` starts the gallery read on its loader thread while the first photos are
    analysed (at 100,000 people a read of 1-2 s) and the match waits for that read: one read,
    not a second one started by the first match."""
    import threading

    obama = _enroll_photos(desk, purpose, "Barack Obama", [faces / "obama_1.jpg"])
    real = Faces._read_gallery
    readers: list[str] = []

    def read(self: Faces, scope: Scope, generation: int) -> object:
        readers.append(threading.current_thread().name)
        return real(self, scope, generation)

    monkeypatch.setattr(Faces, "_read_gallery", read)
    desk.faces.reload()
    results = list(desk.faces.identify_photos([faces / "obama_3.jpg", faces / "biden_1.jpg"]))
    assert [r.decision for r in results] == ["match", "no_match"]
    assert [c.person_id for c in results[0].candidates] == [obama]
    assert len(readers) == 1 and readers[0].startswith("photo-load"), readers
