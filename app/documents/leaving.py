"""The documents a person takes away when they leave: the withdrawal receipt and the erasure
certificate.

Why apart from the consent documents in ``app.documents.maker``: these two say what was
destroyed and what remains (``app.documents.outcome``: who asked, copies in backups until they
age out, devices told to forget), and both must be buildable from values captured *before* the
records are gone, since afterwards the vault no longer holds the person's name.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Spacer

from app.documents import sections
from app.documents.drafting import DraftingBase
from app.documents.labels import LABELS, label
from app.documents.layout import clean, grid_table, kv_table, para
from app.documents.outcome import (
    Outcome,
    devices_told,
    erasure_remains,
    requested_row,
    withdrawal_remains,
)
from app.errors import InvalidInput
from app.models import (
    AuditEvent,
    Consent,
    ErasureResult,
    Language,
    Organisation,
    Person,
    Purpose,
    Signature,
    WithdrawalResult,
)
from app.purpose_texts import localized_all


class LeavingDrafting(DraftingBase):
    """``withdrawal_receipt`` and ``erasure_certificate`` of ``DocumentMaker``."""

    def withdrawal_receipt(
        self,
        *,
        org: Organisation,
        person: Person,
        result: WithdrawalResult,
        consents: Sequence[Consent],
        purposes: Sequence[Purpose],
        operator: str,
        reason: str | None = None,
        signature: Signature | None = None,
        language: Language | None = None,
        audit_events: Sequence[AuditEvent] = (),
        document_id: str | None = None,
        outcome: Outcome | None = None,
    ) -> bytes:
        """Receipt for a withdrawal: who asked, when, why, what was destroyed and what remains
        (``outcome``). ``consents`` are the withdrawn records (after the update)."""
        outcome = outcome or Outcome()
        if result.person_id != person.id:
            raise InvalidInput("The withdrawal belongs to a different person.")
        lang = language or person.language
        draft = self._draft("withdrawal_receipt", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        by_version = {p.version_id: p for p in localized_all(purposes, lang)}
        why = reason or next((c.withdraw_reason for c in consents if c.withdraw_reason), None)
        draft.facts.update(
            {
                "consent_ids": list(result.consent_ids),
                "withdrawn_at": result.withdrawn_at.isoformat(),
                "templates_deleted": result.templates_deleted,
                "operator": operator,
                "reason": why,
            }
        )
        draft.add(
            para(label(lang, "withdrawal.statement", name=clean(person.name, 300)), s.statement)
        )
        rows = [
            (label(lang, "organisation"), org.name),
            *self._person_rows(draft, person),
            requested_row(draft, outcome),
            (label(lang, "withdrawn_at"), draft.when(result.withdrawn_at)),
            (label(lang, "withdrawn_by"), operator),
            (label(lang, "withdraw_reason"), why or label(lang, "reason_none")),
            (label(lang, "templates_destroyed"), str(result.templates_deleted)),
        ]
        photos = sum(c.photo_count for c in consents)
        if photos:
            rows.append((label(lang, "photos_destroyed"), str(photos)))
        draft.add(kv_table(rows, s))
        draft.add(para(label(lang, "section.consents_withdrawn"), s.h2))
        listed = [c for c in consents if c.id in result.consent_ids] or list(consents)
        known = {c.id for c in listed}
        for c in listed:
            draft.add(
                kv_table(
                    [
                        (label(lang, "consent_id"), c.id),
                        (
                            label(lang, "purpose"),
                            sections.purpose_value(lang, by_version.get(c.purpose_version_id), c),
                        ),
                        (label(lang, "signed_at"), draft.when(c.signed_at)),
                        (label(lang, "text_sha256"), para(c.text_sha256, s.mono)),
                    ],
                    s,
                ),
                Spacer(1, 6),
            )
        for cid in result.consent_ids:
            if cid not in known:
                draft.add(kv_table([(label(lang, "consent_id"), cid)], s), Spacer(1, 6))
        draft.add(
            Spacer(1, 6),
            para(label(lang, "withdrawal.after"), s.body),
        )
        withdrawal_remains(draft, outcome)
        devices_told(draft, outcome)
        if signature is not None:
            draft.add(
                Spacer(1, 8),
                *sections.signature_block(
                    signature, label(lang, "signature_of", name=clean(person.name, 200)), s
                ),
            )
        first = result.consent_ids[0] if len(result.consent_ids) == 1 else None
        return self._finish(draft, consent_id=first, audit_events=audit_events)

    def erasure_certificate(
        self,
        *,
        org: Organisation,
        person: Person,
        result: ErasureResult,
        consents: Sequence[Consent] = (),
        purposes: Sequence[Purpose] = (),
        language: Language | None = None,
        audit_events: Sequence[AuditEvent] = (),
        document_id: str | None = None,
        reissue_of: str | None = None,
        outcome: Outcome | None = None,
    ) -> bytes:
        """Certificate that a person's data was erased: who asked, row counts before and after,
        when, by whom and what remains (``outcome``). Build it from values captured *before*
        the erasure (person, consents). ``reissue_of``: the SHA-256 of the original certificate
        this one replaces (made later from the vault's erasure record, when the name is no
        longer held)."""
        outcome = outcome or Outcome()
        if result.person_id != person.id:
            raise InvalidInput("The erasure result belongs to a different person.")
        lang = language or person.language
        draft = self._draft("erasure_certificate", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        draft.facts.update(
            {
                "erased_at": result.erased_at.isoformat(),
                "erased_by": result.erased_by,
                "before": dict(result.counts_before),
                "after": dict(result.counts_after),
                "consent_ids": [c.id for c in consents],
            }
        )
        draft.add(
            para(
                label(
                    lang,
                    "erasure.statement",
                    name=clean(person.name, 300),
                    org=clean(org.name, 300),
                ),
                s.statement,
            )
        )
        rows = [
            (label(lang, "organisation"), org.name),
            *self._person_rows(draft, person),
            requested_row(draft, outcome),
            (label(lang, "erased_at"), draft.when(result.erased_at)),
            (label(lang, "erased_by"), result.erased_by),
        ]
        if reissue_of:
            rows.append((label(lang, "erasure.reissue_of"), reissue_of))
            draft.facts["reissue_of"] = reissue_of
        draft.add(kv_table(rows, s), para(label(lang, "section.counts"), s.h2))
        kinds = list(dict.fromkeys([*result.counts_before, *result.counts_after]))

        def kind_label(kind: str) -> str:
            key = f"count.{kind}"
            return label(lang, key) if key in LABELS else kind

        draft.add(
            grid_table(
                [
                    label(lang, "counts.kind"),
                    label(lang, "counts.before"),
                    label(lang, "counts.after"),
                ],
                [
                    [
                        kind_label(k),
                        str(result.counts_before.get(k, 0)),
                        str(result.counts_after.get(k, 0)),
                    ]
                    for k in kinds
                ],
                s,
                [4, 1.5, 1.5],
            )
        )
        if consents:
            by_version = {p.version_id: p for p in localized_all(purposes, lang)}
            draft.add(para(label(lang, "section.consents_erased"), s.h2))
            for c in consents:
                draft.add(
                    kv_table(
                        [
                            (label(lang, "consent_id"), c.id),
                            (
                                label(lang, "purpose"),
                                sections.purpose_value(
                                    lang, by_version.get(c.purpose_version_id), c
                                ),
                            ),
                            (label(lang, "decision"), label(lang, f"outcome.{c.decision}")),
                            (label(lang, "text_sha256"), para(c.text_sha256, s.mono)),
                        ],
                        s,
                    ),
                    Spacer(1, 6),
                )
        erasure_remains(draft, outcome)
        devices_told(draft, outcome)
        draft.add(Spacer(1, 6), para(label(lang, "erasure.kept"), s.muted))
        first = consents[0].id if len(consents) == 1 else None
        return self._finish(draft, consent_id=first, audit_events=audit_events)
