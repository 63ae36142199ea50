"""The Settings screen's maintenance box: backup, audit check, purge, document check, recovery
code, HR import, and when the vault was last fully checked.

Why a widget of its own: these are the slow, whole-vault actions. Each runs in the background
runner with every maintenance button disabled until it ends, and reports (with progress where
the core gives it) in one message line, so a large vault never freezes the window and two of
them never overlap. The rest of the Settings screen edits records; this box looks after the
vault, as ``app.desk_upkeep`` does in the core.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.context import UiContext
from ui.dialogs import error_text
from ui.integrity_status import full_check_text
from ui.theme import set_role

if TYPE_CHECKING:
    from app.bulk_import import ImportReport
    from app.desk import Desk
    from app.desk_types import DocumentCheck
    from app.models import AuditVerification

T = TypeVar("T")


class MaintenanceBox(QGroupBox):
    """``selected_purpose``: the purpose chosen on the screen (the import goes into it);
    ``changed``: called after an action ends, so the screen shows the vault as it now is."""

    def __init__(
        self,
        desk: Desk,
        ctx: UiContext,
        selected_purpose: Callable[[], int | None],
        changed: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self.ctx = ctx
        self._selected_purpose = selected_purpose
        self._changed = changed
        ctx.i18n.bind(self.setTitle, "set.maintenance")
        m_lay = QVBoxLayout(self)
        self.backup_button = self._button("set.backup", self.backup)
        self.verify_button = self._button("set.verify", self.verify)
        self.purge_button = self._button("set.purge", self.purge)
        self.doc_verify_button = self._button("set.doc_verify", self.verify_document)
        self.recovery_button = self._button("set.recovery", self.new_recovery_code)
        self.import_button = self._button("set.import", self.import_csv)
        self._buttons = (
            self.backup_button,
            self.verify_button,
            self.purge_button,
            self.doc_verify_button,
            self.recovery_button,
            self.import_button,
        )
        mrow = QHBoxLayout()
        for w in self._buttons:
            mrow.addWidget(w)
        mrow.addStretch(1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.full_check_label = QLabel()  # issue 12: when the vault was last fully checked
        m_lay.addLayout(mrow)
        m_lay.addWidget(self.full_check_label)
        m_lay.addWidget(self.message)

    def reload(self) -> None:
        self.full_check_label.setText(full_check_text(self.desk, self.ctx.i18n))

    def say(self, text: str, role: str = "ok") -> None:
        self.message.setText(text)
        set_role(self.message, role)

    def _button(self, key: str, on_click: Callable[[], object]) -> QPushButton:
        """A push button whose text follows the language switch."""
        button = QPushButton()
        self.ctx.i18n.bind(button.setText, key)
        button.clicked.connect(on_click)
        return button

    def backup(self) -> None:
        path = self.ctx.prompts.save_path(self, "consentdesk-backup.cdbak", "*")
        if not path:
            return
        tr = self.ctx.i18n.tr

        def run(progress: Callable[[int, int], None]) -> Path:  # issue 12: streamed, with progress
            return self.desk.backup(Path(path), lambda f: progress(int(f * 100), 100))

        def shown(done: int, _total: int) -> None:
            self.message.setText(tr("set.backup.progress", percent=done))

        self.background(run, tr("set.backup.done"), on_progress=shown)

    def verify(self) -> None:
        tr = self.ctx.i18n.tr

        def shown(result: AuditVerification) -> str:
            if result.ok:
                return tr("set.verify.ok", n=result.entries)
            return tr("set.verify.bad", problems="; ".join(result.problems[:5]))

        self.background(self.desk.audit_verify, shown)

    def purge(self) -> None:
        tr = self.ctx.i18n.tr
        self.background(
            self.desk.purge_expired,
            lambda r: tr(
                "set.purge.done",
                c=len(r.expired_consents),
                p=len(r.erased_people),
                t=r.templates_deleted,
            ),
        )

    def verify_document(self) -> None:
        """Is this PDF one we issued, unchanged? (A person brings back their copy.)"""
        path = self.ctx.prompts.open_path(self, self.ctx.i18n.tr("doc.filter"))
        if not path:
            return
        tr = self.ctx.i18n.tr
        desk = self.desk

        def run() -> DocumentCheck:
            return desk.verify_document(Path(path).read_bytes())

        def shown(check: DocumentCheck) -> str:
            if check.valid and check.status == "stored":
                return tr("set.doc_verify.ok", kind=tr(f"kind.{check.kind}") if check.kind else "—")
            if check.valid and check.status == "erasure_certificate":
                return tr("set.doc_verify.erasure")
            if check.valid and check.status == "ledger_record":
                return tr("set.doc_verify.ledger")
            if check.valid and check.status == "refusal_record":
                return tr("set.doc_verify.refusal")
            if check.status == "unknown":
                return tr(
                    "set.doc_verify.unknown",
                    valid=tr("set.valid" if check.valid else "set.invalid"),
                )
            return tr("set.doc_verify.bad", problems="; ".join(check.problems) or check.status)

        self.background(run, shown)

    def new_recovery_code(self) -> None:
        if not self.ctx.prompts.confirm(self, self.ctx.i18n.tr("set.recovery.confirm")):
            return
        try:
            code = self.desk.new_recovery_code()
        except Exception as exc:
            self.ctx.prompts.error(self, exc)
            return
        self.ctx.prompts.recovery_code(self, code, self.desk.organisation.name, replaces=True)

    def import_csv(self) -> None:
        """HR bulk enrollment: people who signed paper consents, with their photos (CSV with
        name, reference, photo, consent_scan, signed_on), into the purpose selected above."""
        tr = self.ctx.i18n.tr
        purpose_id = self._selected_purpose()
        if purpose_id is None:
            self.say(tr("set.import.pick"), "error")
            return
        path = self.ctx.prompts.open_path(self, "CSV (*.csv)")
        if not path:
            return

        def shown(report: ImportReport) -> str:
            details = "".join(
                "\n" + tr("set.import.row", row=s.row, reason=s.reason) for s in report.skipped[:10]
            )
            return tr("set.import.done", n=report.imported, s=len(report.skipped)) + details

        def progress(done: int, total: int) -> None:
            self.message.setText(tr("set.import.progress", done=done, total=total))

        # The runner passes a thread-safe ``progress`` to functions that take one and calls
        # ``on_progress`` in the GUI thread.
        def work(progress: Callable[[int, int], None]) -> ImportReport:
            report: ImportReport = self.desk.import_people(Path(path), purpose_id, progress)
            return report

        self.background(work, shown, on_progress=progress)

    def background(
        self,
        fn: Callable[..., T],
        message: str | Callable[[T], str],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Run ``fn`` in the runner with the buttons disabled; say ``message`` when it ends."""
        for b in self._buttons:
            b.setEnabled(False)
        self.say(self.ctx.i18n.tr("common.busy"), "hint")

        def done(result: T) -> None:
            for b in self._buttons:
                b.setEnabled(True)
            self.say(message if isinstance(message, str) else message(result))
            self._changed()

        def failed(exc: BaseException) -> None:
            for b in self._buttons:
                b.setEnabled(True)
            self.say(error_text(exc, self.ctx.i18n), "error")

        self.ctx.runner.submit(fn, on_done=done, on_error=failed, on_progress=on_progress)
