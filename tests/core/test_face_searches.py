"""Issue 13, point 4: face searches see only what their task allows, and each is audited."""

from __future__ import annotations

import pytest

from app.desk import Desk
from app.errors import PermissionDenied
from app.models import Purpose
from tests.core.vaultkit import embedding, enroll, sign_necessity


@pytest.fixture
def gym(desk: Desk) -> Purpose:
    return sign_necessity(
        desk,
        desk.add_purpose(
            title="Gym", controller="Acme", contact="c@x", retention_days=30,
            alternative="Show the membership card",
        ),
    )  # fmt: skip


def test_searches_are_bound_to_the_purpose_and_audited(
    desk: Desk, purpose: Purpose, gym: Purpose
) -> None:
    a = enroll(desk, purpose, "Ann Entrance", seed=1).person.id
    b = enroll(desk, gym, "Ben Gym", seed=2).person.id
    assert [m.person_id for m in desk.identify_embedding(embedding(1), purpose_id=purpose.id)] == [
        a
    ]
    assert desk.identify_embedding(embedding(2), purpose_id=purpose.id) == []
    assert [m.person_id for m in desk.identify_embedding(embedding(2), purpose_id=gym.id)] == [b]
    # The withdrawal desk sees everyone's own templates but returns one, to confirm them.
    found = desk.identify_embedding(embedding(2), task="withdrawal", origin="ui")
    assert [m.person_id for m in found] == [b]
    # Duplicate checks stay inside the enrollment's purpose too.
    assert desk.check_duplicates([embedding(2)], purpose_id=purpose.id) == ()
    assert [w.person_id for w in desk.check_duplicates([embedding(2)], purpose_id=gym.id)] == [b]
    events = [e for e in desk.audit_events() if e.action == "face.search"]
    tasks = [(e.details["task"], e.details["purpose"], e.details["candidates"]) for e in events]
    assert ("identify", purpose.id, 1) in tasks and ("identify", purpose.id, 0) in tasks
    assert ("withdrawal", None, 1) in tasks and ("duplicate_check", gym.id, 1) in tasks
    assert all(e.actor == "admin" and e.subject is None for e in events)
    hits = [e for e in desk.person_audit(b) if e.action == "face.search.hit"]
    assert {h.details["task"] for h in hits} >= {"identify", "withdrawal", "duplicate_check"}
    export = desk.export_person(b)
    assert {f.task for f in export.face_searches} >= {"identify", "withdrawal"}


def test_an_operator_cannot_search_every_purpose(desk: Desk, purpose: Purpose, home) -> None:
    enroll(desk, purpose, seed=1)
    desk.add_user("olga", "operator password 1", "operator")
    desk.lock()
    op = Desk.unlock(home, "olga", "operator password 1", options=desk.options)
    try:
        with pytest.raises(PermissionDenied):
            op.identify_embedding(embedding(1))
        assert len(op.identify_embedding(embedding(1), purpose_id=purpose.id)) == 1
        assert len(op.identify_embedding(embedding(1), task="withdrawal")) == 1
    finally:
        op.lock()
