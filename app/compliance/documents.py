"""The governance PDFs: impact assessment, records of processing, filing pack, breach letters,
complaint form.

They use the same page furniture, verification block, metadata keys and workstation signature
as the consent documents (:mod:`app.documents`), so ``verify-document`` and any PAdES validator
treat them alike. None of them names a person: they state counts, settings and the admin's
signed answers, which is also why they can be stored without a ``person_id`` and survive every
erasure.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer

from app.compliance.facts import PURPOSE_COUNT_KEYS, PurposeFacts, VaultFacts
from app.compliance.labels import gl
from app.compliance.types import (
    BreachRecord,
    ComplianceOverview,
    ImpactAssessmentRecord,
)
from app.documents import sections
from app.documents.finish import Attachment, content_sha256, finish_pdf
from app.documents.labels import label
from app.documents.layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    PAGE_HEIGHT,
    Styles,
    format_date,
    format_datetime,
    grid_table,
    kv_table,
    page_canvas,
    para,
)
from app.errors import InvalidInput
from app.models import LANGUAGES, Language, Organisation, Purpose
from app.pdfsign import PdfSigner
from app.purpose_texts import localized


@dataclass
class _Doc:
    kind: str
    language: Language
    styles: Styles
    org: Organisation
    document_id: str
    title: str
    story: list[Flowable] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)

    def add(self, *flowables: Flowable) -> None:
        self.story.extend(flowables)

    def t(self, key: str, **values: object) -> str:
        return gl(self.language, key, **values)

    def when(self, at: dt.datetime | None) -> str:
        return format_datetime(at, self.org.timezone, self.language)

    def h2(self, key: str) -> None:
        self.add(para(self.t(key), self.styles.h2))


class GovernanceDocuments:
    """Builds the governance PDFs. Font, signer and clock come in through the constructor."""

    def __init__(
        self, signer: PdfSigner | None, font: str, clock: Callable[[], dt.datetime]
    ) -> None:
        self._signer = signer
        self._font = font
        self._clock = clock

    # ------------------------------------------------------------------ plumbing
    def _start(self, kind: str, language: Language, org: Organisation, doc_id: str) -> _Doc:
        if language not in LANGUAGES:
            raise InvalidInput("Documents can only be printed in English or Chinese.")
        doc = _Doc(kind, language, Styles.make(self._font, language), org, doc_id, "")
        doc.title = doc.t(f"title.{kind}")
        now = self._clock()
        doc.facts.update(
            {
                "kind": kind,
                "document_id": doc_id,
                "language": language,
                "organisation": org.name,
                "issued_at": now.isoformat(),
            }
        )
        s = doc.styles
        doc.add(
            para(doc.title, s.title),
            para(f"{org.name} · {doc.t('issued_at')} {doc.when(now)}", s.muted),
            Spacer(1, 8),
        )
        return doc

    def _finish(self, doc: _Doc) -> bytes:
        content_hash = content_sha256(doc.facts)
        doc.add(
            Spacer(1, 10),
            *sections.verification_block(
                org_name=doc.org.name,
                document_id=doc.document_id,
                consent_id=None,
                content_hash=content_hash,
                signed=self._signer is not None,
                styles=doc.styles,
                # issue-15: the root fingerprint and kind of time, as on every document
                root_fingerprint=self._signer.root_fingerprint if self._signer else None,
                timestamped=self._signer.timestamped if self._signer else False,
            ),
        )
        buf = io.BytesIO()
        template = SimpleDocTemplate(
            buf,
            pagesize=(2 * MARGIN_X + FRAME_WIDTH, PAGE_HEIGHT),
            leftMargin=MARGIN_X,
            rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            title=doc.title,
            author=doc.org.name[:200],
            subject=f"ConsentDesk {doc.kind}",
            creator="ConsentDesk",
            initialFontName=self._font,
            lang="zh-CN" if doc.language == "zh" else "en",
        )
        lang = doc.language
        canvas = page_canvas(
            self._font,
            header_left=doc.org.name,
            header_right=doc.title,
            footer_left=f"{label(lang, 'document_id')}: {doc.document_id}",
            page_label=lambda page, pages: label(lang, "page_of", page=page, pages=pages),
        )
        template.build(doc.story, canvasmaker=canvas)
        return finish_pdf(
            buf.getvalue(),
            document_id=doc.document_id,
            kind=doc.kind,
            content_hash=content_hash,
            attachments=doc.attachments,
            signer=self._signer,
            now=self._clock(),
        )

    # ------------------------------------------------------------------ shared sections
    def _purpose_rows(self, doc: _Doc, p: Purpose, vault: VaultFacts) -> list[tuple[str, object]]:
        p = localized(p, doc.language)  # a Chinese record names the purpose in Chinese
        max_days = vault.settings.get("max_inactivity_days", "1095")
        rows: list[tuple[str, object]] = [
            (doc.t("purpose"), f"{p.title} (#{p.id})"),
            (doc.t("purpose_version"), str(p.version)),
            (doc.t("controller"), p.controller or doc.org.name),
            (doc.t("contact"), p.contact),
            (doc.t("legal_basis"), doc.t("legal_basis_value")),
            (
                doc.t("retention"),
                doc.t("retention_value", days=p.retention_days, max_days=max_days),
            ),
            (doc.t("recipients"), p.recipients or "-"),
            (doc.t("alternative"), p.alternative),
            (doc.t("transfers"), doc.t("transfers_value")),
        ]
        if p.description:
            rows.insert(1, (doc.t("description"), p.description))
        if p.regulator:
            rows.append((doc.t("regulator"), p.regulator))
        return rows

    def _necessity(self, doc: _Doc, pf: PurposeFacts) -> None:
        test = pf.necessity
        if test is None:
            doc.add(para(doc.t("not_signed"), doc.styles.statement))
            return
        a = test.answers
        doc.add(
            kv_table(
                [
                    (doc.t("necessity"), a.necessity),
                    (doc.t("why_not_alternative"), a.why_not_alternative),
                    (doc.t("scenario"), doc.t(f"scenario.{a.scenario}")),
                    (doc.t("access"), a.access),
                    (doc.t("purpose_version"), str(test.purpose_version)),
                    (doc.t("signed_by"), test.signed_by),
                    (doc.t("signed_at"), doc.when(test.signed_at)),
                    (doc.t("answers_sha256"), para(test.answers_sha256, doc.styles.mono)),
                ],
                doc.styles,
            )
        )

    def _counts(self, doc: _Doc, counts: Mapping[str, int]) -> None:
        rows = [(doc.t(k), str(counts.get(k, 0))) for k in PURPOSE_COUNT_KEYS]
        doc.add(kv_table(rows, doc.styles, label_width=220))

    def _measures(self, doc: _Doc, vault: VaultFacts) -> None:
        state = (
            "chain.unchecked"
            if vault.audit_ok is None
            else ("chain.ok" if vault.audit_ok else "chain.broken")
        )
        items = [
            doc.t("measure.encryption", slots=vault.admins + vault.operators + 1),
            doc.t("measure.audit", entries=vault.audit_entries, state=doc.t(state)),
            doc.t("measure.liveness"),
            doc.t("measure.quality"),
            doc.t(
                "measure.retention",
                max_days=vault.settings.get("max_inactivity_days", "1095"),
                purges=vault.retention_erasures,
            ),
            doc.t("measure.erasure", erasures=vault.erasures),
            doc.t("measure.roles", admins=vault.admins, operators=vault.operators),
        ]
        doc.add(*[para(f"• {item}", doc.styles.bullet) for item in items])

    # ------------------------------------------------------------------ documents
    def impact_assessment(
        self,
        *,
        vault: VaultFacts,
        purpose: PurposeFacts,
        answers: Mapping[str, str],
        language: Language,
        document_id: str,
    ) -> bytes:
        doc = self._start("impact_assessment", language, vault.org, document_id)
        p, s = purpose.purpose, doc.styles
        doc.facts.update(
            {
                "purpose_version_id": p.version_id,
                "counts": dict(purpose.counts),
                "answers": dict(answers),
                "necessity_sha256": purpose.necessity.answers_sha256 if purpose.necessity else None,
            }
        )
        doc.add(para(doc.t("lead.impact_assessment", org=vault.org.name), s.statement))
        doc.h2("section.purpose")
        doc.add(kv_table(self._purpose_rows(doc, p, vault), s))
        doc.h2("section.necessity")
        self._necessity(doc, purpose)
        doc.h2("section.data")
        self._counts(doc, purpose.counts)
        doc.h2("section.risks")
        risks = [
            doc.t(
                "risk.misidentification",
                threshold=vault.settings.get("match_threshold", ""),
                margin=vault.settings.get("lookalike_margin", ""),
            ),
            doc.t("risk.leak"),
            doc.t("risk.function_creep"),
            doc.t("risk.coercion"),
            doc.t("risk.minors", age=vault.settings.get("guardian_age", "14")),
        ]
        doc.add(*[para(f"• {r}", s.bullet) for r in risks])
        doc.h2("section.measures")
        self._measures(doc, vault)
        doc.h2("section.answers")
        answered = [(q, a) for q, a in answers.items() if a and q != "conclusion"]
        if answered:
            doc.add(kv_table([(doc.t(f"q.{q}"), a) for q, a in answered], s, label_width=160))
        else:
            doc.add(para(doc.t("no_answers"), s.muted))
        doc.h2("section.conclusion")
        review = (self._clock() + dt.timedelta(days=365)).date()
        doc.add(
            para(answers.get("conclusion") or doc.t("conclusion_default"), s.body),
            para(doc.t("review_due", date=format_date(review, language)), s.muted),
        )
        return self._finish(doc)

    def _purposes_table(self, doc: _Doc, purposes: Sequence[PurposeFacts]) -> None:
        rows = []
        for pf in purposes:
            p = localized(pf.purpose, doc.language)
            scenario = pf.necessity.answers.scenario if pf.necessity else None
            rows.append(
                [
                    str(p.id),
                    f"{p.title} (v{p.version})",
                    doc.t(f"scenario.{scenario}") if scenario else doc.t("state.missing"),
                    p.recipients or "-",
                    str(p.retention_days),
                    str(pf.counts.get("people_stored", 0)),
                ]
            )
        header = [
            doc.t("purpose_id"),
            doc.t("title"),
            doc.t("scenario"),
            doc.t("recipients"),
            doc.t("retention"),
            doc.t("stored"),
        ]
        doc.add(grid_table(header, rows, doc.styles, [0.6, 3, 1.8, 2.2, 1.2, 1.2]))

    def records_of_processing(
        self,
        *,
        vault: VaultFacts,
        purposes: Sequence[PurposeFacts],
        record: Mapping[str, Any],
        language: Language,
        document_id: str,
    ) -> bytes:
        doc = self._start("records_of_processing", language, vault.org, document_id)
        s = doc.styles
        doc.facts["record"] = dict(record)
        doc.add(para(doc.t("lead.records", org=vault.org.name), s.statement))
        photos = any(pf.purpose.keep_photos for pf in purposes)
        doc.h2("section.organisation")
        doc.add(
            kv_table(
                [
                    (doc.t("organisation"), vault.org.name),
                    (doc.t("categories_people"), doc.t("categories_people_value")),
                    (
                        doc.t("categories_data"),
                        doc.t(
                            "categories_data_value", photos=doc.t("photos_kept") if photos else ""
                        ),
                    ),
                    (doc.t("transfers"), doc.t("transfers_value")),
                    (doc.t("people_stored"), str(vault.stored_people)),
                ],
                s,
            )
        )
        doc.h2("section.purposes")
        self._purposes_table(doc, purposes)
        for pf in purposes:
            doc.add(para(f"{localized(pf.purpose, doc.language).title} (#{pf.purpose.id})", s.h3))
            doc.add(kv_table(self._purpose_rows(doc, pf.purpose, vault), s))
        doc.h2("section.security")
        self._measures(doc, vault)
        doc.attachments.append(
            Attachment(
                "records-of-processing.json",
                _json_bytes(record),
                "application/json",
                "Records of processing (machine-readable)",
            )
        )
        return self._finish(doc)

    def filing_pack(
        self,
        *,
        vault: VaultFacts,
        purposes: Sequence[PurposeFacts],
        overview: ComplianceOverview,
        assessments: Sequence[tuple[ImpactAssessmentRecord, bytes]],
        language: Language,
        document_id: str,
    ) -> bytes:
        doc = self._start("filing_pack", language, vault.org, document_id)
        s = doc.styles
        doc.facts.update(
            {
                "stored_people": overview.stored_people,
                "threshold": overview.filing_threshold,
                "assessments": [r.document_id for r, _ in assessments],
            }
        )
        doc.add(
            para(doc.t("lead.filing_pack", threshold=f"{overview.filing_threshold:,}"), s.statement)
        )
        doc.h2("section.filing")
        projected = overview.projected_threshold_date
        doc.add(
            kv_table(
                [
                    (doc.t("organisation"), vault.org.name),
                    (doc.t("people_stored"), f"{overview.stored_people:,}"),
                    (doc.t("threshold"), f"{overview.filing_threshold:,}"),
                    (doc.t("threshold_state"), doc.t(f"level.{overview.filing_level}")),
                    (doc.t("rate"), f"{overview.enrollment_rate_per_day:.1f}"),
                    (
                        doc.t("projected"),
                        format_date(projected, language) if projected else doc.t("not_projected"),
                    ),
                ],
                s,
                label_width=200,
            )
        )
        doc.h2("section.purposes")
        self._purposes_table(doc, purposes)
        for pf in purposes:
            doc.add(para(f"{localized(pf.purpose, doc.language).title} (#{pf.purpose.id})", s.h3))
            self._necessity(doc, pf)
        doc.h2("section.security")
        self._measures(doc, vault)
        doc.h2("section.assessments")
        rows = [
            [str(r.purpose_id), str(r.purpose_version), doc.when(r.created_at), r.document_id]
            for r, _ in assessments
        ]
        header = [doc.t("purpose_id"), doc.t("purpose_version"), doc.t("issued_at"), "ID"]
        doc.add(grid_table(header, rows, s, [0.8, 1, 2.6, 3.6]))
        if assessments:
            doc.add(para(doc.t("attached"), s.muted))
        for record, pdf in assessments:
            doc.attachments.append(
                Attachment(
                    f"impact-assessment-{record.purpose_id}-v{record.purpose_version}-"
                    f"{record.document_id[:8]}.pdf",
                    pdf,
                    "application/pdf",
                    "Signed impact assessment",
                )
            )
        return self._finish(doc)

    def breach_letter(
        self,
        *,
        org: Organisation,
        breach: BreachRecord,
        audience: str,
        contact: str,
        regulator: str,
        language: Language,
        document_id: str,
    ) -> bytes:
        """Letter to the people affected or to the regulator: the contents PIPL Art. 57 and GDPR
        Art. 33(3) / 34(2) require (what, data, consequences, measures, contact)."""
        kind = f"breach_letter_{audience}"
        doc = self._start(kind, language, org, document_id)
        s, b = doc.styles, breach.details
        doc.facts.update({"breach": breach.id, "audience": audience})
        lead = "breach.lead_people" if audience == "people" else "breach.lead_regulator"
        doc.add(para(doc.t(lead, org=org.name), s.statement))
        rows: list[tuple[str, object]] = [
            (doc.t("breach.id"), breach.id),
            (doc.t("breach.what"), b.what),
            (
                doc.t("breach.occurred"),
                doc.when(b.occurred_at) if b.occurred_at else doc.t("breach.unknown"),
            ),
            (doc.t("breach.discovered"), doc.when(b.discovered_at)),
            (doc.t("breach.data"), b.data_categories),
            (doc.t("breach.consequences"), b.consequences),
            (doc.t("breach.measures"), b.measures),
        ]
        if audience == "regulator":
            rows[5:5] = [
                (doc.t("breach.people"), str(b.people_affected)),
                (doc.t("breach.records"), str(b.records_affected)),
            ]
            rows.append(
                (
                    doc.t("breach.people_notified"),
                    doc.when(b.people_notified_at)
                    if b.people_notified_at
                    else doc.t("breach.not_yet"),
                )
            )
        rows.append((doc.t("breach.contact"), contact))
        if regulator:
            rows.append((doc.t("regulator"), regulator))
        doc.add(kv_table(rows, s, label_width=150))
        if audience == "people":
            doc.add(Spacer(1, 6), para(doc.t("breach.you_can"), s.body))
        return self._finish(doc)

    def complaint_form(
        self,
        *,
        org: Organisation,
        purpose: Purpose | None,
        pipl_days: int,
        language: Language,
        document_id: str,
    ) -> bytes:
        """A form the person fills in on paper; it names the regulator so the person knows they
        need not go through the organisation first."""
        doc = self._start("complaint_form", language, org, document_id)
        s = doc.styles
        regulator = (localized(purpose, doc.language).regulator if purpose else "") or doc.t(
            "complaint.regulator_default"
        )
        doc.facts.update({"purpose_version_id": purpose.version_id if purpose else None})
        doc.add(para(doc.t("complaint.lead"), s.statement))
        rows: list[tuple[str, object]] = [(doc.t("organisation"), org.name)]
        if purpose:
            rows += [
                (doc.t("purpose"), f"{localized(purpose, doc.language).title} (#{purpose.id})"),
                (doc.t("contact"), purpose.contact),
            ]
        rows.append((doc.t("regulator"), regulator))
        doc.add(kv_table(rows, s), Spacer(1, 8))
        blank = "\n\n\n"
        doc.add(
            kv_table(
                [
                    (doc.t("complaint.name"), "\n\n"),
                    (doc.t("complaint.how_reach"), "\n\n"),
                    (doc.t("complaint.what"), blank * 2),
                    (doc.t("complaint.wish"), blank),
                    (doc.t("complaint.date_sign"), blank),
                ],
                s,
            ),
            Spacer(1, 6),
            para(doc.t("complaint.deadline", pipl=pipl_days), s.muted),
        )
        return self._finish(doc)


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()
