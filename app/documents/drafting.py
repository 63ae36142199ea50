"""The shared plumbing of every ConsentDesk PDF: a draft, its head, its verification block.

``DocumentMaker`` (``app.documents.maker``) builds on ``DraftingBase``: each document method
fills a ``Draft`` (story and the facts it states), and ``_finish`` lays it out, stamps the content
hash and signs it. Kept apart so the maker holds only what each document says.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.platypus import CondPageBreak, Flowable, SimpleDocTemplate, Spacer

from app.disclosure import decision_labels, disclosure_is_intact
from app.documents import sections
from app.documents.finish import Attachment, content_sha256, finish_pdf
from app.documents.fonts import default_font_path, register_font
from app.documents.labels import label
from app.documents.layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    PAGE_HEIGHT,
    Styles,
    clean,
    disclosure_flowables,
    format_datetime,
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
    Guardian,
    Language,
    Organisation,
    Person,
    Purpose,
    Signature,
)
from app.pdfsign import PdfSigner


def new_document_id() -> str:
    """A fresh random document ID (32 hex characters, no personal data, no ordering leak)."""
    return uuid.uuid4().hex


def document_filename(kind: str, document_id: str) -> str:
    """Suggested file name for export: the kind and a short ID, never the person's name,
    because file names end up in folder listings, mail subjects and backups."""
    safe_id = "".join(ch for ch in document_id if ch.isalnum())[:12] or "document"
    return f"consentdesk-{kind.replace('_', '-')}-{safe_id}.pdf"


@dataclass
class Draft:
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
    # issue 12: text whose characters take the font's first codes, in code point order (see
    # ``page_canvas``); never personal data
    font_seed: str = ""

    def add(self, *flowables: Flowable) -> None:
        self.story.extend(flowables)

    def tz(self) -> str:
        return self.org.timezone

    def when(self, at: dt.datetime | None) -> str:
        return format_datetime(at, self.org.timezone, self.language)


class DraftingBase:
    """What every ConsentDesk PDF shares (see ``DocumentMaker`` for the documents).

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
        audit_head: Callable[[], str] | None = None,
    ) -> None:
        self._signer = signer
        self._font = register_font(font_path or default_font_path(), font_index)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # The vault's audit head (``SEQ:MAC``) when a document is made: printed on it and kept
        # in its metadata, every document in a person's hands witnesses the audit chain, and
        # ``audit verify --against FILE.pdf`` tells when the vault no longer holds that entry
        # (an older backup restored over it).
        self._audit_head = audit_head

    # ------------------------------------------------------------------ shared plumbing

    def _draft(
        self, kind: str, language: Language, org: Organisation, document_id: str | None
    ) -> Draft:
        if language not in LANGUAGES:
            raise InvalidInput("Documents can only be printed in English or Chinese.")
        doc_id = document_id or new_document_id()
        styles = Styles.make(self._font, language)
        draft = Draft(
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

    def _head(self, draft: Draft, issued_at: dt.datetime) -> None:
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
        draft: Draft,
        *,
        consent_id: str | None,
        audit_events: Sequence[AuditEvent] | None,
        appendix: Sequence[Flowable] = (),
    ) -> bytes:
        """Add the verification block, any appendix pages and the audit trail, lay out, then
        stamp and sign."""
        if audit_events is not None:
            draft.facts["audit_seq"] = [e.seq for e in audit_events]
        audit_head = self._audit_head() if self._audit_head is not None else None
        if audit_head is not None:
            draft.facts["audit_head"] = audit_head
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
                audit_head=audit_head,
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
            seed=draft.font_seed,
        )
        doc.build(draft.story, canvasmaker=canvas)
        return finish_pdf(
            buf.getvalue(),
            document_id=draft.document_id,
            kind=draft.kind,
            content_hash=content_hash,
            audit_head=audit_head,
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

    def _person_rows(self, draft: Draft, person: Person) -> list[tuple[str, object]]:
        lang = draft.language
        rows: list[tuple[str, object]] = [(label(lang, "person"), person.name)]
        if person.reference:
            rows.append((label(lang, "reference"), person.reference))
        draft.facts["person"] = {"id": person.id, "name": person.name, "ref": person.reference}
        return rows

    def _disclosure_section(self, draft: Draft, disclosure: Disclosure) -> None:
        s = draft.styles
        draft.add(
            para(label(draft.language, "section.disclosure"), s.h2),
            para(label(draft.language, "disclosure.intro"), s.muted),
            Spacer(1, 4),
            *disclosure_flowables(disclosure.text, s),
        )
        draft.facts["text_sha256"] = disclosure.sha256
        draft.font_seed = disclosure.text
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
        draft: Draft,
        *,
        person: Person,
        decision: str,
        photo_option: bool | None,
        signature: Signature | None,
        guardian: Guardian | None,
        own_photo_tick: bool = False,
    ) -> None:
        lang = draft.language
        s = draft.styles
        labels = decision_labels(lang)
        chosen = labels.consent if decision == "granted" else labels.refuse
        draft.add(para(label(lang, "section.signature"), s.h2))
        rows: list[tuple[str, object]] = [(label(lang, "decision"), f"✓ {chosen}")]
        if photo_option is not None and own_photo_tick:
            # issue-13: the person's own act before capture, not the operator's review
            answer = "photo_option.own.yes" if photo_option else "photo_option.own.no"
            rows.append((labels.photo_option, label(lang, answer)))
        elif photo_option is not None:
            rows.append((labels.photo_option, label(lang, "yes" if photo_option else "no")))
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
