"""``DocumentMaker``: builds every PDF ConsentDesk hands to a person or keeps as evidence.

All methods return PDF bytes and never touch the disk: the documents hold personal data and
the only place they may rest is the encrypted vault (the caller stores them). Each document is
printed in the person's language, embeds its only font, carries its document ID in the PDF
metadata and, when the maker has a signer, a PAdES signature over the whole file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageSequence, UnidentifiedImageError
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, SimpleDocTemplate, Spacer

from app.disclosure import decision_labels, disclosure_is_intact, render_disclosure
from app.documents import sections
from app.documents.access_rights import access_rights_block  # issue-15
from app.documents.finish import Attachment, content_sha256, finish_pdf
from app.documents.fonts import default_font_path, register_font
from app.documents.labels import LABELS, label
from app.documents.layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    PAGE_HEIGHT,
    Styles,
    clean,
    disclosure_flowables,
    format_date,
    format_datetime,
    grid_table,
    image_flowable,
    kv_table,
    page_canvas,
    para,
)
from app.errors import InvalidInput
from app.models import (
    LANGUAGES,
    AuditEvent,
    Consent,
    Disclosure,
    DocumentInfo,
    ErasureResult,
    Guardian,
    Language,
    LivenessResult,
    Organisation,
    Person,
    Purpose,
    Signature,
    WithdrawalResult,
)
from app.pdfsign import PdfSigner
from app.signature import validate_signature

_MAX_SCAN_PAGES = 50


def new_document_id() -> str:
    """A fresh random document ID (32 hex characters, no personal data, no ordering leak)."""
    return uuid.uuid4().hex


def document_filename(kind: str, document_id: str) -> str:
    """Suggested file name for export: the kind and a short ID, never the person's name,
    because file names end up in folder listings, mail subjects and backups."""
    safe_id = "".join(ch for ch in document_id if ch.isalnum())[:12] or "document"
    return f"consentdesk-{kind.replace('_', '-')}-{safe_id}.pdf"


@dataclass
class _Draft:
    """One document being assembled: its language, styles, story and the facts it states."""

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

    def tz(self) -> str:
        return self.org.timezone

    def when(self, at: dt.datetime | None) -> str:
        return format_datetime(at, self.org.timezone, self.language)


class DocumentMaker:
    """Builds ConsentDesk's PDFs.

    Dependencies come in through the constructor (signer, font, clock) so that tests and the
    service object decide them explicitly; there is no module-level configuration.

    ``signer`` may be None (e.g. in previews before ``consentdesk init``); the PDFs are then
    identical but unsigned. ``font_path`` defaults to WenQuanYi Micro Hei from the
    ``paperang_p2_fonts_cjk`` package, which covers both Latin and Chinese.
    """

    def __init__(
        self,
        signer: PdfSigner | None,
        *,
        font_path: Path | None = None,
        font_index: int = 0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._signer = signer
        self._font = register_font(font_path or default_font_path(), font_index)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    # ------------------------------------------------------------------ shared plumbing

    def _draft(
        self, kind: str, language: Language, org: Organisation, document_id: str | None
    ) -> _Draft:
        if language not in LANGUAGES:
            raise InvalidInput("Documents can only be printed in English or Chinese.")
        doc_id = document_id or new_document_id()
        styles = Styles.make(self._font, language)
        draft = _Draft(
            kind=kind,
            language=language,
            styles=styles,
            org=org,
            document_id=doc_id,
            title=label(language, f"title.{kind}"),
        )
        draft.facts.update(
            {"kind": kind, "document_id": doc_id, "language": language, "organisation": org.name}
        )
        return draft

    def _head(self, draft: _Draft, issued_at: dt.datetime) -> None:
        s = draft.styles
        draft.facts["issued_at"] = issued_at.isoformat()
        draft.add(
            para(draft.title, s.title),
            para(
                f"{clean(draft.org.name, 300)} · {label(draft.language, 'issued_at')} "
                f"{draft.when(issued_at)}",
                s.muted,
            ),
            Spacer(1, 8),
        )

    def _finish(
        self,
        draft: _Draft,
        *,
        consent_id: str | None,
        audit_events: Sequence[AuditEvent] | None,
        appendix: Sequence[Flowable] = (),
    ) -> bytes:
        """Add the verification block, any appendix pages and the audit trail, lay out, then
        stamp and sign."""
        if audit_events is not None:
            draft.facts["audit_seq"] = [e.seq for e in audit_events]
        content_hash = content_sha256(draft.facts)
        draft.add(
            Spacer(1, 10),
            *sections.verification_block(
                org_name=draft.org.name,
                document_id=draft.document_id,
                consent_id=consent_id,
                content_hash=content_hash,
                signed=self._signer is not None,
                styles=draft.styles,
                # issue-15: root fingerprint and trusted-time mode printed on every document
                root_fingerprint=self._signer.root_fingerprint if self._signer else None,
                timestamped=self._signer.timestamped if self._signer else False,
            ),
        )
        draft.add(*appendix)
        if audit_events is not None:
            # issue-15: the trail follows the verification block when a quarter page is left,
            # instead of leaving that block alone on a near-empty page
            draft.add(CondPageBreak(PAGE_HEIGHT / 4))
            draft.add(*sections.audit_block(audit_events, draft.tz(), draft.styles, new_page=False))
        lang = draft.language
        buf = io.BytesIO()
        doc = SimpleDocTemplate(
            buf,
            pagesize=(2 * MARGIN_X + FRAME_WIDTH, PAGE_HEIGHT),
            leftMargin=MARGIN_X,
            rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            # Metadata is indexed by desktop search tools: no personal data in it.
            title=draft.title,
            author=clean(draft.org.name, 200),
            subject=f"ConsentDesk {draft.kind}",
            creator="ConsentDesk",
            # Every page would otherwise open in Helvetica, an unembedded base-14 font.
            initialFontName=self._font,
            lang="zh-CN" if lang == "zh" else "en",
        )
        canvas = page_canvas(
            self._font,
            header_left=draft.org.name,
            header_right=draft.title,
            footer_left=f"{label(lang, 'document_id')}: {draft.document_id}",
            page_label=lambda page, pages: label(lang, "page_of", page=page, pages=pages),
        )
        doc.build(draft.story, canvasmaker=canvas)
        return finish_pdf(
            buf.getvalue(),
            document_id=draft.document_id,
            kind=draft.kind,
            content_hash=content_hash,
            attachments=draft.attachments,
            signer=self._signer,
            now=self._clock(),
        )

    @staticmethod
    def _check_consent(
        consent: Consent, person: Person, purpose: Purpose, disclosure: Disclosure | None
    ) -> None:
        """Refuse to print a form whose parts do not belong together: a form that names the
        wrong person or shows a different text than the one hashed would be false evidence."""
        if consent.person_id != person.id:
            raise InvalidInput("The consent record belongs to a different person.")
        if consent.purpose_version_id != purpose.version_id:
            raise InvalidInput("The consent record is for a different purpose version.")
        if disclosure is None:
            return
        if disclosure.purpose_version_id != purpose.version_id:
            raise InvalidInput("The disclosure text is for a different purpose version.")
        if disclosure.language != consent.language:
            raise InvalidInput("The disclosure text is not in the language of the consent.")
        if not disclosure_is_intact(disclosure) or disclosure.sha256 != consent.text_sha256:
            raise InvalidInput(
                "The disclosure text does not match the fingerprint stored with the consent."
            )

    def _person_rows(self, draft: _Draft, person: Person) -> list[tuple[str, object]]:
        lang = draft.language
        rows: list[tuple[str, object]] = [(label(lang, "person"), person.name)]
        if person.reference:
            rows.append((label(lang, "reference"), person.reference))
        draft.facts["person"] = {"id": person.id, "name": person.name, "ref": person.reference}
        return rows

    def _disclosure_section(self, draft: _Draft, disclosure: Disclosure) -> None:
        s = draft.styles
        draft.add(
            para(label(draft.language, "section.disclosure"), s.h2),
            para(label(draft.language, "disclosure.intro"), s.muted),
            Spacer(1, 4),
            *disclosure_flowables(disclosure.text, s),
        )
        draft.facts["text_sha256"] = disclosure.sha256
        draft.attachments.append(
            Attachment(
                filename=f"disclosure-{disclosure.language}.txt",
                data=disclosure.text.encode("utf-8"),
                mime_type="text/plain",
                description="Exact disclosure text shown (UTF-8); its SHA-256 is on the form",
            )
        )

    def _decision_section(
        self,
        draft: _Draft,
        *,
        person: Person,
        decision: str,
        photo_option: bool | None,
        signature: Signature | None,
        guardian: Guardian | None,
    ) -> None:
        lang = draft.language
        s = draft.styles
        labels = decision_labels(lang)
        chosen = labels.consent if decision == "granted" else labels.refuse
        draft.add(para(label(lang, "section.signature"), s.h2))
        rows: list[tuple[str, object]] = [(label(lang, "decision"), f"✓ {chosen}")]
        if photo_option is not None:
            rows.append(
                (labels.photo_option, label(lang, "yes" if photo_option else "no"))
            )
        draft.add(kv_table(rows, s), Spacer(1, 10))
        draft.add(
            *sections.signature_block(
                signature, label(lang, "signature_of", name=clean(person.name, 200)), s
            )
        )
        if guardian is not None:
            draft.add(
                *sections.signature_block(
                    guardian.signature,
                    label(lang, "guardian_signature", name=clean(guardian.name, 200)),
                    s,
                )
            )
            draft.facts["guardian"] = guardian.name

    # ------------------------------------------------------------------ documents

    def consent_form(
        self,
        *,
        org: Organisation,
        purpose: Purpose,
        person: Person,
        consent: Consent,
        disclosure: Disclosure,
        signature: Signature,
        guardian: Guardian | None = None,
        liveness: LivenessResult | None = None,
        photo: bytes | None = None,
        audit_events: Sequence[AuditEvent] = (),
        document_id: str | None = None,
    ) -> bytes:
        """The signed consent form, in the consent's language (the person's, not the operator's).

        ``liveness`` defaults to ``consent.liveness``. ``photo`` (PNG/JPEG bytes) is printed only
        for a purpose that keeps photos; passing one for any other purpose is refused, so a
        face image can never slip onto a form the person did not agree to.
        """
        if consent.decision != "granted":
            raise InvalidInput("A consent form needs a granted consent; print a refusal record.")
        self._check_consent(consent, person, purpose, disclosure)
        if photo is not None and not purpose.keep_photos:
            raise InvalidInput("This purpose does not keep photos, so none may be printed.")
        validate_signature(signature)
        if guardian is not None:
            validate_signature(guardian.signature)
        liveness = liveness if liveness is not None else consent.liveness
        lang = consent.language
        draft = self._draft("consent_form", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        draft.facts.update(
            {
                "consent_id": consent.id,
                "purpose_version_id": purpose.version_id,
                "decision": consent.decision,
                "signed_at": consent.signed_at.isoformat(),
                "operator": consent.operator,
                "liveness": liveness.to_json() if liveness else None,
                "photo_sha256": hashlib.sha256(photo).hexdigest() if photo else None,
            }
        )
        rows = [
            (label(lang, "organisation"), org.name),
            (label(lang, "purpose"), sections.purpose_value(lang, purpose, consent)),
            *self._person_rows(draft, person),
            (label(lang, "decision"), label(lang, "decision.granted")),
            (label(lang, "signed_at"), draft.when(consent.signed_at)),
            (label(lang, "operator"), consent.operator),
            (label(lang, "consent_id"), consent.id),
            (label(lang, "text_sha256"), para(disclosure.sha256, s.mono)),
            (label(lang, "collected"), label(lang, f"collected.{purpose.collected}")),
            (label(lang, "retention"), label(lang, "retention_value", days=purpose.retention_days)),
        ]
        if consent.expires_at is not None:
            rows.append((label(lang, "expires_at"), draft.when(consent.expires_at)))
        if guardian is not None:
            rows.append((label(lang, "guardian"), guardian.name))
        draft.add(kv_table(rows, s))
        self._disclosure_section(draft, disclosure)
        self._decision_section(
            draft,
            person=person,
            decision="granted",
            photo_option=(photo is not None or consent.photo_count > 0)
            if purpose.keep_photos
            else None,
            signature=signature,
            guardian=guardian,
        )
        if photo is not None:
            draft.add(para(label(lang, "photo"), s.h3), image_flowable(photo, 120, 150))
        draft.add(*sections.liveness_block(liveness, s))
        return self._finish(draft, consent_id=consent.id, audit_events=audit_events)

    def refusal_record(
        self,
        *,
        org: Organisation,
        purpose: Purpose,
        person: Person,
        consent: Consent,
        disclosure: Disclosure,
        signature: Signature | None = None,
        guardian: Guardian | None = None,
        audit_events: Sequence[AuditEvent] = (),
        document_id: str | None = None,
    ) -> bytes:
        """Record that the person said no, which alternative they use, and that no face was
        captured. ``signature`` is optional: nobody is made to sign in order to refuse."""
        if consent.decision != "refused":
            raise InvalidInput("A refusal record needs a refused decision.")
        if consent.template_count or consent.photo_count:
            raise InvalidInput("A refusal cannot have face templates or photos attached.")
        self._check_consent(consent, person, purpose, disclosure)
        if signature is not None:
            validate_signature(signature)
        lang = consent.language
        draft = self._draft("refusal_record", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        alternative = consent.alternative or purpose.alternative
        draft.facts.update(
            {
                "consent_id": consent.id,
                "purpose_version_id": purpose.version_id,
                "decision": consent.decision,
                "signed_at": consent.signed_at.isoformat(),
                "alternative": alternative,
                "operator": consent.operator,
            }
        )
        draft.add(
            para(label(lang, "refusal.statement", name=clean(person.name, 300)), s.statement)
        )
        rows = [
            (label(lang, "organisation"), org.name),
            (label(lang, "purpose"), sections.purpose_value(lang, purpose, consent)),
            *self._person_rows(draft, person),
            (label(lang, "decision"), label(lang, "decision.refused")),
            (label(lang, "alternative_chosen"), alternative),
            (label(lang, "signed_at"), draft.when(consent.signed_at)),
            (label(lang, "operator"), consent.operator),
            (label(lang, "consent_id"), consent.id),
            (label(lang, "text_sha256"), para(disclosure.sha256, s.mono)),
        ]
        draft.add(kv_table(rows, s))
        self._disclosure_section(draft, disclosure)
        self._decision_section(
            draft,
            person=person,
            decision="refused",
            photo_option=None,
            signature=signature,
            guardian=guardian,
        )
        return self._finish(draft, consent_id=consent.id, audit_events=audit_events)

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
    ) -> bytes:
        """Receipt for a withdrawal made in person: who, when, why, and how many face templates
        were destroyed. ``consents`` are the withdrawn records (after the update)."""
        if result.person_id != person.id:
            raise InvalidInput("The withdrawal belongs to a different person.")
        lang = language or person.language
        draft = self._draft("withdrawal_receipt", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        by_version = {p.version_id: p for p in purposes}
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
    ) -> bytes:
        """Certificate that a person's data was erased: what, row counts before and after, when
        and by whom. Build it from values captured *before* the erasure (person, consents)."""
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
                label(lang, "erasure.statement", name=clean(person.name, 300),
                      org=clean(org.name, 300)),
                s.statement,
            )
        )
        rows = [
            (label(lang, "organisation"), org.name),
            *self._person_rows(draft, person),
            (label(lang, "erased_at"), draft.when(result.erased_at)),
            (label(lang, "erased_by"), result.erased_by),
        ]
        draft.add(kv_table(rows, s), para(label(lang, "section.counts"), s.h2))
        kinds = list(dict.fromkeys([*result.counts_before, *result.counts_after]))

        def kind_label(kind: str) -> str:
            key = f"count.{kind}"
            return label(lang, key) if key in LABELS else kind

        draft.add(
            grid_table(
                [label(lang, "counts.kind"), label(lang, "counts.before"),
                 label(lang, "counts.after")],
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
            by_version = {p.version_id: p for p in purposes}
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
        draft.add(Spacer(1, 6), para(label(lang, "erasure.kept"), s.muted))
        first = consents[0].id if len(consents) == 1 else None
        return self._finish(draft, consent_id=first, audit_events=audit_events)

    def access_report(
        self,
        *,
        org: Organisation,
        person: Person,
        consents: Sequence[Consent],
        purposes: Sequence[Purpose],
        documents: Sequence[DocumentInfo],
        audit_events: Sequence[AuditEvent],
        template_count: int,
        operator: str,
        photo_count: int = 0,
        language: Language | None = None,
        document_id: str | None = None,
    ) -> bytes:
        """Everything held about a person (subject access). Template *values* are never passed
        in and never printed: only how many exist."""
        lang = language or person.language
        draft = self._draft("access_report", lang, org, document_id)
        s = draft.styles
        self._head(draft, self._clock())
        draft.facts.update(
            {
                "consent_ids": [c.id for c in consents],
                "document_ids": [d.id for d in documents],
                "templates": template_count,
                "photos": photo_count,
                "operator": operator,
            }
        )
        draft.add(
            para(
                label(lang, "access.intro", org=clean(org.name, 300),
                      name=clean(person.name, 300)),
                s.statement,
            ),
            para(label(lang, "section.person"), s.h2),
        )
        rows = [
            *self._person_rows(draft, person),
            (label(lang, "person_id"), person.id),
            (label(lang, "date_of_birth"), format_date(person.date_of_birth, lang)),
            (label(lang, "language"), label(lang, f"language.{person.language}")),
            (label(lang, "created_at"), draft.when(person.created_at)),
            (label(lang, "last_interaction_at"), draft.when(person.last_interaction_at)),
            (label(lang, "operator"), operator),
        ]
        draft.add(kv_table(rows, s), para(label(lang, "section.biometrics"), s.h2))
        draft.add(
            kv_table(
                [
                    (label(lang, "templates_held"),
                     label(lang, "templates_note", count=template_count)),
                    (label(lang, "photos_held"), str(photo_count)),
                ],
                s,
            ),
            para(label(lang, "section.consents"), s.h2),
        )
        by_version = {p.version_id: p for p in purposes}
        if not consents:
            draft.add(para(label(lang, "consents.none"), s.body))
        for consent in consents:
            purpose = by_version.get(consent.purpose_version_id)
            heading = label(
                lang,
                "consent_heading",
                purpose=sections.purpose_value(lang, purpose, consent),
                outcome=label(lang, f"outcome.{consent.decision}"),
            )
            draft.add(
                para(heading, s.h3),
                kv_table(sections.consent_rows(consent, purpose, draft.tz(), lang), s),
                Spacer(1, 8),
            )
        # issue-15: GDPR Art. 15(1) / PIPL Art. 45 facts per purpose, rights, complaint channel
        draft.add(
            *access_rights_block(
                consents=consents,
                purposes=purposes,
                has_reference=bool(person.reference),
                has_date_of_birth=person.date_of_birth is not None,
                styles=s,
            )
        )
        draft.add(para(label(lang, "section.documents"), s.h2))
        if not documents:
            draft.add(para(label(lang, "documents.none"), s.body))
        else:
            draft.add(
                grid_table(
                    [label(lang, "doc.kind"), label(lang, "doc.created"),
                     label(lang, "document_id"), label(lang, "file_sha256")],
                    [
                        [
                            label(lang, f"kind.{d.kind}"),
                            draft.when(d.created_at),
                            d.id,
                            d.sha256,
                        ]
                        for d in documents
                    ],
                    s,
                    [1.6, 2.0, 2.2, 3.2],
                )
            )
        return self._finish(draft, consent_id=None, audit_events=audit_events)

    def retention_notice(
        self,
        purpose: Purpose,
        org: Organisation,
        language: Language,
        *,
        document_id: str | None = None,
    ) -> bytes:
        """A printable notice for one purpose version, to post or hand out before the first
        enrolment: what is done, how long data is kept, how to refuse or withdraw; followed by
        the full disclosure text in that language."""
        draft = self._draft("retention_notice", language, org, document_id)
        s = draft.styles
        lang = language
        self._head(draft, self._clock())
        disclosure = render_disclosure(purpose, org, language)
        draft.facts.update(
            {"purpose_version_id": purpose.version_id, "text_sha256": disclosure.sha256}
        )
        draft.add(para(label(lang, "notice.lead", org=clean(org.name, 300)), s.statement))
        rows: list[tuple[str, object]] = [
            (label(lang, "organisation"), org.name),
            (label(lang, "controller"), purpose.controller or org.name),
            (label(lang, "purpose"), sections.purpose_value(lang, purpose, None)),
            (label(lang, "collected"), label(lang, f"collected.{purpose.collected}")),
            (label(lang, "retention"), label(lang, "retention_value", days=purpose.retention_days)),
            (label(lang, "alternative"), purpose.alternative),
            (label(lang, "contact"), purpose.contact),
        ]
        if purpose.regulator:
            rows.append((label(lang, "regulator"), purpose.regulator))
        rows.append((label(lang, "text_sha256"), para(disclosure.sha256, s.mono)))
        draft.add(
            kv_table(rows, s),
            Spacer(1, 6),
            para(label(lang, "notice.retention", days=purpose.retention_days), s.body),
            para(label(lang, "notice.withdraw"), s.body),
            Spacer(1, 6),
            para(label(lang, "section.full_text"), s.h2),
            *disclosure_flowables(disclosure.text, s),
        )
        draft.attachments.append(
            Attachment(
                filename=f"disclosure-{language}.txt",
                data=disclosure.text.encode("utf-8"),
                mime_type="text/plain",
                description="Exact disclosure text (UTF-8)",
            )
        )
        return self._finish(draft, consent_id=None, audit_events=None)

    def paper_consent_record(
        self,
        *,
        org: Organisation,
        purpose: Purpose,
        person: Person,
        consent: Consent,
        scan: bytes,
        imported_by: str,
        imported_at: dt.datetime | None = None,
        disclosure: Disclosure | None = None,
        audit_events: Sequence[AuditEvent] = (),
        language: Language | None = None,
        document_id: str | None = None,
    ) -> bytes:
        """Record for a person imported in bulk who signed on paper, with the original scan.

        An image scan (PNG, JPEG, TIFF, ...) is reproduced one page per image frame; a PDF scan
        is attached unchanged as an embedded file. The original bytes are attached in both
        cases so the printed scan fingerprint can always be re-checked.
        """
        self._check_consent(consent, person, purpose, disclosure)
        if not scan:
            raise InvalidInput("The paper scan is empty.")
        lang = language or consent.language
        # Not "paper_scan": in the vault that kind is the raw scan file itself, not this record.
        draft = self._draft("paper_consent_record", lang, org, document_id)
        s = draft.styles
        imported_at = imported_at or self._clock()
        self._head(draft, imported_at)
        signed_on = consent.paper_signed_on or consent.signed_at.date()
        scan_hash = hashlib.sha256(scan).hexdigest()
        is_pdf = scan.lstrip()[:5] == b"%PDF-"
        pages: list[bytes] = [] if is_pdf else _scan_pages(scan)
        scan_type = "PDF" if is_pdf else _image_format(scan)
        draft.facts.update(
            {
                "consent_id": consent.id,
                "purpose_version_id": purpose.version_id,
                "paper_signed_on": signed_on.isoformat(),
                "imported_by": imported_by,
                "scan_sha256": scan_hash,
            }
        )
        draft.add(
            para(
                label(lang, "paper.statement", name=clean(person.name, 300),
                      date=format_date(signed_on, lang)),
                s.statement,
            )
        )
        rows: list[tuple[str, object]] = [
            (label(lang, "organisation"), org.name),
            (label(lang, "purpose"), sections.purpose_value(lang, purpose, consent)),
            *self._person_rows(draft, person),
            (label(lang, "paper_signed_on"), format_date(signed_on, lang)),
            # A minor's guardian signed the same paper; their name is on the consent record.
            *([(label(lang, "guardian"), consent.guardian_name)] if consent.guardian_name else []),
            (label(lang, "consent_id"), consent.id),
            (label(lang, "text_sha256"), para(consent.text_sha256, s.mono)),
            (label(lang, "imported_at"), draft.when(imported_at)),
            (label(lang, "imported_by"), imported_by),
            (label(lang, "scan_type"), scan_type),
            (label(lang, "scan_sha256"), para(scan_hash, s.mono)),
        ]
        if consent.expires_at is not None:
            rows.append((label(lang, "expires_at"), draft.when(consent.expires_at)))
        draft.add(kv_table(rows, s))
        extension = "pdf" if is_pdf else scan_type.lower()
        attachment_name = f"paper-consent-scan.{extension}"
        draft.attachments.append(
            Attachment(
                filename=attachment_name,
                data=scan,
                mime_type="application/pdf" if is_pdf else f"image/{extension}",
                description="Original scan of the paper consent form, unchanged",
            )
        )
        if is_pdf:
            draft.add(
                para(label(lang, "scan"), s.h2),
                para(label(lang, "scan.attached", filename=attachment_name), s.body),
            )
        if disclosure is not None:
            self._disclosure_section(draft, disclosure)
        return self._finish(
            draft,
            consent_id=consent.id,
            audit_events=audit_events,
            appendix=_scan_flowables(draft, pages),
        )


def _scan_flowables(draft: _Draft, pages: list[bytes]) -> list[Flowable]:
    """One page per scan frame, scaled to fit under its caption."""
    usable_height = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM - 40
    out: list[Flowable] = []
    for number, page in enumerate(pages, start=1):
        caption = label(draft.language, "scan.page", page=number, pages=len(pages))
        out += [
            PageBreak(),
            para(caption, draft.styles.h3),
            image_flowable(page, FRAME_WIDTH, usable_height),
        ]
    return out


def _image_format(scan: bytes) -> str:
    try:
        with PILImage.open(io.BytesIO(scan)) as image:
            return str(image.format or "IMAGE")
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(
            "The paper scan must be a PDF or an image (PNG, JPEG, TIFF)."
        ) from exc


def _scan_pages(scan: bytes) -> list[bytes]:
    """The scan's frames as images reportlab can embed. JPEG stays byte-identical (no
    re-compression of evidence); other formats become lossless PNG."""
    try:
        with PILImage.open(io.BytesIO(scan)) as image:
            if image.format == "JPEG":
                image.verify()
                return [scan]
            out: list[bytes] = []
            for frame in ImageSequence.Iterator(image):
                if len(out) >= _MAX_SCAN_PAGES:
                    break
                buf = io.BytesIO()
                converted = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
                converted.save(buf, format="PNG", optimize=True)
                out.append(buf.getvalue())
            return out
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InvalidInput(
            "The paper scan must be a PDF or an image (PNG, JPEG, TIFF)."
        ) from exc
