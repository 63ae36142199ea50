"""The record of a consent given on a paper form (issue 13): what it is, and nothing more.

A paper consent was not given at this desk: no text was shown on screen and, for a bulk import,
no face was captured at a camera. The record therefore says that the person signed the attached
paper form on a date, under the purpose version in force that day, and attaches today's
disclosure for reference only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from app.documents import sections
from app.documents.drafting import DraftingBase
from app.documents.finish import Attachment
from app.documents.labels import label
from app.documents.layout import clean, disclosure_flowables, format_date, kv_table, para
from app.documents.scans import check_scan, scan_flowables, scan_pages
from app.errors import InvalidInput
from app.models import AuditEvent, Consent, Disclosure, Language, Organisation, Person, Purpose


class PaperDrafting(DraftingBase):
    """``paper_consent_record`` of ``DocumentMaker``."""

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
        record_text: str | None = None,
        reference: Disclosure | None = None,
        reference_version: int | None = None,
        audit_events: Sequence[AuditEvent] = (),
        language: Language | None = None,
        document_id: str | None = None,
    ) -> bytes:
        """Record that a person signed the attached paper form on a given date (issue 13).

        ``purpose`` is the version in force on the signing date. The record claims nothing the
        workstation did not see: no disclosure "shown word for word" (today's text, ``reference``,
        is attached as a file for reference only) and, for templates made from a supplied photo,
        no camera capture. An image scan is reproduced one page per frame; a PDF scan is attached
        unchanged; the original bytes are attached in both cases.
        """
        self._check_consent(consent, person, purpose, None)
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
        # Parsed, not sniffed: a file that merely starts with "%PDF-" is not a PDF.
        scan_type = check_scan(scan).kind
        is_pdf = scan_type == "PDF"
        pages: list[bytes] = [] if is_pdf else scan_pages(scan)
        draft.facts.update(
            {
                "consent_id": consent.id,
                "purpose_version_id": purpose.version_id,
                "paper_signed_on": signed_on.isoformat(),
                "imported_by": imported_by,
                "scan_sha256": scan_hash,
                "text_sha256": consent.text_sha256,
            }
        )
        draft.add(
            para(
                label(
                    lang,
                    "paper.statement",
                    name=clean(person.name, 300),
                    date=format_date(signed_on, lang),
                ),
                s.statement,
            )
        )
        rows: list[tuple[str, object]] = [
            (label(lang, "organisation"), org.name),
            (label(lang, "paper.version_in_force"), sections.purpose_value(lang, purpose, consent)),
            *self._person_rows(draft, person),
            (label(lang, "paper_signed_on"), format_date(signed_on, lang)),
            *sections.age_rows(consent, person, lang),
            # A minor's guardian signed the same paper; their name is on the consent record.
            *([(label(lang, "guardian"), consent.guardian_name)] if consent.guardian_name else []),
            (label(lang, "consent_id"), consent.id),
            (label(lang, "paper.record_sha256"), para(consent.text_sha256, s.mono)),
            (label(lang, "imported_at"), draft.when(imported_at)),
            (label(lang, "imported_by"), imported_by),
            (label(lang, "scan_type"), scan_type),
            (label(lang, "scan_sha256"), para(scan_hash, s.mono)),
        ]
        if consent.liveness is None:
            rows.append((label(lang, "paper.templates"), label(lang, "paper.templates.supplied")))
        if consent.expires_at is not None:
            rows.append((label(lang, "paper.expires_at"), draft.when(consent.expires_at)))
        draft.add(kv_table(rows, s))
        if record_text:
            draft.add(
                para(label(lang, "paper.section.record"), s.h2),
                *disclosure_flowables(record_text, s),
            )
        if reference is not None:
            name = f"disclosure-for-reference-{reference.language}.txt"
            draft.facts["reference_sha256"] = reference.sha256
            draft.add(
                para(
                    label(
                        lang,
                        "paper.reference",
                        version=reference_version or purpose.version,
                        filename=name,
                    ),
                    s.muted,
                ),
                para(reference.sha256, s.mono),
            )
            draft.attachments.append(
                Attachment(
                    filename=name,
                    data=reference.text.encode("utf-8"),
                    mime_type="text/plain",
                    description="Current disclosure text, for reference only: not what the "
                    "person signed (the paper form is)",
                )
            )
        if consent.liveness is not None:
            draft.add(*sections.liveness_block(consent.liveness, s))
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
        return self._finish(
            draft,
            consent_id=consent.id,
            audit_events=audit_events,
            appendix=scan_flowables(draft, pages),
        )
