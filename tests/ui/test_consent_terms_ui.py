"""Issue 13 at the desk: the date-of-birth attestation, the person's own photo tick, the
nameless refusal choice and rectification from the person's page (real window, offscreen)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.core.pdftools import pdf_text
from tests.core.vaultkit import embedding, make_signature, sign_necessity
from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, unlock
from tests.ui.helpers import open_wizard, save_review, sign_and_continue

SHOTS = os.environ.get("CONSENT_SHOTS")  # a folder: also save screenshots to look at


def _shoot(widget: Any, name: str) -> None:
    if SHOTS:
        from PySide6.QtWidgets import QApplication

        for size in ((1366, 768), (1920, 1080)):
            widget.resize(*size)
            for _ in range(3):  # let the layouts settle before the grab
                QApplication.processEvents()
            widget.grab().save(str(Path(SHOTS) / f"{name}-{size[0]}.png"))


def test_details_need_a_date_of_birth_or_the_operators_attestation(qtbot: Any, window: Any) -> None:
    ws = unlock(qtbot, window)
    wizard = open_wizard(qtbot, ws)
    details = wizard.pages["details"]
    details.name.setText("No Birthday")
    wizard.next_button.click()
    assert wizard.current == "details"
    assert "date of birth" in wizard.message.text()
    qtbot.keyClicks(details.dob, "1980-02-03")
    assert not details.adult_seen.isEnabled()  # a date decides; no attestation then
    details.dob.clear()
    assert details.adult_seen.isEnabled()
    details.adult_seen.setChecked(True)
    _shoot(window, "details-en")
    window.language_button.click()
    assert details.adult_seen.text().startswith("未填写出生日期")
    _shoot(window, "details-zh")
    wizard.next_button.click()
    assert wizard.current == "disclosure"
    assert wizard.draft.person_details().age_basis == "id_document_seen"


def test_photo_tick_and_nameless_refusal_choice_are_the_persons(
    qtbot: Any, window: Any, home: Path
) -> None:
    from app.desk import Desk

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    purpose = desk.add_purpose(
        title="Visitor badge",
        controller="Harbour View",
        contact="privacy@harbour.example",
        retention_days=30,
        alternative="A paper badge",
        keep_photos=True,
        title_zh="访客证",  # issue-13: the zh pass needs the purpose's Chinese texts
        controller_zh="海港物业",
        alternative_zh="纸质访客证",
    )
    sign_necessity(desk, purpose)
    desk.lock()
    ws = unlock(qtbot, window)
    for lang in ("en", "zh"):
        wizard = open_wizard(qtbot, ws)
        details = wizard.pages["details"]
        details.enter(wizard.draft)
        details.purpose.setCurrentIndex(details.purpose.findText("Visitor badge (v1)"))
        details.name.setText("Photo Person")
        details.adult_seen.setChecked(True)
        details.language.setCurrentIndex(details.language.findData(lang))
        wizard.next_button.click()
        wizard.next_button.click()
        page = wizard.decision_page
        assert page.photo_box.isVisibleTo(page) and not page.photo_box.isChecked()
        # the alternative is offered in the person's language, as in the disclosure
        shown_alt = {"en": "A paper badge", "zh": "纸质访客证"}[lang]
        assert shown_alt in page.alternative.text()
        assert lang == "en" or "A paper badge" not in page.alternative.text()
        page.photo_box.setChecked(True)
        _shoot(window, f"decision-{lang}")
        page.refuse_button.click()  # refusing: no photo consent survives
        assert wizard.draft.photo_consent is False
        assert wizard.draft.to_request(False).alternative == shown_alt
        signature = wizard.pages["signature"]
        assert signature.in_name.isVisibleTo(signature)
        _shoot(window, f"refusal-signature-{lang}")
        if lang == "zh":
            window.language_button.click()  # and the operator's screens in Chinese
        sign_and_continue(qtbot, wizard)
        _shoot(window, f"refusal-review-{lang}")
        done = save_review(qtbot, wizard)
        assert done.person is None
        assert wizard.done_page.message.text() == window.ctx.i18n.tr("done.refusal.nameless")
        _shoot(window, f"refusal-done-{lang}")
        wizard.done_page.next_button.click()


def test_rectification_from_the_persons_page(qtbot: Any, window: Any, home: Path) -> None:
    from app.desk import Desk, EnrollmentRequest, PersonDetails

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    purpose = desk.list_purposes()[0]
    for lang, name in (("en", "Jon Smiht"), ("zh", "王小明")):
        desk.enroll(
            EnrollmentRequest(
                PersonDetails(name, "Unit 9", None, lang, age_basis="id_document_seen"),  # type: ignore[arg-type]
                purpose.id,
                desk.disclosure(purpose.id, lang).sha256,  # type: ignore[arg-type]
                make_signature(3),
                [embedding(80 if lang == "en" else 81)],
            )
        )
    desk.lock()
    ws = unlock(qtbot, window)
    registry = ws.registry
    ws.tabs.setCurrentWidget(registry)
    panel = registry.person
    for query, old, fixed in (("Smiht", "Jon Smiht", "Jon Smith"), ("王小明", "王小明", "王晓明")):
        if old == "王小明":
            window.language_button.click()  # the operator's screens in Chinese too
        registry.search.setText(query)

        def shown(name: str = old) -> bool:
            if registry.model.rowCount() == 1:
                registry.open_row(0)
            return panel.person is not None and panel.person.name == name

        qtbot.waitUntil(shown, timeout=5000)
        dialog = panel.open_rectify()
        assert dialog is not None and dialog.name.text() == old
        dialog.save_button.click()  # nothing changed: refused inside the dialog
        assert dialog.isVisible() and dialog.error.isVisible()
        dialog.name.setText(fixed)
        _shoot(dialog, f"rectify-dialog-{query}")
        dialog.save_button.click()
        assert not dialog.isVisible()
        assert fixed in panel.header.text()
        assert registry.model.rows[0].person.name == fixed  # the list shows it too
        qtbot.waitUntil(lambda: panel.document_view.pdf is not None, timeout=10000)
        text = pdf_text(panel.document_view.pdf)
        assert fixed in text and old in text
        _shoot(window, f"rectified-{query}")


def test_operators_registry_counts_refusals_without_names(
    qtbot: Any, window: Any, home: Path
) -> None:
    from app.desk import Desk, PersonDetails, RefusalRequest

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    purpose = desk.list_purposes()[0]
    for name, in_name in (("Asked For Record", True), ("Took It Home", False)):
        desk.refuse(
            RefusalRequest(
                PersonDetails(name),
                purpose.id,
                desk.disclosure(purpose.id, "en").sha256,
                purpose.alternative,
                make_signature(4),
                in_name=in_name,
            )
        )
    desk.add_user("frontdesk", PASSWORD, "operator")
    desk.lock()
    ws = unlock(qtbot, window, "frontdesk", PASSWORD)
    registry = ws.registry
    ws.tabs.setCurrentWidget(registry)
    registry.status.setCurrentIndex(registry.status.findData("refused"))
    qtbot.waitUntil(lambda: registry.model.refusals_withheld == 2, timeout=5000)
    assert registry.model.rowCount() == 0
    assert "2 refusal(s) recorded" in registry.count.text()
    _shoot(window, "operator-refusals-en")
    window.language_button.click()
    qtbot.waitUntil(lambda: "已记录 2 项拒绝" in registry.count.text(), timeout=5000)
    _shoot(window, "operator-refusals-zh")
