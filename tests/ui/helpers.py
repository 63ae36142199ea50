"""Steps shared by the flow tests: walk the enrollment wizard like an operator would."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import sign


def open_wizard(qtbot: Any, ws: Any) -> Any:
    ws.tabs.setCurrentWidget(ws.wizard)
    wizard = ws.wizard
    wizard.start_button.click()
    assert wizard.current == "details"
    return wizard


def fill_details(
    qtbot: Any, wizard: Any, name: str, language: str = "en", reference: str = ""
) -> None:
    page = wizard.pages["details"]
    page.name.setText(name)
    page.reference.setText(reference)
    page.language.setCurrentIndex(page.language.findData(language))
    if not page.dob.text().strip():  # issue-13: no date of birth, so the operator attests
        page.adult_seen.setChecked(True)
    wizard.next_button.click()
    assert wizard.current == "disclosure", wizard.message.text()


def read_and_decide(qtbot: Any, wizard: Any, decision: str, photo: bool = False) -> None:
    assert wizard.pages["disclosure"].text.toPlainText()
    wizard.next_button.click()
    assert wizard.current == "decision"
    page = wizard.decision_page
    # Equal visual weight: same size, same style, neither pre-selected or default.
    assert page.consent_button.size() == page.refuse_button.size()
    assert page.consent_button.styleSheet() == page.refuse_button.styleSheet()
    assert not page.consent_button.isDefault() and not page.refuse_button.isDefault()
    if photo:  # the person's own tick, before capture (issue 13)
        assert page.photo_box.isVisibleTo(page) and not page.photo_box.isChecked()
        page.photo_box.setChecked(True)
    (page.consent_button if decision == "granted" else page.refuse_button).click()
    assert wizard.current == "signature"


def sign_and_continue(qtbot: Any, wizard: Any) -> None:
    page = wizard.pages["signature"]
    qtbot.waitExposed(page.pad)
    sign(page.pad)
    wizard.next_button.click()
    assert not wizard.message.text(), wizard.message.text()


SKIP_REASON = "The camera cannot see a blink under the desk lamp."


def capture_manually(qtbot: Any, wizard: Any) -> None:
    """Wait for a frame with one face, then use the operator's manual capture."""
    page = wizard.capture_page
    assert wizard.current == "capture"
    qtbot.waitUntil(lambda: page.manual_button.isEnabled(), timeout=20000)
    page.ctx.prompts.text_answers.append(SKIP_REASON)
    page.manual_button.click()
    qtbot.waitUntil(lambda: wizard.current == "review", timeout=20000)


def save_review(qtbot: Any, wizard: Any, acknowledge: bool = True) -> Any:
    review = wizard.review_page
    qtbot.waitUntil(lambda: review.save_button.isEnabled() or bool(review.ack_boxes), timeout=20000)
    if acknowledge:
        for box in review.ack_boxes:
            box.setChecked(True)
    review.save_button.click()
    qtbot.waitUntil(lambda: wizard.current == "done", timeout=20000)
    return wizard.done_page.result
