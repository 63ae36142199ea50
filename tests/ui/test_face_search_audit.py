"""Issue 13, point 4: face searches made on screen are audited like the CLI's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.core.vaultkit import make_signature


def test_withdrawal_desk_face_search_is_audited_and_confirms_one_person(
    qtbot: Any, home: Path, ctx: Any, engine: Any, faces: Path
) -> None:
    from dataclasses import replace

    from app.desk import Desk, EnrollmentRequest, PersonDetails
    from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, unlock
    from ui.app_window import MainWindow

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=replace(cheap_options(), face_engine=engine))
    purpose = desk.list_purposes()[0]
    template = desk.analyse_photo(faces / "obama_1.jpg").single_encoding()
    person = desk.enroll(
        EnrollmentRequest(
            person=PersonDetails("Barack Obama", None, dt.date(1961, 8, 4), "en"),
            purpose_id=purpose.id,
            disclosure_sha256=desk.disclosure(purpose.id, "en").sha256,
            signature=make_signature(1),
            embeddings=[template],
        )
    ).person
    desk.lock()

    win = MainWindow(home, Desk, ctx)
    qtbot.addWidget(win)
    win.show()
    ws = unlock(qtbot, win)
    screen = ws.withdrawal
    ws.tabs.setCurrentWidget(screen)
    ctx.prompts.open_answer = str(faces / "obama_2.jpg")
    screen.identify_with_photo()
    qtbot.waitUntil(lambda: screen.results.count() == 1, timeout=20000)
    assert screen.selected_id == person.id
    searches = [e for e in ws.desk.audit_events() if e.action == "face.search"]
    assert searches and searches[-1].details["source"] == "ui"
    assert searches[-1].details["task"] == "withdrawal"
    assert searches[-1].details["candidates"] == 1 and searches[-1].subject is None
    hits = [e for e in ws.desk.person_audit(person.id) if e.action == "face.search.hit"]
    assert hits and hits[-1].actor == ADMIN
    win.lock()
    win.autolock.disarm()
