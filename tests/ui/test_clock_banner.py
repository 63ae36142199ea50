"""Issue 10: a clock jump holds automatic purging; the workspace says so, and only an admin
can confirm the date, which purges and is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, unlock

OPERATOR, OPERATOR_PASSWORD = "olga", "operator password 1"


def _clock_seen_a_month_ahead(home: Path) -> None:
    """A session run with the clock 30 days ahead confirmed that date, so the real clock now
    looks 30 days behind the vault's last time seen: purging is held at the next sign-in."""
    from app.desk import Desk

    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    desk = Desk.unlock(home, ADMIN, PASSWORD, options=replace(cheap_options(), clock=lambda: ahead))
    try:
        assert desk.clock_hold is not None
        desk.purge_expired(confirm_clock=True)
        desk.add_user(OPERATOR, OPERATOR_PASSWORD, "operator")
    finally:
        desk.lock()


def test_admin_sees_the_hold_and_confirms_the_date(qtbot: Any, home: Path, window: Any) -> None:
    _clock_seen_a_month_ahead(home)
    ws = unlock(qtbot, window)
    banner = ws.clock_banner
    assert window.desk.clock_hold is not None and window.desk.clock_hold.direction == "backward"
    assert banner.isVisible() and banner.confirm_button.isVisible()
    assert "backwards by 30 days" in banner.message.text()
    banner.confirm_button.click()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=15000)
    assert window.desk.clock_hold is None
    assert window.ctx.prompts.infos[-1].startswith("Date confirmed.")
    actions = [e.action for e in window.desk.audit_events()]
    assert actions.count("clock.confirm") == 2  # the earlier session's and this one


def test_operator_sees_the_hold_without_the_button(qtbot: Any, home: Path, window: Any) -> None:
    _clock_seen_a_month_ahead(home)
    ws = unlock(qtbot, window, OPERATOR, OPERATOR_PASSWORD)
    banner = ws.clock_banner
    assert banner.isVisible() and not banner.confirm_button.isVisible()
    assert "administrator confirms" in banner.message.text()


def test_no_banner_when_the_clock_is_steady(qtbot: Any, window: Any) -> None:
    ws = unlock(qtbot, window)
    assert window.desk.clock_hold is None and not ws.clock_banner.isVisible()
