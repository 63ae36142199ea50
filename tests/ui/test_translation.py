"""The screen in Chinese: Qt's own dialogs, audit actions, similarity words, the typed
confirmation word (issue 9 point 2, issue 14 point 10)."""

from __future__ import annotations

import re
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

_RAW_NUMBER = re.compile(r"\d\.\d")


def test_qt_dialog_buttons_follow_the_operators_language(qapp: Any) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from ui.i18n import I18n, QtTranslation

    i18n = I18n("en")
    translation = QtTranslation(i18n, qapp)
    standard = QDialogButtonBox.StandardButton
    try:
        box = QDialogButtonBox(standard.Ok | standard.Cancel | standard.Save)
        assert not translation.active
        assert box.button(standard.Cancel).text() == "Cancel"
        i18n.set_language("zh")
        assert translation.active  # PySide6-Essentials ships qtbase_zh_CN.qm
        zh_box = QDialogButtonBox(standard.Ok | standard.Cancel | standard.Save)
        assert zh_box.button(standard.Ok).text() == "确定"
        assert zh_box.button(standard.Cancel).text() == "取消"
        assert "保存" in zh_box.button(standard.Save).text()
        i18n.set_language("en")
        assert not translation.active
        en_box = QDialogButtonBox(standard.Ok | standard.Cancel)
        assert en_box.button(standard.Cancel).text() == "Cancel"
    finally:
        translation.detach()
    assert not translation.active


def test_erasure_word_is_typed_in_the_operators_language(qapp: Any) -> None:
    from ui.dialogs import Prompts, typed_word_matches
    from ui.i18n import I18n

    zh = I18n("zh")
    word = zh.tr("wd.erase.word")
    assert word == "删除"
    body = zh.tr("wd.erase.body", word=word)
    assert "删除" in body and "ERASE" not in body
    dialog = Prompts(zh).typed_confirm_dialog(None, zh.tr("wd.erase.title"), body)
    assert dialog.labelText() == body
    dialog.deleteLater()
    assert typed_word_matches(" 删除 ", word)
    assert not typed_word_matches("ERASE", word)
    assert not typed_word_matches("", "")
    assert typed_word_matches("erase", I18n("en").tr("wd.erase.word"))


def _enroll(qtbot: Any, wizard: Any, name: str) -> Any:
    fill_details(qtbot, wizard, name, reference="R-1")
    read_and_decide(qtbot, wizard, "granted")
    sign_and_continue(qtbot, wizard)
    capture_manually(qtbot, wizard)


def test_chinese_screen_shows_words_not_codes_or_distances(
    qtbot: Any, window: Any, home: Path
) -> None:
    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    _enroll(qtbot, wizard, "Mei Lin")
    review = wizard.review_page
    # Manual capture: the liveness row says what happened in words, not "(operator-attested)".
    shown = "\n".join(label.text() for label in review.findChildren(type(review.checking)))
    assert "operator-attested" not in shown and "not checked by the software" in shown
    first = save_review(qtbot, wizard)

    # The same face again: the duplicate warning names a similarity level, not a distance.
    wizard.done_page.next_button.click()
    _enroll(qtbot, wizard, "M. Lin")
    qtbot.waitUntil(lambda: bool(review.ack_boxes), timeout=20000)
    window.language_button.click()  # to Chinese
    box = review.warnings_box
    warnings = [
        box.itemAt(i).widget().text()
        for i in range(box.count())
        if "Mei Lin" in box.itemAt(i).widget().text()
    ]
    assert warnings and all("相似度" in w for w in warnings), warnings
    assert not any(_RAW_NUMBER.search(w) for w in warnings), warnings
    window.language_button.click()

    # Withdrawal desk: a face match is listed with a similarity level.
    ws.withdrawal._add_result(first.person.id, "Mei Lin", "R-1", distance=0.2)
    item = ws.withdrawal.results.item(ws.withdrawal.results.count() - 1).text()
    assert "very high similarity" in item and "0.2" not in item

    # Registry -> person: audit actions read as words in Chinese.
    window.language_button.click()
    ws.tabs.setCurrentWidget(ws.registry)
    reg = ws.registry
    reg.search.setText("R-1")
    qtbot.waitUntil(lambda: not reg._timer.isActive() and reg.model.total >= 1, timeout=5000)
    reg.table.selectRow(0)
    panel = reg.person
    actions = [panel.audit.item(r, 2).text() for r in range(panel.audit.rowCount())]
    assert "人员记录已创建" in actions and "已同意" in actions, actions
    assert not [a for a in actions if re.fullmatch(r"[a-z_]+\.[a-z_]+", a)], actions
    # Purposes are listed by their Chinese titles on a Chinese desk (not the English ones).
    filters = [reg.purpose.itemText(i) for i in range(reg.purpose.count())]
    assert "大楼入口" in filters and "Building entry" not in filters, filters
    statuses = [reg.model.index(r, 2).data() for r in range(reg.model.rowCount())]
    assert statuses and all("大楼入口" in t and "Building" not in t for t in statuses), statuses
    cells = [
        panel.consents.item(r, c).text()
        for r in range(panel.consents.rowCount())
        for c in range(panel.consents.columnCount())
        if panel.consents.item(r, c) is not None
    ]
    assert "大楼入口 (v1)" in cells, cells
    window.language_button.click()
    assert "Consent given" in [panel.audit.item(r, 2).text() for r in range(panel.audit.rowCount())]
