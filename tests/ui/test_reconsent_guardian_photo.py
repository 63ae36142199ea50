"""Issue 13, re-consent on screen: a minor renews with a guardian in the dialog (not only a
refusal), a kept photo is asked about again (kept only when ticked), and the "not signed yet"
line goes once everything is signed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from tests.core.vaultkit import embedding, make_signature, sign_necessity
from tests.ui.conftest import ADMIN, PASSWORD, cheap_options, sign, unlock

SHOTS = os.environ.get("CONSENTDESK_SHOTS")


def test_a_minor_with_a_kept_photo_renews_in_the_dialog(
    qtbot: Any, window: Any, home: Path, faces: Path
) -> None:
    from app.desk import Desk, EnrollmentRequest, PersonDetails
    from app.models import Guardian

    desk = Desk.unlock(home, ADMIN, PASSWORD, options=cheap_options())
    base = desk.list_purposes()[0]
    purpose = sign_necessity(desk, desk.edit_purpose(base.id, material=True, keep_photos=True))
    born = desk.session.now().date() - dt.timedelta(days=365 * 10)
    desk.enroll(
        EnrollmentRequest(
            PersonDetails("Young Kept", None, born, "en"),
            purpose.id,
            desk.disclosure(purpose.id, "en").sha256,
            make_signature(3),
            [embedding(77)],
            guardian=Guardian("Parent Kept", make_signature(4)),
            photo_jpeg=(faces / "biden_1.jpg").read_bytes(),
            photo_consent=True,
        )
    )
    sign_necessity(desk, desk.edit_purpose(purpose.id, material=True, retention_days=200))
    desk.lock()
    ws = unlock(qtbot, window)
    registry = ws.registry
    ws.tabs.setCurrentWidget(registry)
    registry.status.setCurrentIndex(registry.status.findData("reconsent"))
    qtbot.waitUntil(lambda: registry.model.rowCount() == 1, timeout=5000)
    registry.open_row(0)
    panel = registry.person
    qtbot.waitUntil(lambda: panel.person is not None and panel.person.name == "Young Kept")
    dialog = panel.open_reconsent()
    assert dialog is not None
    assert dialog.needs_guardian and dialog.asks_photo
    # both pads, the text and the buttons fit a 1366x768 desk (768 less panel and title bar)
    assert dialog.minimumSizeHint().height() <= 768 - 40
    room = dialog.screen().availableGeometry().height() - 40
    assert dialog.height() <= max(room, dialog.minimumSizeHint().height())
    assert not dialog.photo_box.isChecked()  # never ticked for the person
    dialog.save_button.click()
    assert dialog.isVisible() and dialog.error.isVisible()
    sign(dialog.pad)
    assert dialog.error.isVisible()  # the guardian has not signed yet
    dialog.guardian_name.setText("Parent Kept")
    sign(dialog.guardian_pad)
    assert not dialog.error.isVisible()  # issue-13 point: cleared once everything is signed
    dialog.photo_box.setChecked(True)
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "reconsent-guardian-photo.png"))
    dialog.save_button.click()
    assert not dialog.isVisible()
    (renewed,) = [c for c in ws.desk.person_consents(panel.person.id) if c.status == "active"]
    assert renewed.guardian_name == "Parent Kept"
    assert renewed.photo_count == 1 and renewed.photo_consent is True
