"""The status-bar line of the background full integrity check (issue 12) follows the
operator's language: a check running, or failed, when the desk switches to Chinese is then
said in Chinese (it stayed English until the next progress step, or for ever once failed)."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import unlock


def test_integrity_line_follows_the_language_and_a_real_check_passes(
    qtbot: Any, window: Any
) -> None:
    unlock(qtbot, window)
    status = window.integrity_status
    tr = window.ctx.i18n.tr

    status._progress(42, 100)  # the slot the background helper reports progress to
    assert status.label.text() == tr("integrity.running", percent=42)
    assert "42%" in status.label.text()
    window.language_button.click()  # to Chinese
    assert status.label.text() == "正在检查保险库完整性... 42%"

    status._show_failed()
    assert status.label.text() == "完整性检查失败：保险库现为只读。请管理员恢复备份。"
    window.language_button.click()  # back to English
    assert status.label.text() == tr("integrity.failed")
    assert "read-only" in status.label.text()

    # A real full check on the signed-in vault, forced now: it passes and says so.
    assert status.start(window.desk, force=True, delay_ms=0)
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == tr("integrity.passed"), timeout=60000
    )
    assert not window.desk.writes_locked
