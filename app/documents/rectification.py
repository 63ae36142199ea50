"""The rectification receipt (issue 13): the person's proof that their details were corrected.

A misspelt name would otherwise stay on every document forever. The receipt names what was
corrected, from what to what, when and by whom, and tells the person that documents issued from
now on carry the new value while those issued before are kept as they were (they are evidence of
what was signed at the time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from reportlab.platypus import Spacer

from app.documents.drafting import DraftingBase
from app.documents.labels import label
from app.documents.layout import clean, grid_table, kv_table, para
from app.errors import InvalidInput
from app.models import AuditEvent, Language, Organisation, Person


class RectificationDrafting(DraftingBase):
    """``rectification_receipt`` of ``DocumentMaker``."""

    def rectification_receipt(
        self,
        *,
        org: Organisation,
        before: Person,
        after: Person,
        fields: Sequence[str],
        operator: str,
        corrected_at: dt.datetime,
        language: Language | None = None,
        audit_events: Sequence[AuditEvent] = (),
        document_id: str | None = None,
    ) -> bytes:
        if before.id != after.id:
            raise InvalidInput("The corrected record belongs to a different person.")
        if not fields:
            raise InvalidInput("Nothing was corrected.")
        lang = language or after.language
        draft = self._draft("rectification_receipt", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        draft.facts.update(
            {
                "person_id": after.id,
                "fields": list(fields),
                "corrected_at": corrected_at.isoformat(),
                "operator": operator,
            }
        )
        draft.add(
            para(
                label(lang, "rectification.statement", name=clean(after.name, 300)),
                s.statement,
            )
        )
        draft.add(
            kv_table(
                [
                    (label(lang, "organisation"), org.name),
                    (label(lang, "person_id"), after.id),
                    (label(lang, "rectification.at"), draft.when(corrected_at)),
                    (label(lang, "rectification.by"), operator),
                ],
                s,
            ),
            Spacer(1, 6),
        )

        def value(person: Person, field: str) -> str:
            text = person.name if field == "name" else (person.reference or "")
            return text or label(lang, "rectification.empty")

        draft.add(
            grid_table(
                [
                    label(lang, "rectification.field"),
                    label(lang, "rectification.before"),
                    label(lang, "rectification.after"),
                ],
                [
                    [label(lang, f"rectification.field.{f}"), value(before, f), value(after, f)]
                    for f in fields
                ],
                s,
                [1.6, 3.0, 3.0],
            ),
            Spacer(1, 6),
            para(label(lang, "rectification.after_note"), s.body),
        )
        return self._finish(draft, consent_id=None, audit_events=audit_events)
