"""Administration: organisation, purposes, recognition and camera, staff, maintenance (the
last in ``ui.screens.maintenance``).

Only admins get this tab (and the core checks the role again on every verb). Every slow action
(backup, audit verification, purge) runs in the background runner with the button disabled, so a
large vault never freezes the window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import ConsentDeskError
from app.models import LANGUAGES, Purpose
from app.rooms.materiality import material_fields_in
from ui.context import UiContext
from ui.dialogs import detached, error_text
from ui.screens.admin_dialogs import PasswordDialog, PurposeDialog, StaffDialog
from ui.screens.camera_settings import CameraChoice
from ui.screens.law_settings import LawFields
from ui.screens.maintenance import MaintenanceBox
from ui.screens.necessity import enroll_states, necessity_dialog
from ui.theme import set_role

if TYPE_CHECKING:
    from app.desk import Desk


class SettingsScreen(QWidget):
    """Administrators only: organisation, purposes, thresholds, staff, maintenance."""

    #: The auto-lock delay was saved (minutes): the main window applies it at once.
    autolock_changed = Signal(float)

    def __init__(self, desk: Desk, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        i18n = ctx.i18n
        content = QWidget()
        lay = QVBoxLayout(content)

        # organisation + stats
        org_box = QGroupBox()
        i18n.bind(org_box.setTitle, "set.org")
        org_lay = QFormLayout(org_box)
        # Renaming is audited by the core; documents already issued keep the old name.
        self.org_name = QLineEdit(desk.organisation.name)
        self.org_name.setMaxLength(200)  # the core's own limit; it checks again
        i18n.bind(self.org_name.setAccessibleName, "init.org")
        self.org_name.returnPressed.connect(self.rename_organisation)
        self.org_name.textEdited.connect(lambda _t: self._org_say(None))  # the old verdict is moot
        self.rename_button = self._button("set.org.rename", self.rename_organisation)
        is_admin = desk.user.role == "admin"
        self.org_name.setReadOnly(not is_admin)
        self.rename_button.setVisible(is_admin)
        org_row = QHBoxLayout()
        org_row.addWidget(self.org_name, 1)
        org_row.addWidget(self.rename_button)
        org_label = QLabel()
        i18n.bind(org_label.setText, "set.org.name")
        org_label.setBuddy(self.org_name)
        org_lay.addRow(org_label, org_row)
        org_hint = QLabel()
        org_hint.setWordWrap(True)
        set_role(org_hint, "hint")
        i18n.bind(org_hint.setText, "set.org.hint")
        org_hint.setVisible(is_admin)
        org_lay.addRow(org_hint)
        self.org_message = QLabel()
        self.org_message.setWordWrap(True)
        self.org_message.setAccessibleName("status")
        self.org_message.hide()  # no empty line until there is something to say
        self._org_said: Callable[[], str] | None = None  # re-read after a language switch
        org_lay.addRow(self.org_message)
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        set_role(self.stats_label, "hint")
        org_lay.addRow(self.stats_label)
        lay.addWidget(org_box)

        # purposes
        purpose_box = QGroupBox()
        i18n.bind(purpose_box.setTitle, "set.purposes")
        p_lay = QVBoxLayout(purpose_box)
        self.purposes = QListWidget()
        self.purposes.setMaximumHeight(140)
        i18n.bind(self.purposes.setAccessibleName, "set.purposes")
        add_purpose = self._button("set.purpose.add", self.add_purpose)
        self.edit_purpose_button = self._button("set.purpose.edit", self.edit_purpose)
        self.purposes.itemDoubleClicked.connect(lambda _i: self.edit_purpose())
        self.necessity_button = self._button("set.purpose.necessity", self.assess_purpose)
        self.notice_language = QComboBox()
        i18n.bind(self.notice_language.setAccessibleName, "set.notice.language")
        for lang in LANGUAGES:
            self.notice_language.addItem(i18n.tr(f"lang.{lang}"), lang)
        self.notice_button = self._button("set.notice", self.export_notice)
        row = QHBoxLayout()
        for w in (
            add_purpose,
            self.edit_purpose_button,
            self.necessity_button,
            self.notice_language,
            self.notice_button,
        ):
            row.addWidget(w)
        row.addStretch(1)
        p_lay.addWidget(self.purposes)
        p_lay.addLayout(row)
        lay.addWidget(purpose_box)

        # recognition, lock, camera
        rec_box = QGroupBox()
        i18n.bind(rec_box.setTitle, "set.thresholds")
        r_lay = QFormLayout(rec_box)
        self.match = QDoubleSpinBox()
        self.match.setSingleStep(0.01)
        self.match.setDecimals(2)
        self.margin = QDoubleSpinBox()
        self.margin.setSingleStep(0.01)
        self.margin.setDecimals(2)
        self.autolock = QSpinBox()
        self.guardian_age = QSpinBox()
        self.inactivity = QSpinBox()  # retention cap whatever a purpose says
        self.reconsent_grace = QSpinBox()  # issue-13: kept templates wait this long
        self.camera_choice = CameraChoice(ctx)  # a device, or a video/photo file
        self.camera_index = self.camera_choice.index
        apply = QPushButton()
        set_role(apply, "primary")
        i18n.bind(apply.setText, "set.apply")
        apply.clicked.connect(self.apply_settings)
        self.settings_message = QLabel()
        for key, widget in (
            ("set.match", self.match),
            ("set.lookalike", self.margin),
            ("set.autolock", self.autolock),
            ("details.minor.age", self.guardian_age),
            ("set.inactivity", self.inactivity),
            ("set.reconsent_grace", self.reconsent_grace),
        ):
            label = QLabel()
            i18n.bind(label.setText, key)
            i18n.bind(widget.setAccessibleName, key)
            r_lay.addRow(label, widget)
        # What the numbers mean and where they fail: the admin choosing them must know.
        accuracy = QLabel()
        accuracy.setWordWrap(True)
        set_role(accuracy, "hint")
        i18n.bind(accuracy.setText, "set.accuracy")
        r_lay.addRow(accuracy)
        camera_label = QLabel()
        i18n.bind(camera_label.setText, "set.camera")
        r_lay.addRow(camera_label, self.camera_choice)
        self.law = LawFields(desk, ctx, r_lay)  # issue-15 point 7: what disclosures state
        r_lay.addRow(apply, self.settings_message)
        lay.addWidget(rec_box)

        # staff
        staff_box = QGroupBox()
        i18n.bind(staff_box.setTitle, "set.staff")
        s_lay = QVBoxLayout(staff_box)
        self.staff = QListWidget()
        self.staff.setMaximumHeight(120)
        i18n.bind(self.staff.setAccessibleName, "set.staff")
        add_staff = self._button("set.staff.add", self.add_staff)
        remove_staff = self._button("set.staff.remove", self.remove_staff)
        password = self._button("set.staff.password", self.change_password)
        srow = QHBoxLayout()
        for w in (add_staff, remove_staff, password):
            srow.addWidget(w)
        srow.addStretch(1)
        s_lay.addWidget(self.staff)
        s_lay.addLayout(srow)
        lay.addWidget(staff_box)

        self.maintenance = MaintenanceBox(desk, ctx, self._selected_purpose, self.reload)
        lay.addWidget(self.maintenance)
        lay.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        i18n.changed.connect(self._retranslate)
        self.reload()

    def _retranslate(self, _lang: str) -> None:
        """Texts built from data (lists, statistics) follow a language switch too."""
        for i in range(self.notice_language.count()):
            lang = self.notice_language.itemData(i)
            self.notice_language.setItemText(i, self.ctx.i18n.tr(f"lang.{lang}"))
        if self._org_said is not None:
            self.org_message.setText(self._org_said())
        self.reload()

    # -- loading -------------------------------------------------------------------------------
    def activated(self) -> None:
        self.reload()

    def reload(self) -> None:
        desk, tr = self.desk, self.ctx.i18n.tr
        if not self.org_name.isModified():  # never overwrite a name being typed
            self.org_name.setText(desk.organisation.name)
        self.purposes.clear()
        states = enroll_states(desk)  # which still lack their signed necessity test
        for p in desk.list_purposes():
            state = states.get(p.id)
            blocked = f" · ⚠ {tr(state.reason_key)}" if state and state.reason_key else ""
            item = QListWidgetItem(
                f"{p.title} · {tr('set.purpose.version', v=p.version)} · "
                f"{tr('set.purpose.days', days=p.retention_days)}{blocked}"
            )
            item.setData(256, p.id)
            self.purposes.addItem(item)
        self.maintenance.reload()
        self.staff.clear()
        for user in desk.list_users():
            item = QListWidgetItem(f"{user.username} · {tr('role.' + user.role)}")
            item.setData(256, user.username)
            self.staff.addItem(item)
        self._apply_setting_ranges()
        self.match.setValue(float(desk.get_setting("match_threshold")))
        self.margin.setValue(float(desk.get_setting("lookalike_margin")))
        self.autolock.setValue(int(float(desk.get_setting("autolock_minutes"))))
        self.guardian_age.setValue(int(float(desk.get_setting("guardian_age"))))
        self.inactivity.setValue(int(float(desk.get_setting("max_inactivity_days"))))
        self.reconsent_grace.setValue(int(float(desk.get_setting("reconsent_grace_days"))))
        self.camera_choice.load(
            desk.get_setting("camera_file"), int(float(desk.get_setting("camera_index")))
        )
        self.law.load(desk)
        stats = desk.stats()
        self.stats_label.setText(
            tr(
                "set.stats",
                people=stats.people,
                active=stats.active_consents,
                templates=stats.templates,
                staff=stats.staff,
            )
        )

    def _selected_purpose(self) -> int | None:
        """The id of the purpose chosen in the list, if any."""
        item = self.purposes.currentItem()
        return int(item.data(256)) if item is not None else None

    def _selected_username(self) -> str | None:
        """The username of the staff account chosen in the list, if any."""
        item = self.staff.currentItem()
        return str(item.data(256)) if item is not None else None

    # -- organisation --------------------------------------------------------------------------
    def rename_organisation(self) -> None:
        """The core checks the name (required, length) and the admin role, and audits it."""
        name = self.org_name.text().strip()
        if name == self.desk.organisation.name:
            self.org_name.setModified(False)
            self._org_say(None)
            return
        i18n = self.ctx.i18n
        try:
            organisation = self.desk.rename_organisation(name)
        except Exception as exc:
            if isinstance(exc, ConsentDeskError):
                self._org_say(functools.partial(error_text, detached(exc), i18n), "error")
            else:
                text = error_text(exc, i18n)
                self._org_say(lambda: text, "error")
            return
        self.org_name.setText(organisation.name)  # also clears the "being typed" flag
        self._org_say(lambda: i18n.tr("set.org.renamed"), "ok")

    def _org_say(self, text: Callable[[], str] | None, role: str = "hint") -> None:
        """Show ``text()`` (re-read after a language switch) under the name; None hides it."""
        self._org_said = text
        self.org_message.setText(text() if text is not None else "")
        self.org_message.setVisible(text is not None)
        set_role(self.org_message, role)

    # -- purposes ------------------------------------------------------------------------------
    def add_purpose(self) -> None:
        dialog = PurposeDialog(
            self.ctx.i18n, None, lambda values: self.desk.add_purpose(**values), self
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.reload()

    def edit_purpose(self) -> None:
        purpose_id = self._selected_purpose()
        if purpose_id is None:
            return
        current = self.desk.get_purpose(purpose_id)

        def save(values: dict[str, Any]) -> Purpose:
            """issue-13: the admin is asked whether the change is material unless a field the
            core calls material changed (then it is, and consents of older versions wait)."""
            changed = [k for k, v in values.items() if getattr(current, k) != v]
            material: bool | None = None
            if changed and not material_fields_in(changed):
                material = self.ctx.prompts.confirm(
                    self, self.ctx.i18n.tr("set.purpose.material_q")
                )
            return self.desk.edit_purpose(purpose_id, material, **values)

        dialog = PurposeDialog(self.ctx.i18n, current, save, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.reload()

    def assess_purpose(self) -> None:
        """The necessity test form for the selected purpose (the core signs and checks it)."""
        purpose_id = self._selected_purpose()
        if purpose_id is None:
            return
        dialog = necessity_dialog(self.desk, self.ctx.i18n, purpose_id, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.reload()

    def export_notice(self) -> None:
        purpose_id = self._selected_purpose()
        if purpose_id is None:
            return
        language = self.notice_language.currentData()
        path = self.ctx.prompts.save_path(
            self, f"retention-notice-{purpose_id}-{language}.pdf", self.ctx.i18n.tr("doc.filter")
        )
        if not path:
            return

        def run() -> None:
            Path(path).write_bytes(self.desk.retention_notice(purpose_id, language))

        self.maintenance.background(run, self.ctx.i18n.tr("doc.saved"))

    # -- settings and camera -------------------------------------------------------------------
    def _apply_setting_ranges(self) -> None:
        """Ranges come from the core's settings schema (the guardian age's minimum follows the
        jurisdiction), so the widgets never offer a value the core would refuse."""
        spins: dict[str, QSpinBox | QDoubleSpinBox] = {
            "match_threshold": self.match,
            "lookalike_margin": self.margin,
            "autolock_minutes": self.autolock,
            "guardian_age": self.guardian_age,
            "max_inactivity_days": self.inactivity,
            "reconsent_grace_days": self.reconsent_grace,
            "camera_index": self.camera_index,
        }
        for spec in self.desk.settings_schema():
            spin = spins.get(spec.name)
            if spin is None or spec.minimum is None or spec.maximum is None:
                continue
            if isinstance(spin, QSpinBox):
                spin.setRange(int(spec.minimum), int(spec.maximum))
            else:
                spin.setRange(spec.minimum, spec.maximum)

    def apply_settings(self) -> None:
        values = {
            "match_threshold": round(self.match.value(), 2),
            "lookalike_margin": round(self.margin.value(), 2),
            "autolock_minutes": self.autolock.value(),
            "guardian_age": self.guardian_age.value(),
            "max_inactivity_days": self.inactivity.value(),
            "reconsent_grace_days": self.reconsent_grace.value(),
            **self.camera_choice.values(),
            **self.law.values(),
        }
        try:
            for key, value in values.items():
                if str(value) != self.desk.get_setting(key):
                    self.desk.set_setting(key, value)
        except Exception as exc:
            self.settings_message.setText(error_text(exc, self.ctx.i18n))
            set_role(self.settings_message, "error")
            return
        self.settings_message.setText(self.ctx.i18n.tr("set.saved"))
        set_role(self.settings_message, "ok")
        self.autolock_changed.emit(float(self.autolock.value()))

    def stop_camera(self) -> None:
        self.camera_choice.stop_camera()

    # -- staff ---------------------------------------------------------------------------------
    def add_staff(self) -> None:
        dialog = StaffDialog(self.ctx.i18n, self.desk.add_user, self.ctx.runner, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.reload()

    def remove_staff(self) -> None:
        username = self._selected_username()
        if username and self.ctx.prompts.confirm(
            self, f"{self.ctx.i18n.tr('set.staff.remove')}: {username}?"
        ):
            self._call(self.desk.remove_user, username)

    def change_password(self) -> None:
        """An admin sets someone's password (their own needs the current one, as in the top bar)."""
        username = self._selected_username()
        if not username:
            return
        own = username.casefold() == self.desk.user.username.casefold()
        dialog = PasswordDialog(
            self.ctx.i18n,
            username,
            own and self.desk.signed_in_with != "login.recovery",
            lambda current, new: self.desk.change_password(username, new, current_password=current),
            self.ctx.runner,
            self,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.maintenance.say(self.ctx.i18n.tr("set.saved"))

    def _button(self, key: str, on_click: Callable[[], object]) -> QPushButton:
        """A push button whose text follows the language switch."""
        button = QPushButton()
        self.ctx.i18n.bind(button.setText, key)
        button.clicked.connect(on_click)
        return button

    def _call(self, fn: Callable[..., object], *args: object, **kwargs: object) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            self.ctx.prompts.error(self, exc)
        self.reload()

    def shutdown(self) -> None:
        self.stop_camera()
        self.purposes.clear()
        self.staff.clear()
