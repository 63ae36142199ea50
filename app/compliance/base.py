"""Plumbing shared by the governance verbs: the desk they act through and how a PDF is issued.

The verbs share the desk's connection, lock, audit chain, clock and signed-in user (taken
through the constructor, never from a global), so a governance record is written in the same
transaction as its audit entry and under the same role checks as every other verb.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from app.compliance.types import IssuedDocument
from app.models import Language

if TYPE_CHECKING:  # reportlab loads when a document is made, not at sign-in (issue 12)
    from app.compliance.documents import GovernanceDocuments


class GovernanceBase:
    """Holds the desk (an unlocked :class:`app.desk.Desk`) and the governance PDF builder."""

    def __init__(self, desk: Any) -> None:
        self._desk = desk
        self._docs: GovernanceDocuments | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def _user(self) -> str:
        return str(self._desk.user.username)

    def _now(self) -> dt.datetime:
        return cast(dt.datetime, self._desk.options.clock())

    def _audit(self, action: str, subject: str | None, details: Mapping[str, Any]) -> None:
        self._desk.session.audit.append(self._user, action, subject, dict(details), at=self._now())

    def _int_setting(self, key: str) -> int:
        return max(1, int(self._desk.get_float(key)))

    @property
    def documents(self) -> GovernanceDocuments:
        """Built on first use, signing with the workstation key like every other document."""
        if self._docs is None:
            from app.compliance.documents import GovernanceDocuments
            from app.documents.fonts import default_font_path, register_font
            from app.org_authority import make_signer

            # issue-15: chained to the organisation root (and time-stamped) like every document
            signer = self._desk.session.read(make_signer)
            font = register_font(default_font_path())
            self._docs = GovernanceDocuments(signer, font, self._desk.options.clock)
        return self._docs

    def _issue(
        self,
        conn: Any,
        kind: str,
        language: Language,
        pdf: bytes,
        doc_id: str,
        purpose_version_id: int | None = None,
    ) -> IssuedDocument:
        """Store a governance PDF (no person) so ``verify-document`` recognises it."""
        from app.documents.maker import document_filename

        filename = document_filename(kind, doc_id)
        info = self._desk.archive.store(
            conn,
            doc_id=doc_id,
            kind=cast(Any, kind),
            person_id=None,
            consent_id=None,
            language=language,
            filename=filename,
            content=pdf,
            purpose_version_id=purpose_version_id,
        )
        return IssuedDocument(doc_id, kind, language, info.sha256, filename, pdf)

    @staticmethod
    def _new_doc_id() -> str:
        from app.documents.maker import new_document_id

        return new_document_id()
