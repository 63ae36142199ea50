"""The admin's compliance overview and impact-assessment form (issue 16), device freshness on
screen and on the start screen (issue 17). Real vault, real UI offscreen; the desk's clock is
moved 30 hours ahead so a withdrawal not written to the door's revocation list is overdue.

Set CONSENTDESK_SHOTS=DIR to also save screenshots (1366x768 and 1920x1080, en and zh)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, unlock


@pytest.fixture
def governed_home(home: Path, tmp_path: Path) -> Path:
    """Threshold 2 with 2 people stored (100 %), a request 60 days old, a door holding both and
    one withdrawal not yet written to its revocation list."""
    from app.compliance.service import Compliance
    from app.desk import Desk
    from app.devices.format import generate_device_keys
    from app.devices.registry import Devices
    from tests.core.vaultkit import enroll

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    try:
        desk.set_setting("filing_threshold", 2)
        purpose = desk.list_purposes()[0]
        devices = Devices(desk)
        devices.add("North door", purpose.id, generate_device_keys(tmp_path / "door"), "Lobby")
        purpose = desk.get_purpose(purpose.id)
        people = [enroll(desk, purpose, n, seed=i).person.id for i, n in enumerate("ABC", 1)]
        devices.handoff("North door")
        desk.withdraw(people[0], "asked")
        Compliance(desk).registers.add_request(
            "access",
            identity_check="ID card seen",
            requester="Dana Asker",
            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=60),
        )
    finally:
        desk.lock()
    return home


@pytest.fixture
def later_ctx(ctx: Any) -> Any:
    """The same context, its desks running 30 hours from now."""
    ahead = dataclasses.replace(
        cheap_options(), clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)
    )
    ctx.base_options = ahead
    return ctx


def _window(qtbot: Any, home: Path, ctx: Any) -> Any:
    from app.desk import Desk
    from ui.app_window import MainWindow

    win = MainWindow(home, Desk, ctx)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    return win


def _shots(win: Any, ctx: Any, name: str) -> None:
    folder = os.environ.get("CONSENTDESK_SHOTS")
    if not folder:
        return
    for lang in ("en", "zh"):
        ctx.i18n.set_language(lang)
        for size in ((1366, 768), (1920, 1080)):
            win.resize(*size)
            path = Path(folder) / f"{lang}_{name}_{size[0]}x{size[1]}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            win.grab().save(str(path))
    ctx.i18n.set_language("en")
    win.resize(1366, 768)


def test_start_screen_and_overview_show_what_is_overdue(
    qtbot: Any, governed_home: Path, later_ctx: Any
) -> None:
    win = _window(qtbot, governed_home, later_ctx)
    try:
        ws = unlock(qtbot, win)
        banner = ws.compliance_banner
        qtbot.waitUntil(lambda: banner.isVisible(), timeout=15000)
        text = banner.message.text()
        assert "Requests from people past their statutory deadline: 1." in text
        assert "North door" in text and "24 hours" in text
        assert "filing threshold (2 people) is reached" in text
        _shots(win, later_ctx, "start_banner")

        banner.open_button.click()
        screen = ws.compliance
        assert ws.tabs.currentWidget() is screen
        qtbot.waitUntil(lambda: screen.overview is not None, timeout=15000)
        assert screen.filing_warning.isVisible()
        assert "reached" in screen.filing_warning.text()
        assert screen.filing_warning.property("role") == "error"
        assert screen.filing_bar.value() == screen.filing_bar.maximum() == 2
        assert screen.purposes.item(0, 0).text() == "Building entry"
        # Adding the door made a new purpose version: the signed necessity test is up for review.
        assert screen.purposes.item(0, 3).text() == "Review due"
        assert screen.purposes.item(0, 4).text() == "Missing"  # no impact assessment yet
        assert screen.requests.rowCount() == 1 and screen.requests.item(0, 1).text() == "Access"
        assert screen.devices.item(0, 0).text() == "North door"
        assert screen.devices.item(0, 3).text() == "2"  # two templates of the withdrawn person
        assert screen.devices.item(0, 4).text().startswith("Overdue")
        _shots(win, later_ctx, "compliance_overview")

        later_ctx.i18n.set_language("zh")
        assert "备案门槛" in screen.filing_box.title()
        assert screen.devices.item(0, 4).text().startswith("逾期")
        assert screen.purposes.item(0, 0).text() == "大楼入口"  # the purpose's Chinese title
        assert "超过法定期限的个人请求：1件" in banner.message.text()
        later_ctx.i18n.set_language("en")
    finally:
        win.lock()
        win.autolock.disarm()


def test_impact_assessment_form_issues_a_signed_pdf_and_offers_its_answers_again(
    qtbot: Any, governed_home: Path, later_ctx: Any
) -> None:
    from app.desk import Desk

    win = _window(qtbot, governed_home, later_ctx)
    try:
        ws = unlock(qtbot, win)
        ws.show_compliance()
        screen = ws.compliance
        qtbot.waitUntil(lambda: screen.overview is not None, timeout=15000)
        screen.purposes.selectRow(0)
        screen.assessment_button.click()
        dialog = screen.assessment_dialog
        assert "Building entry" in dialog.windowTitle()
        assert set(dialog.fields) == {
            "risks_to_people",
            "residual_risk",
            "measures_planned",
            "conclusion",
        }
        _shots(dialog, later_ctx, "impact_assessment_form")
        dialog.fields["residual_risk"].setPlainText("Low: templates only, doors revoked daily.")
        dialog.fields["conclusion"].setPlainText("Processing may continue.")
        dialog.save_button.click()
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=30000)
        assert later_ctx.prompts.saved, later_ctx.prompts.errors
        pdf = Path(later_ctx.prompts.saved[-1]).read_bytes()
        assert pdf.startswith(b"%PDF")
        assert isinstance(win.desk, Desk) and win.desk.verify_document(pdf).valid
        qtbot.waitUntil(
            lambda: screen.purposes.item(0, 4).text().startswith("Current"), timeout=15000
        )

        screen.assessment_button.click()  # editing: the last answers come back
        again = screen.assessment_dialog
        assert again is not dialog
        assert again.fields["residual_risk"].toPlainText().startswith("Low: templates only")
        again.reject()
    finally:
        win.lock()
        win.autolock.disarm()


def test_operator_sees_late_devices_but_no_compliance_tab(
    qtbot: Any, governed_home: Path, later_ctx: Any
) -> None:
    from app.desk import Desk

    desk = Desk.unlock(governed_home, ADMIN, PASSWORD, options=cheap_options())
    desk.add_user("olga", "operator password 1", "operator")
    desk.lock()
    win = _window(qtbot, governed_home, later_ctx)
    try:
        ws = unlock(qtbot, win, "olga", "operator password 1")
        assert ws.compliance is None
        qtbot.waitUntil(lambda: ws.compliance_banner.isVisible(), timeout=15000)
        text = ws.compliance_banner.message.text()
        assert "North door" in text and "requests" not in text and "threshold" not in text
        assert not ws.compliance_banner.open_button.isVisible()
    finally:
        win.lock()
        win.autolock.disarm()
