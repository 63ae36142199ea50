"""``DocumentMaker``: builds every PDF ConsentDesk hands to a person or keeps as evidence.

All methods return PDF bytes and never touch the disk: the documents hold personal data and
the only place they may rest is the encrypted vault (the caller stores them). Each document is
printed in the person's language, embeds its only font, carries its document ID in the PDF
metadata and, when the maker has a signer, a PAdES signature over the whole file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from reportlab.platypus import Spacer

from app.disclosure import render_disclosure
from app.documents import sections
from app.documents.access_rights import access_rights_block  # issue-15
from app.documents.drafting import document_filename, new_document_id
from app.documents.face_searches import face_search_block  # issue-13
from app.documents.finish import Attachment
from app.documents.labels import label
from app.documents.layout import (
    clean,
    disclosure_flowables,
    format_date,
    grid_table,
    image_flowable,
    kv_table,
    para,
)
from app.documents.leaving import LeavingDrafting
from app.documents.paper import PaperDrafting
from app.documents.rectification import RectificationDrafting
from app.errors import InvalidInput
from app.models import (
    AuditEvent,
    Consent,
    Disclosure,
    DocumentInfo,
    FaceSearch,
    Guardian,
    Language,
    LivenessResult,
    Organisation,
    Person,
    Purpose,
    Signature,
)
from app.purpose_texts import localized, localized_all
from app.signature import validate_signature


class DocumentMaker(PaperDrafting, RectificationDrafting, LeavingDrafting):
    """Builds ConsentDesk's PDFs (the shared plumbing is in ``DraftingBase``).

    Dependencies come in through the constructor (signer, font, clock): see ``DraftingBase``.
    """

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
        renews: Consent | None = None,
        photo_destroyed: bool = False,
    ) -> bytes:
        """The signed consent form, in the consent's language (the person's, not the operator's).

        ``renews``: the earlier consent this one renews after a material purpose change (issue
        13); the form names it, since the templates were captured under it, not today.
        ``photo_destroyed``: the photo kept under it was destroyed at the renewal (the person
        did not agree again to keep it); the form says so rather than dropping it silently.

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
                "renews": renews.id if renews else None,
            }
        )
        rows = [
            (label(lang, "organisation"), org.name),
            (label(lang, "purpose"), sections.purpose_value(lang, purpose, consent)),
            *self._person_rows(draft, person),
            *sections.age_rows(consent, person, lang),
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
        if renews is not None:
            rows.append(
                (
                    label(lang, "renews"),
                    label(
                        lang,
                        "renews_value",
                        consent=renews.id,
                        version=renews.purpose_version,
                        date=draft.when(renews.signed_at),
                    ),
                )
            )
        draft.add(kv_table(rows, s))
        self._disclosure_section(draft, disclosure)
        self._decision_section(
            draft,
            person=person,
            decision="granted",
            photo_option=(
                consent.photo_consent
                if consent.photo_consent is not None
                else (photo is not None or consent.photo_count > 0)
            )
            if purpose.keep_photos
            else None,
            signature=signature,
            guardian=guardian,
            own_photo_tick=consent.photo_consent is not None,
        )
        if photo is not None:
            draft.add(para(label(lang, "photo"), s.h3), image_flowable(photo, 120, 150))
        if photo_destroyed:
            draft.add(para(label(lang, "photo_destroyed"), s.body))
            draft.facts["photo_destroyed"] = True
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
        kept_in_name: bool = True,
    ) -> bytes:
        """Record that the person said no, which alternative they use, and that no face was
        captured. ``signature`` is optional: nobody is made to sign in order to refuse.
        ``kept_in_name=False``: the person takes this record home and the workstation keeps
        no name with the refusal, only this file's SHA-256 (issue 13); the record says so."""
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
        alternative = consent.alternative or localized(purpose, lang).alternative
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
        draft.add(para(label(lang, "refusal.statement", name=clean(person.name, 300)), s.statement))
        draft.facts["kept_in_name"] = kept_in_name
        draft.add(
            para(
                label(lang, "refusal.kept_in_name" if kept_in_name else "refusal.nameless"),
                s.body,
            ),
            Spacer(1, 4),
        )
        rows = [
            (label(lang, "organisation"), org.name),
            (label(lang, "purpose"), sections.purpose_value(lang, purpose, consent)),
            *self._person_rows(draft, person),
            (label(lang, "decision"), label(lang, "decision.refused")),
            (label(lang, "alternative_chosen"), alternative),
            (label(lang, "signed_at"), draft.when(consent.signed_at)),
            (label(lang, "operator"), consent.operator),
            (label(lang, "consent_id" if kept_in_name else "refusal_id"), consent.id),
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
        face_searches: Sequence[FaceSearch] = (),
    ) -> bytes:
        """Everything held about a person (subject access). Template *values* are never passed
        in and never printed: only how many exist. ``face_searches``: who looked them up."""
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
                label(lang, "access.intro", org=clean(org.name, 300), name=clean(person.name, 300)),
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
                    (
                        label(lang, "templates_held"),
                        label(lang, "templates_note", count=template_count),
                    ),
                    (label(lang, "photos_held"), str(photo_count)),
                ],
                s,
            ),
            para(label(lang, "section.consents"), s.h2),
        )
        purposes = localized_all(purposes, lang)  # issue-13: every purpose text in lang
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
        draft.add(*face_search_block(face_searches, purposes, draft))  # issue-13
        draft.add(para(label(lang, "section.documents"), s.h2))
        if not documents:
            draft.add(para(label(lang, "documents.none"), s.body))
        else:
            draft.add(
                grid_table(
                    [
                        label(lang, "doc.kind"),
                        label(lang, "doc.created"),
                        label(lang, "document_id"),
                        label(lang, "file_sha256"),
                    ],
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
        purpose = localized(purpose, lang)  # issue-13: the rows in the notice's language
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


__all__ = ["DocumentMaker", "document_filename", "new_document_id"]
