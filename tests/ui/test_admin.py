"""First start (init + recovery code), settings and maintenance, registry and operator roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog

from tests.ui.conftest import PASSWORD, cheap_options, unlock


def test_first_start_creates_vault_and_shows_recovery_code_once(
    qtbot: Any, ctx: Any, tmp_path: Path
) -> None:
    from app.desk import Desk
    from ui.app_window import MainWindow

    win = MainWindow(tmp_path / "fresh", Desk, ctx)
    qtbot.addWidget(win)
    win.show()
    screen = win.unlock_screen
    assert screen.stack.currentIndex() == 1  # the init form, not the sign-in form
    screen.org.setText("Lakeside HR")
    screen.admin.setText("hradmin")
    screen.init_pw.setText(PASSWORD)
    screen.init_pw2.setText(PASSWORD + "x")
    screen.init_button.click()
    assert "differ" in screen.init_message.text()
    screen.init_pw2.setText(PASSWORD)
    screen.init_button.click()
    qtbot.waitUntil(lambda: win.workspace is not None, timeout=15000)
    assert len(ctx.prompts.recovery_codes) == 1
    assert win.desk.organisation.name == "Lakeside HR"
    assert win.desk.user.role == "admin"
    win.lock()
    assert screen.stack.currentIndex() == 0  # from now on: sign in


def test_settings_apply_purpose_and_maintenance(qtbot: Any, window: Any, monkeypatch: Any,
                                               tmp_path: Path) -> None:
    from ui.screens import settings as settings_module

    ws = unlock(qtbot, window)
    settings = ws.settings
    ws.tabs.setCurrentWidget(settings)
    settings.autolock.setValue(7)
    settings.match.setValue(0.55)
    settings.apply_settings()
    assert window.desk.get_setting("autolock_minutes") == "7"
    assert float(window.desk.get_setting("match_threshold")) == 0.55

    def fake_exec(dialog: Any) -> int:
        dialog.fields["title"].setText("Staff canteen")
        dialog.fields["controller"].setText("Harbour View Residences")
        dialog.fields["contact"].setText("privacy@harbour.example")
        dialog.fields["alternative"].setText("Pay at the till")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(settings_module.PurposeDialog, "exec", fake_exec)
    settings.add_purpose()
    assert [p.title for p in window.desk.list_purposes()] == ["Building entry", "Staff canteen"]
    assert settings.purposes.count() == 2
    assert window.ctx.prompts.errors == []

    settings.verify()
    qtbot.waitUntil(lambda: "intact" in settings.maintenance_message.text(), timeout=10000)
    settings.purge()
    qtbot.waitUntil(lambda: "expired" in settings.maintenance_message.text(), timeout=10000)
    settings.backup()
    qtbot.waitUntil(lambda: settings.maintenance_message.text() == "Backup written.",
                    timeout=20000)
    assert Path(window.ctx.prompts.saved[-1]).exists()


def test_operator_has_no_settings_and_cannot_erase(qtbot: Any, window: Any, home: Path) -> None:
    from app.desk import Desk

    desk = Desk.unlock(home, "admin", PASSWORD, options=cheap_options())
    desk.add_user("frontdesk", PASSWORD, "operator")
    desk.lock()
    ws = unlock(qtbot, window, "frontdesk", PASSWORD)
    assert ws.settings is None
    assert ws.tabs.count() == 3
    assert not ws.withdrawal.erase_button.isVisibleTo(ws.withdrawal)
