"""Issue 12: signing in never waits for the face models. The registry shows its first page while
the engine is still loading; the models then load in the background, and a capture page opened
before they are ready waits for them and works."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.ui.conftest import unlock
from tests.ui.helpers import (
    capture_manually,
    fill_details,
    open_wizard,
    read_and_decide,
    save_review,
    sign_and_continue,
)


def test_registry_shows_before_the_face_engine_and_capture_waits_for_it(
    qtbot: Any, window: Any, engine: Any, tmp_path: Path
) -> None:
    ctx = window.ctx
    release = threading.Event()
    asked = threading.Event()

    def slow_models() -> Any:
        """The real shared engine, handed over only when the test says the models loaded."""
        asked.set()
        assert release.wait(60)
        return engine

    ctx.engine_factory = slow_models
    try:
        ws = unlock(qtbot, window)
        assert ctx._engine is None  # signed in without the models
        ws.tabs.setCurrentWidget(ws.registry)
        qtbot.waitUntil(lambda: ws.registry.model.total >= 0 and ws.registry.isVisible())
        assert ws.registry.count.text()  # the first page (empty vault: "0 of 0") is shown
        qtbot.waitUntil(asked.is_set, timeout=10000)  # then the models are asked for...
        assert ctx._engine is None  # ...and are still loading

        # A capture page opened now waits for the engine, then works as before.
        wizard = open_wizard(qtbot, ws)
        fill_details(qtbot, wizard, "Early Bird")
        read_and_decide(qtbot, wizard, "granted")
        sign_and_continue(qtbot, wizard)
        assert wizard.current == "capture"
        assert not wizard.capture_page.manual_button.isEnabled()
        release.set()
        capture_manually(qtbot, wizard)
        assert ctx._engine is engine
        result = save_review(qtbot, wizard)
        assert result.templates_stored >= 1
        # The gallery followed the models in the background, and holds the new person.
        faces = ws.desk.faces
        qtbot.waitUntil(lambda: "all" in faces._galleries, timeout=10000)
        assert result.person.id in faces.gallery("all")
    finally:
        release.set()
