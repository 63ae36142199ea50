"""First start (init + recovery code), settings and maintenance, registry and operator roles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog

from tests.ui.conftest import PASSWORD, cheap_options, unlock


def test_first_start_creates_vault_and_shows_recovery_code_once(
    qtbot: Any, ctx: Any, tmp_path: Path
) -> None:
    from app.desk import Desk
    from ui.app_window import MainWindow

    win = MainWindow(tmp_path / "fresh", Desk, ctx)
    qtbot.addWidget(win)
    win.show()
    screen = win.unlock_screen
    assert screen.stack.currentIndex() == 1  # the init form, not the sign-in form
    screen.org.setText("Lakeside HR")
    screen.admin.setText("hradmin")
    screen.init_pw.setText(PASSWORD)
    screen.init_pw2.setText(PASSWORD + "x")
    screen.init_button.click()
    assert "differ" in screen.init_message.text()
    screen.init_pw2.setText(PASSWORD)
    screen.init_button.click()
    qtbot.waitUntil(lambda: win.workspace is not None, timeout=15000)
    assert len(ctx.prompts.recovery_codes) == 1
    assert win.desk.organisation.name == "Lakeside HR"
    assert win.desk.user.role == "admin"
    win.lock()
    assert screen.stack.currentIndex() == 0  # from now on: sign in

    # Every password lost: the recovery code opens the vault as the first admin.
    ctx.prompts.text_answer = ctx.prompts.recovery_codes[0]
    screen.recovery_button.click()
    qtbot.waitUntil(lambda: win.workspace is not None, timeout=15000)
    assert win.desk.user.username == "hradmin"
    assert any("recovery code" in text for text in ctx.prompts.infos)
    win.lock()


def test_settings_apply_purpose_and_maintenance(
    qtbot: Any, window: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    from ui.screens import settings as settings_module

    ws = unlock(qtbot, window)
    settings = ws.settings
    ws.tabs.setCurrentWidget(settings)
    # The widgets' ranges are the core's schema: no zero autolock, no erasing inactivity limit,
    # no guardian age below the jurisdiction's floor (14 in China, the default).
    ranges = {s.name: (s.minimum, s.maximum) for s in window.desk.settings_schema()}
    assert (settings.autolock.minimum(), settings.autolock.maximum()) == ranges["autolock_minutes"]
    assert settings.inactivity.minimum() == ranges["max_inactivity_days"][0] == 30
    assert settings.guardian_age.minimum() == ranges["guardian_age"][0] == 14
    assert settings.match.maximum() == ranges["match_threshold"][1]
    settings.inactivity.setValue(0)  # clamped by the widget, refused by the core anyway
    assert settings.inactivity.value() == 30
    settings.inactivity.setValue(1095)
    settings.autolock.setValue(7)
    settings.match.setValue(0.55)
    settings.apply_settings()
    assert window.desk.get_setting("autolock_minutes") == "7"
    assert float(window.desk.get_setting("match_threshold")) == 0.55

    def fake_exec(dialog: Any) -> int:
        dialog.fields["title"].setText("Staff canteen")
        dialog.fields["controller"].setText("Harbour View Residences")
        dialog.fields["contact"].setText("privacy@harbour.example")
        dialog.fields["alternative"].setText("Pay at the till")
        dialog.save_button.click()
        return dialog.result()

    monkeypatch.setattr(settings_module.PurposeDialog, "exec", fake_exec)
    settings.add_purpose()
    assert [p.title for p in window.desk.list_purposes()] == ["Building entry", "Staff canteen"]
    assert settings.purposes.count() == 2
    assert window.ctx.prompts.errors == []

    settings.maintenance.verify()
    qtbot.waitUntil(lambda: "intact" in settings.maintenance.message.text(), timeout=10000)
    settings.maintenance.purge()
    qtbot.waitUntil(lambda: "expired" in settings.maintenance.message.text(), timeout=10000)
    settings.maintenance.backup()
    qtbot.waitUntil(lambda: settings.maintenance.message.text() == "Backup written.", timeout=20000)
    assert Path(window.ctx.prompts.saved[-1]).exists()


def test_operator_has_no_settings_and_cannot_erase(qtbot: Any, window: Any, home: Path) -> None:
    from app.desk import Desk

    desk = Desk.unlock(home, "admin", PASSWORD, options=cheap_options())
    desk.add_user("frontdesk", PASSWORD, "operator")
    desk.lock()
    ws = unlock(qtbot, window, "frontdesk", PASSWORD)
    assert ws.settings is None
    assert ws.tabs.count() == 3
    assert not ws.withdrawal.erase_button.isVisibleTo(ws.withdrawal)


def _enroll_directly(home: Path, engine: Any, photo: Path, name: str) -> str:
    from app.bio.images import load_image
    from app.desk import Desk, EnrollmentRequest, PersonDetails
    from app.models import LivenessResult, Signature, SignaturePoint

    desk = Desk.unlock(home, "admin", PASSWORD, options=cheap_options())
    purpose = desk.list_purposes()[0]
    strokes = (tuple(SignaturePoint(40 + i * 12, 60 + (i % 2) * 50, i) for i in range(40)),)
    emb = engine.analyse_photo(load_image(photo)).single_encoding()
    result = desk.enroll(
        EnrollmentRequest(
            PersonDetails(name, "Unit 1A", age_basis="id_document_seen"),
            purpose.id,
            desk.disclosure(purpose.id, "en").sha256,
            Signature(strokes, 600, 200),
            [list(map(float, emb))],
            LivenessResult(True),
        )
    )
    desk.lock()
    return result.person.id


def test_registry_documents_access_report_and_document_check(
    qtbot: Any, window: Any, home: Path, engine: Any, faces: Path
) -> None:
    from ui.document_view import poppler_available

    person_id = _enroll_directly(home, engine, faces / "rose_leslie_1.jpg", "Rose Example")
    ws = unlock(qtbot, window)
    ws.tabs.setCurrentWidget(ws.registry)
    reg = ws.registry
    reg.search.setText("rose")
    qtbot.waitUntil(lambda: not reg._timer.isActive() and reg.model.total == 1, timeout=5000)
    reg.table.selectRow(0)
    panel = reg.person
    assert panel.person is not None and panel.person.id == person_id
    assert panel.consents.rowCount() == 1
    assert panel.audit.rowCount() >= 1
    panel.docs.selectRow(0)
    panel.show_selected_document()
    qtbot.waitUntil(lambda: panel.document_view.pdf is not None, timeout=10000)
    if poppler_available():
        qtbot.waitUntil(lambda: bool(panel.document_view.rendered), timeout=20000)
    panel.document_view.save_copy()
    saved = Path(window.ctx.prompts.saved[-1])
    assert saved.read_bytes().startswith(b"%PDF")

    panel.access_report.click()
    qtbot.waitUntil(lambda: panel.document_view.filename.startswith("access-report"), timeout=20000)

    # Hand-over to the withdrawal desk with the person already selected.
    panel.withdraw_button.click()
    assert ws.tabs.currentWidget() is ws.withdrawal
    assert ws.withdrawal.selected_id == person_id
    assert ws.withdrawal.withdraw_button.isEnabled()

    ws.tabs.setCurrentWidget(ws.settings)
    window.ctx.prompts.open_answer = str(saved)
    ws.settings.maintenance.verify_document()
    qtbot.waitUntil(
        lambda: "Signature valid" in ws.settings.maintenance.message.text(), timeout=20000
    )


def test_main_entry_point_runs_and_exits(home: Path) -> None:
    """``consentdesk`` with no subcommand calls ``ui.main.main(argv, home)``. Run in a child
    process: ending ``QApplication.exec`` would leave this test process's application closing."""
    import os
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from PySide6.QtCore import QTimer;"
        "from ui.main import create_application, main;"
        "app = create_application([]); QTimer.singleShot(1500, app.quit);"
        "sys.exit(main([], Path(sys.argv[1])))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script, str(home)],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_staff_accounts_add_and_remove(qtbot: Any, window: Any, monkeypatch: Any) -> None:
    from ui.screens import settings as settings_module

    ws = unlock(qtbot, window)
    settings = ws.settings

    def fake_exec(dialog: Any) -> int:
        dialog.username.setText("nightshift")
        dialog.passwords.password.setText(PASSWORD)
        dialog.passwords.repeat.setText(PASSWORD)
        dialog.role.setCurrentIndex(dialog.role.findData("operator"))
        dialog.save_button.click()
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=15000)
        return dialog.result()

    monkeypatch.setattr(settings_module.StaffDialog, "exec", fake_exec)
    settings.add_staff()
    assert [u.username for u in window.desk.list_users()] == ["admin", "nightshift"]
    for i in range(settings.staff.count()):
        if settings.staff.item(i).data(256) == "nightshift":
            settings.staff.setCurrentRow(i)
    settings.remove_staff()
    assert [u.username for u in window.desk.list_users()] == ["admin"]
    assert window.ctx.prompts.errors == []


def test_operator_changes_own_password(qtbot: Any, window: Any, home: Path) -> None:
    from app.desk import Desk

    desk = Desk.unlock(home, "admin", PASSWORD, options=cheap_options())
    desk.add_user("frontdesk", PASSWORD, "operator")
    desk.lock()
    unlock(qtbot, window, "frontdesk", PASSWORD)
    window.password_button.click()
    dialog = window.password_dialog
    dialog.current.setText(PASSWORD)
    dialog.passwords.password.setText("a brand new passphrase")
    dialog.passwords.repeat.setText("a brand new passphrase")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Saved." in window.ctx.prompts.infos, timeout=15000)
    window.lock()
    unlock(qtbot, window, "frontdesk", "a brand new passphrase")


def test_admin_renames_the_organisation(qtbot: Any, window: Any, home: Path) -> None:
    from app.desk import Desk

    ws = unlock(qtbot, window)
    settings = ws.settings
    ws.tabs.setCurrentWidget(settings)
    assert settings.org_name.text() == "Harbour View Residences"
    assert not settings.org_name.isReadOnly() and settings.rename_button.isVisibleTo(settings)

    # A name being typed survives a reload (another settings action refreshes the screen).
    qtbot.keyClicks(settings.org_name, " Ltd")
    settings.reload()
    assert settings.org_name.text() == "Harbour View Residences Ltd"
    settings.org_name.setText("Harbour View Homes")
    settings.rename_button.click()
    assert window.desk.organisation.name == "Harbour View Homes"
    assert settings.org_message.text() == "Organisation renamed."
    assert settings.org_name.text() == "Harbour View Homes"

    # An empty name is refused by the core, and said in the operator's language.
    window.language_button.click()
    settings.org_name.setText("   ")
    qtbot.keyClick(settings.org_name, "\r")  # Enter renames too
    assert settings.org_message.text() == "机构名称为必填项。"
    assert window.desk.organisation.name == "Harbour View Homes"
    window.language_button.click()  # the message follows a language switch
    assert settings.org_message.text() == "The organisation name is required."
    qtbot.keyClicks(settings.org_name, "H")  # typing again: the old verdict goes
    assert not settings.org_message.isVisibleTo(settings)
    assert window.ctx.prompts.errors == []

    window.lock()
    desk = Desk.unlock(home, "admin", PASSWORD, options=cheap_options())
    try:
        assert desk.organisation.name == "Harbour View Homes"
        assert [e.action for e in desk.audit_events()].count("organisation.rename") == 1
    finally:
        desk.lock()


def test_settings_bulk_import_with_progress(
    qtbot: Any, window: Any, faces: Path, tmp_path: Path
) -> None:
    """HR imports people who signed paper consents; a group photo row is skipped with its row."""
    from PIL import Image

    ws = unlock(qtbot, window)
    settings = ws.settings
    ws.tabs.setCurrentWidget(settings)
    Image.new("L", (400, 500), 255).save(tmp_path / "scan.png")
    csv_file = tmp_path / "people.csv"
    day = dt.date.today().isoformat()  # issue-13: not before the purpose existed
    csv_file.write_text(
        "name,reference,photo,consent_scan,signed_on\n"
        f"Kit Harington,E-1,{faces / 'kit_harington_1.jpg'},scan.png,{day}\n"
        f"Two People,E-2,{faces / 'group_two_people.jpg'},scan.png,{day}\n",
        encoding="utf-8",
    )
    settings.purposes.setCurrentRow(-1)
    settings.maintenance.import_csv()
    assert "Select the purpose" in settings.maintenance.message.text()
    settings.purposes.setCurrentRow(0)
    window.ctx.prompts.open_answer = str(csv_file)
    progress: list[str] = []
    settings.maintenance.import_csv()
    qtbot.waitUntil(
        lambda: progress.append(settings.maintenance.message.text()) or "Imported" in progress[-1],
        timeout=60000,
    )
    text = settings.maintenance.message.text()
    assert "Imported 1 people; skipped 1 rows." in text and "Row 3:" in text
    assert window.desk.find_people("Kit").total == 1
    assert settings.maintenance.import_button.isEnabled()
