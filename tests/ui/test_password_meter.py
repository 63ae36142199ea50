"""Issue 11: new-password fields show the core's strength verdict as one types, in both
languages, and refuse what the core would refuse before anything is sent."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from ui.i18n import I18n
from ui.screens.admin_dialogs import StaffDialog


def test_staff_dialog_meter_follows_typing(qtbot: QtBot) -> None:
    i18n = I18n("en")
    saved: list[tuple[str, str, str]] = []
    dialog = StaffDialog(i18n, lambda u, p, r: saved.append((u, p, r)))
    qtbot.addWidget(dialog)
    meter = dialog.passwords.meter
    dialog.username.setText("frontdesk")
    for weak in ("password", "12345678", "        "):
        dialog.passwords.password.setText(weak)
        dialog.passwords.repeat.setText(weak)
        assert meter.bar.value() <= 1 and "Very weak" in meter.label.text()
        assert dialog.problem() == i18n.tr("pw.too_weak")
    strong = "correct horse battery"
    dialog.passwords.password.setText(strong)
    dialog.passwords.repeat.setText(strong)
    assert meter.bar.value() == 4 and meter.label.text() == i18n.tr("pw.strength.4")
    assert dialog.problem() is None
    i18n.set_language("zh")
    assert meter.label.text() == i18n.tr("pw.strength.4") != "Strong"
    dialog.passwords.password.setText("password")
    assert i18n.tr("pw.too_weak") in meter.label.text()
