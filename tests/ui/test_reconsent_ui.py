"""Issue 13, point 1 on screen: the registry lists who must consent again, and the short path
renews a consent with a signature only (no capture), in the person's language."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.core.vaultkit import embedding, make_signature, sign_necessity
from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, sign, unlock

SHOTS = os.environ.get("CONSENTDESK_SHOTS")


def _shoot(widget: Any, name: str) -> None:
    if SHOTS:
        from PySide6.QtWidgets import QApplication

        for size in ((1366, 768), (1920, 1080)):
            widget.resize(*size)
            for _ in range(3):
                QApplication.processEvents()
            widget.grab().save(str(Path(SHOTS) / f"{name}-{size[0]}.png"))


def test_reconsent_short_path_from_the_registry(qtbot: Any, window: Any, home: Path) -> None:
    from app.desk import Desk, EnrollmentRequest, PersonDetails
    from tests.core.pdftools import pdf_text

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    purpose = desk.list_purposes()[0]
    for lang, name, seed in (("en", "Ada Again", 90), ("zh", "李再签", 91)):
        desk.enroll(
            EnrollmentRequest(
                PersonDetails(name, None, None, lang, age_basis="id_document_seen"),  # type: ignore[arg-type]
                purpose.id,
                desk.disclosure(purpose.id, lang).sha256,  # type: ignore[arg-type]
                make_signature(3),
                [embedding(seed)],
            )
        )
    desk.edit_purpose(
        purpose.id, material=True, recipients="Front desk and the landlord",
        recipients_zh="前台与业主",
    )  # fmt: skip
    sign_necessity(desk, desk.get_purpose(purpose.id))
    desk.lock()
    ws = unlock(qtbot, window)
    registry = ws.registry
    ws.tabs.setCurrentWidget(registry)
    registry.status.setCurrentIndex(registry.status.findData("reconsent"))
    qtbot.waitUntil(lambda: registry.model.rowCount() == 2, timeout=5000)
    _shoot(window, "reconsent-registry-en")
    panel = registry.person
    for row, name in ((0, "Ada Again"), (1, "李再签")):
        registry.refresh()  # the renewed person leaves the "re-consent needed" list
        qtbot.waitUntil(lambda r=row: registry.model.rowCount() == 2 - r, timeout=5000)
        registry.open_row(0)
        qtbot.waitUntil(lambda n=name: panel.person is not None and panel.person.name == n)
        assert panel.reconsent_button.isEnabled()
        dialog = panel.open_reconsent()
        assert dialog is not None
        assert ("前台与业主" if row else "Front desk and the landlord") in dialog.text.toPlainText()
        assert "landlord" in dialog.changes.text()  # the change is shown, marked
        dialog.save_button.click()  # unsigned: refused inside the dialog
        assert dialog.isVisible() and dialog.error.isVisible()
        sign(dialog.pad)
        _shoot(dialog, f"reconsent-dialog-{'zh' if row else 'en'}")
        dialog.save_button.click()
        assert not dialog.isVisible()
        assert not panel.reconsent_button.isEnabled()
        qtbot.waitUntil(lambda: panel.document_view.pdf is not None, timeout=10000)
        text = pdf_text(panel.document_view.pdf)
        assert ("第 2 版" in text) if row else ("version 2" in text)
    assert ws.desk.find_people(status="reconsent").total == 0
    assert len(ws.desk.identify_embedding(embedding(90), purpose_id=purpose.id)) == 1
