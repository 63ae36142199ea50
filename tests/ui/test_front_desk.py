"""The workstation at a real front desk (issue 14): dialogs that keep what matters."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

CODE = "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ"


class Answers:
    """Scripted yes/no answers that also record each question asked."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, _parent: QWidget, text: str) -> bool:
        self.asked.append(text)
        return self.answers.pop(0)


def _dialog(qtbot: Any, answers: Answers, *, language: str = "en", replaces: bool = False) -> Any:
    from ui.i18n import I18n
    from ui.screens.recovery import RecoveryCodeDialog

    dialog = RecoveryCodeDialog(
        CODE, "Harbour Homes", I18n(language), confirm=answers, replaces=replaces  # type: ignore[arg-type]
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_recovery_code_escape_enter_and_close_ask_before_dismissing(qtbot: Any) -> None:
    answers = Answers(False, False, False, False, True)
    dialog = _dialog(qtbot, answers)
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible(), "Escape dismissed the code without asking"
    dialog.close()  # the window's close button / Alt+F4
    assert dialog.isVisible(), "closing the window dismissed the code without asking"
    QTest.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.isVisible(), "Enter dismissed the code"
    dialog.done_button.click()
    assert dialog.isVisible(), "Done without confirmation dismissed the code"
    # Escape, close, Enter and Done each asked; none of them went ahead on "no".
    assert len(answers.asked) == 4 and "never be shown again" in answers.asked[0]
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert answers.asked[-1] == answers.asked[0]


def test_recovery_code_copy_is_wiped_when_the_dialog_closes(qtbot: Any) -> None:
    dialog = _dialog(qtbot, Answers(True))
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == CODE
    assert "cleared" in dialog.copied_label.text()
    dialog.done_button.click()
    assert not dialog.isVisible()
    assert QGuiApplication.clipboard().text() != CODE


def test_recovery_sheet_explains_itself_and_new_code_says_old_one_stops(qtbot: Any) -> None:
    dialog = _dialog(qtbot, Answers(True), replaces=True)
    sheet = dialog.sheet_text()
    for words in (CODE, "Harbour Homes", "How to use it", "Use recovery code…", "locked away",
                  "stops working"):
        assert words in sheet
    assert dialog.replaced_label.isVisible() and "stops working" in dialog.replaced_label.text()
    assert dialog.code_label.font().pointSize() >= 20
    zh = _dialog(qtbot, Answers(True), language="zh")
    assert "如何使用" in zh.sheet_text() and "使用恢复码…" in zh.sheet_text()
    assert not zh.replaced_label.isVisible()


def test_new_recovery_code_warns_the_old_one_stops_working(qtbot: Any, window: Any) -> None:
    from tests.ui.conftest import unlock

    ws = unlock(qtbot, window)
    prompts = ws.ctx.prompts
    prompts.confirm_answer = True
    ws.settings.new_recovery_code()
    assert prompts.recovery_replaces == [True]
    assert any("stops working" in q for q in prompts.confirms)
