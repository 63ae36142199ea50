"""Re-consent after a material purpose change (issue 13): the short path.

The person reads the current version's disclosure in their language, with what changed since
the version they signed listed first (material changes marked), and signs. Nothing is captured:
the templates kept from their earlier consent carry over (``Desk.reconsent``), and a new consent
form naming the new version and the consent it renews is made. A kept photo is asked about
again (the person's own tick, in their language): without it the photo is destroyed and the new
form says so. A minor renews with a parent or guardian's name and signature, as at enrollment.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

from app.desk import Desk, ReconsentRequest
from app.models import Consent, EnrollmentResult, Guardian
from ui.i18n import I18n
from ui.screens.admin_dialogs import SavingDialog
from ui.signature_pad import SignaturePad
from ui.theme import set_role

# Purpose fields whose editor label has another key (a retention change was labelled with its raw key).
FIELD_KEYS = {"retention_days": "retention"}


class ReconsentDialog(SavingDialog):
    """Differences, the new disclosure, one signature; Save renews the consent."""

    def __init__(
        self,
        i18n: I18n,
        desk: Desk,
        consent: Consent,
        done: Callable[[EnrollmentResult], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(i18n, "reconsent.title", self._renew, None, parent)
        self.desk, self.consent, self._done = desk, consent, done
        # The disclosure is in the person's language (the one they signed in), not the
        # operator's; a purpose lacking that language is refused here already.
        self.disclosure = desk.disclosure(consent.purpose_id, consent.language)
        tr = i18n.tr
        intro = QLabel(tr("reconsent.intro", version=consent.purpose_version))
        intro.setWordWrap(True)
        set_role(intro, "hint")
        self.form.addRow(intro)
        rows = []
        for diff in desk.reconsent_differences(consent.id):
            field = diff.field.removesuffix("_zh")
            name = html.escape(tr(f"set.purpose.{FIELD_KEYS.get(field, field)}"))
            if diff.field.endswith("_zh"):
                name += f" ({html.escape(tr('set.purpose.in_zh'))})"
            mark = f" <b>· {html.escape(tr('reconsent.material'))}</b>" if diff.material else ""
            rows.append(
                f"<p><b>{name}</b>{mark}<br><s>{html.escape(diff.before)}</s><br>"
                f"<span style='background:#fff2a8'>{html.escape(diff.after)}</span></p>"
            )
        self.changes = QLabel("".join(rows) or tr("reconsent.no_changes"))
        self.changes.setWordWrap(True)
        self.form.addRow(QLabel(f"<b>{html.escape(tr('reconsent.changes'))}</b>"))
        self.form.addRow(self.changes)
        self.text = QPlainTextEdit(self.disclosure.text)
        self.text.setReadOnly(True)
        self.text.setMinimumHeight(160)
        self.text.setAccessibleName(tr("reconsent.text"))
        self.form.addRow(QLabel(f"<b>{html.escape(tr('reconsent.text'))}</b>"))
        self.form.addRow(self.text)
        self.pad = SignaturePad()
        self.pad.setAccessibleName(tr("reconsent.sign"))
        self.form.addRow(QLabel(tr("reconsent.sign")))
        self.form.addRow(self.pad)
        # issue-13: a kept photo is never carried over silently: the person ticks again.
        self.photo_box = QCheckBox(i18n.text("decision.photo", consent.language))
        self.photo_box.setAccessibleName(i18n.text("decision.photo", consent.language))
        self.photo_hint = QLabel(tr("reconsent.photo_hint"))
        self.photo_hint.setWordWrap(True)
        set_role(self.photo_hint, "hint")
        self.asks_photo = bool(
            consent.photo_count and desk.get_purpose(consent.purpose_id).keep_photos
        )
        if self.asks_photo:
            self.form.addRow(self.photo_box)
            self.form.addRow(self.photo_hint)
        else:
            self.photo_box.hide()
            self.photo_hint.hide()
        # issue-13: a minor renews with a guardian, as at enrollment (the core decides who).
        person = desk.get_person(consent.person_id)
        self.needs_guardian = desk.needs_guardian(person.date_of_birth)
        self.guardian_name = QLineEdit()
        self.guardian_name.setAccessibleName(tr("sig.guardian.name"))
        self.guardian_name.setPlaceholderText(tr("sig.guardian.name"))
        self.guardian_pad = SignaturePad()
        self.guardian_pad.setAccessibleName(tr("sig.guardian.pad"))
        if self.needs_guardian:  # two pads: each a little lower, so both fit 1366x768
            for pad in (self.pad, self.guardian_pad):
                pad.setMinimumHeight(100)
            self.text.setMinimumHeight(100)
            self.form.addRow(QLabel(f"<b>{html.escape(tr('sig.guardian'))}</b>"))
            self.form.addRow(self.guardian_name)
            self.form.addRow(self.guardian_pad)
        # issue-13: the "not signed yet" line goes once the missing signature is given.
        for pad in (self.pad, self.guardian_pad):
            pad.changed.connect(self._recheck)
        self.guardian_name.textChanged.connect(self._recheck)
        self.finish_form()
        self.save_button.setText(tr("reconsent.save"))
        # Never taller than the screen: with a guardian the dialog wants 740 px, and a 768 px
        # desk screen less its panel and title bar has less (the buttons fell off the bottom).
        wanted = 740 if self.needs_guardian else 700
        screen = self.screen() or (parent.screen() if parent is not None else None)
        room = screen.availableGeometry().height() - 40 if screen is not None else wanted
        self.resize(820, max(self.minimumSizeHint().height(), min(wanted, room)))

    def problem(self) -> str | None:
        if self.pad.is_empty():
            return self.i18n.tr("reconsent.need_signature")
        if self.needs_guardian and (
            not self.guardian_name.text().strip() or self.guardian_pad.is_empty()
        ):
            return self.i18n.tr("reconsent.need_guardian")
        return None

    def _recheck(self) -> None:
        if self.error.isVisible() and self.problem() is None:
            self.error.hide()

    def _renew(self) -> None:
        signature = self.pad.signature()
        assert signature is not None  # problem() refused an empty pad
        guardian = None
        if self.needs_guardian:
            guardian_signature = self.guardian_pad.signature()
            assert guardian_signature is not None  # problem() refused an empty pad
            guardian = Guardian(self.guardian_name.text().strip(), guardian_signature)
        result = self.desk.reconsent(
            ReconsentRequest(
                self.consent.id,
                self.disclosure.sha256,
                signature,
                guardian=guardian,
                photo_consent=self.asks_photo and self.photo_box.isChecked(),
            )
        )
        self._done(result)
