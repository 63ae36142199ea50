"""Issue 13, points 1 and 7 on screen: the purpose editor takes both languages and asks
whether a change is material when no field the core calls material changed."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtWidgets import QApplication

SHOTS = os.environ.get("CONSENTDESK_SHOTS")


def test_purpose_editor_bilingual_and_materiality_question(
    qtbot: Any, window: Any, monkeypatch: Any
) -> None:
    import ui.screens.settings as settings_module
    from tests.ui.conftest import unlock

    ws = unlock(qtbot, window)
    settings = ws.settings
    ws.tabs.setCurrentWidget(settings)
    settings.purposes.setCurrentRow(0)
    prompts = window.ctx.prompts

    def contact_only(dialog: Any) -> int:
        dialog.fields["contact"].setText("dpo@harbour.example")
        dialog.fields["recipients_zh"].setPlainText("")
        dialog.save_button.click()
        return dialog.result()

    monkeypatch.setattr(settings_module.PurposeDialog, "exec", contact_only)
    prompts.confirm_answer = False
    asked = len(prompts.confirms)
    settings.edit_purpose()
    assert len(prompts.confirms) == asked + 1  # nothing material changed: the admin decides
    edited = window.desk.list_purposes()[0]
    assert edited.version == 2 and edited.contact == "dpo@harbour.example"

    def recipients_in_both(dialog: Any) -> int:
        dialog.fields["recipients"].setPlainText("Front desk and the landlord")
        dialog.fields["recipients_zh"].setPlainText("前台与业主")
        dialog.save_button.click()
        return dialog.result()

    monkeypatch.setattr(settings_module.PurposeDialog, "exec", recipients_in_both)
    asked = len(prompts.confirms)
    settings.purposes.setCurrentRow(0)
    settings.edit_purpose()
    assert len(prompts.confirms) == asked  # recipients are material: not asked
    latest = window.desk.list_purposes()[0]
    assert latest.version == 3 and latest.recipients_zh == "前台与业主"
    assert "前台与业主" in window.desk.disclosure(latest.id, "zh").text
    assert prompts.errors == []


def test_reconsent_grace_period_is_set_in_settings_within_the_schema(
    qtbot: Any, window: Any
) -> None:
    from tests.ui.conftest import unlock

    ws = unlock(qtbot, window)
    settings = ws.settings
    ws.tabs.setCurrentWidget(settings)
    assert settings.reconsent_grace.value() == 30
    assert (settings.reconsent_grace.minimum(), settings.reconsent_grace.maximum()) == (1, 365)
    settings.reconsent_grace.setValue(14)
    settings.apply_settings()
    assert window.desk.get_setting("reconsent_grace_days") == "14"
    if SHOTS:
        for lang in ("en", "zh"):
            window.ctx.i18n.set_language(lang)
            for size in ((1366, 768), (1920, 1080)):
                window.resize(*size)
                for _ in range(3):
                    QApplication.processEvents()
                window.grab().save(f"{SHOTS}/settings-grace-{lang}-{size[0]}.png")
        window.ctx.i18n.set_language("en")
