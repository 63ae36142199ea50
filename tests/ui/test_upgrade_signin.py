"""The first sign-in after an update upgrades an old vault (app/upgrade.py): the sign-in screen
says which step runs and how far it is, and the window keeps answering while it does (the
upgrade runs on the background helper, its progress marshalled to the screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from app.desk import Desk
from app.migrations import LATEST
from tests.core.test_upgrade import STEPS
from tests.core.upgradekit import build_old_vault
from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, unlock


def test_the_sign_in_screen_shows_the_upgrade_and_stays_responsive(
    qtbot: Any, window: Any, home: Path
) -> None:
    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    build_old_vault(desk, desk.list_purposes()[0], copies=20)  # locks the desk

    seen: list[str] = []
    ticks = QTimer()
    ticks.setInterval(10)  # runs only while the GUI thread is free
    ticks.timeout.connect(lambda: seen.append(window.unlock_screen.login_message.text()))
    ticks.start()
    try:
        ws = unlock(qtbot, window)
    finally:
        ticks.stop()
    upgrading = [t for t in seen if t.startswith("Upgrading the vault")]
    assert upgrading, set(seen)
    assert any(f"step 1 of {STEPS}: backup," in t for t in upgrading), set(upgrading)
    assert any("converting the records" in t for t in upgrading), set(upgrading)
    assert len(seen) > 20  # the window went on answering while the upgrade ran
    assert ws.desk._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert window.unlock_screen.login_message.text() == ""  # said nothing once signed in


def test_space_not_given_back_is_told_once_after_sign_in_in_the_operators_language(
    qtbot: Any, window: Any, home: Path, monkeypatch: Any
) -> None:
    import app.compact_file

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    build_old_vault(desk, desk.list_purposes()[0], copies=20)
    monkeypatch.setattr(app.compact_file, "MARGIN_BYTES", 10**15)  # never room for the copy
    window.ctx.i18n.set_language("zh")
    ws = unlock(qtbot, window)
    assert ws.desk._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    infos = window.ctx.prompts.infos
    assert len(infos) == 1 and infos[0].startswith("保管库已升级，但未能释放其磁盘空间"), infos
    assert "MB" in infos[0] and "{" not in infos[0]
