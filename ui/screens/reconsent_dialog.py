"""Re-consent after a material purpose change (issue 13): the short path.

The person reads the current version's disclosure in their language, with what changed since
the version they signed listed first (material changes marked), and signs. Nothing is captured:
the templates kept from their earlier consent carry over (``Desk.reconsent``), and a new consent
form naming the new version and the consent it renews is made.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QWidget

from app.desk import Desk, ReconsentRequest
from app.models import Consent, EnrollmentResult
from ui.i18n import I18n
from ui.screens.admin_dialogs import SavingDialog
from ui.signature_pad import SignaturePad
from ui.theme import set_role


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
            name = html.escape(tr(f"set.purpose.{diff.field.removesuffix('_zh')}"))
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
        self.finish_form()
        self.save_button.setText(tr("reconsent.save"))
        self.resize(820, 700)

    def problem(self) -> str | None:
        return self.i18n.tr("reconsent.need_signature") if self.pad.is_empty() else None

    def _renew(self) -> None:
        signature = self.pad.signature()
        assert signature is not None  # problem() refused an empty pad
        result = self.desk.reconsent(
            ReconsentRequest(self.consent.id, self.disclosure.sha256, signature)
        )
        self._done(result)
