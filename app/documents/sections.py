"""Blocks that appear on several documents: signatures, liveness, verification, audit trail.

Each function returns flowables for one block, in the document's language, so a builder is a
readable sequence of blocks and the same fact is always printed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table

from app.documents.audit_words import sentence
from app.documents.labels import label, term
from app.documents.layout import (
    FRAME_WIDTH,
    RULE,
    QrCode,
    Styles,
    format_date,
    format_datetime,
    grid_table,
    kv_table,
    para,
    table_style,
)
from app.models import (
    AuditEvent,
    Consent,
    Language,
    LivenessResult,
    Person,
    Purpose,
    Signature,
)
from app.org_authority import grouped  # issue-15
from app.purpose_texts import localized
from app.signature import signature_sha256

SIGNATURE_WIDTH = 210.0


def purpose_value(language: Language, purpose: Purpose | None, consent: Consent | None) -> str:
    """ "Title (version N)", or the bare version reference when the purpose row is gone."""
    if purpose is not None:
        title = localized(purpose, language).title  # issue-13: in the document's language
        return label(language, "purpose_value", title=title, version=purpose.version)
    if consent is not None:
        return label(
            language,
            "purpose_value",
            title=f"#{consent.purpose_id}",
            version=consent.purpose_version,
        )
    return label(language, "not_given")


def signature_block(signature: Signature | None, caption: str, styles: Styles) -> list[Flowable]:
    """The drawn signature above a rule and its caption, plus the stroke-data fingerprint."""
    lang = styles.language
    if signature is None:
        return [para(f"{caption}: {label(lang, 'signature_missing')}", styles.body)]
    image = SignatureDrawing(signature, SIGNATURE_WIDTH, 80)
    table = Table(
        [[image], [para(caption, styles.small)]],
        colWidths=[SIGNATURE_WIDTH + 20],
        hAlign="LEFT",
    )
    table.setStyle(
        table_style(
            styles,
            [
                ("LINEBELOW", (0, 0), (0, 0), 0.8, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
            ],
        )
    )
    fingerprint = para(
        f"{label(lang, 'signature_sha256')}: {signature_sha256(signature)}", styles.muted
    )
    return [KeepTogether([table, fingerprint]), Spacer(1, 6)]


def liveness_block(liveness: LivenessResult | None, styles: Styles) -> list[Flowable]:
    lang = styles.language
    out: list[Flowable] = [para(label(lang, "section.liveness"), styles.h2)]
    if liveness is None:
        out.append(para(label(lang, "liveness.none"), styles.body))
        return out
    rows: list[tuple[str, object]] = [
        (
            label(lang, "liveness.result"),
            label(lang, "liveness.passed" if liveness.passed else "liveness.failed"),
        ),
        (label(lang, "liveness.method"), term(lang, "live.method.", liveness.method)),
    ]
    if liveness.identity_distance is not None:
        rows.append(
            (label(lang, "liveness.identity_distance"), f"{liveness.identity_distance:.3f}")
        )
    if liveness.skip_reason:
        rows.append((label(lang, "liveness.skip_reason"), liveness.skip_reason))
    if liveness.approved_by:
        rows.append((label(lang, "liveness.approved_by"), liveness.approved_by))
    if liveness.note:
        rows.append((label(lang, "liveness.note"), liveness.note))
    out.append(kv_table(rows, styles))
    if liveness.steps:
        step_rows = [
            [
                label(lang, f"prompt.{step.prompt}"),
                label(lang, "liveness.passed" if step.passed else "liveness.failed"),
                label(lang, "liveness.ms", ms=step.elapsed_ms),
            ]
            for step in liveness.steps
        ]
        out.append(Spacer(1, 4))
        out.append(
            grid_table(
                [
                    label(lang, "liveness.step"),
                    label(lang, "liveness.result"),
                    label(lang, "liveness.elapsed"),
                ],
                step_rows,
                styles,
                [3, 2, 2],
            )
        )
    return out


def verification_block(
    *,
    org_name: str,
    document_id: str,
    consent_id: str | None,
    content_hash: str,
    signed: bool,
    styles: Styles,
    root_fingerprint: str | None = None,
    timestamped: bool = False,
    audit_head: str | None = None,
) -> list[Flowable]:
    """QR code (document ID, consent ID, content hash) beside the same values in plain text.

    ``audit_head`` (``SEQ:MAC``, the vault's audit log when the document was made) is printed
    too: the person's copy then witnesses the chain (``consentdesk audit verify --against``).

    issue-15: a signed document also prints the organisation root's fingerprint (so a reader
    can tell which root to trust) and whether its time is certified or only the clock's."""
    lang = styles.language
    payload = f"consentdesk:doc={document_id};consent={consent_id or ''};sha256={content_hash}"
    rows: list[tuple[str, object]] = [(label(lang, "document_id"), document_id)]
    if consent_id:
        rows.append((label(lang, "consent_id"), consent_id))
    rows.append((label(lang, "content_sha256"), para(content_hash, styles.mono)))
    # issue-15 (begin): root fingerprint and kind of signing time
    if signed and root_fingerprint:
        fingerprint = para(grouped(root_fingerprint), styles.mono)
        rows.append((label(lang, "verify.root_fingerprint"), fingerprint))
    if signed:
        time_key = "verify.time_tsa" if timestamped else "verify.time_clock"
        rows.append((label(lang, "verify.signing_time"), label(lang, time_key)))
    # issue-15 (end)
    if audit_head:
        seq, _, mac = audit_head.partition(":")
        rows.append((label(lang, "verify.audit_head"), para(f"{seq}:{grouped(mac)}", styles.mono)))
    explain = (
        label(lang, "verify.text", org=org_name) if signed else label(lang, "verify.text_no_signer")
    )
    qr = QrCode(payload)
    text_width = FRAME_WIDTH - qr.width - 10
    inner_rows = kv_table(rows, styles, label_width=95, width=text_width)
    table = Table([[inner_rows, qr]], colWidths=[text_width, qr.width + 10], hAlign="LEFT")
    table.setStyle(
        table_style(
            styles,
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ],
        )
    )
    block = [para(label(lang, "section.verify"), styles.h2), table, para(explain, styles.muted)]
    if signed and root_fingerprint:  # issue-15
        block.append(para(label(lang, "verify.how"), styles.muted))
    return [KeepTogether(block)]


def audit_block(
    events: Sequence[AuditEvent], tz_name: str, styles: Styles, *, new_page: bool = True
) -> list[Flowable]:
    """The audit trail as a table on its own page(s), oldest first."""
    lang = styles.language
    out: list[Flowable] = [PageBreak()] if new_page else []
    out += [
        para(label(lang, "section.audit"), styles.h2),
        para(label(lang, "audit.intro"), styles.muted),
    ]
    if not events:
        out.append(para(label(lang, "audit.none"), styles.body))
        return out
    rows = [
        [
            str(event.seq),
            format_datetime(event.at, tz_name, lang),
            event.actor,
            event.subject or "",
            sentence(event, lang),  # issue-15: the details in words, not JSON
        ]
        for event in sorted(events, key=lambda e: (e.seq, e.at))
    ]
    header = [
        label(lang, "audit.seq"),
        label(lang, "audit.at"),
        label(lang, "audit.actor"),
        label(lang, "audit.subject"),
        label(lang, "audit.event"),
    ]
    out.append(Spacer(1, 4))
    out.append(grid_table(header, rows, styles, [0.6, 2.0, 1.2, 1.5, 4.5]))
    return out


def age_rows(
    consent: Consent, person: Person | None, language: Language
) -> list[tuple[str, object]]:
    """How the record knows the person is an adult (or that a guardian signed): the date of
    birth, or the attestation made instead and by whom (issue 13)."""
    basis = consent.age_basis
    if basis is None:
        return []
    if basis == "date_of_birth":
        born = person.date_of_birth if person is not None else None
        value = format_date(born, language) if born else label(language, "age.date_of_birth")
        return [(label(language, "date_of_birth"), value)]
    who = consent.age_attested_by or consent.operator
    key = "age.id_document_seen" if basis == "id_document_seen" else "age.organisation_records"
    return [(label(language, "age_basis"), label(language, key, who=who))]


def consent_rows(
    consent: Consent, purpose: Purpose | None, tz_name: str, language: Language
) -> list[tuple[str, object]]:
    """The facts of one consent record, as printed on the access report and receipts."""
    rows: list[tuple[str, object]] = [
        (label(language, "consent_id"), consent.id),
        (label(language, "purpose"), purpose_value(language, purpose, consent)),
        (label(language, "decision"), label(language, f"outcome.{consent.decision}")),
        (label(language, "status"), label(language, f"status.{consent.status}")),
        (label(language, "signed_at"), format_datetime(consent.signed_at, tz_name, language)),
        (label(language, "operator"), consent.operator),
        (label(language, "language"), label(language, f"language.{consent.language}")),
        (label(language, "text_sha256"), consent.text_sha256),
    ]
    if consent.paper_signed_on is not None:
        rows.append(
            (label(language, "paper_signed_on"), format_date(consent.paper_signed_on, language))
        )
    rows += age_rows(consent, None, language)
    if consent.alternative:
        rows.append((label(language, "alternative_chosen"), consent.alternative))
    if consent.guardian_name:
        rows.append((label(language, "guardian"), consent.guardian_name))
    if consent.expires_at is not None:
        rows.append(
            (label(language, "expires_at"), format_datetime(consent.expires_at, tz_name, language))
        )
    if consent.withdrawn_at is not None:
        rows.append(
            (
                label(language, "withdrawn_at"),
                format_datetime(consent.withdrawn_at, tz_name, language),
            )
        )
    if consent.withdraw_reason:
        rows.append((label(language, "withdraw_reason"), consent.withdraw_reason))
    if consent.liveness is not None:
        rows.append(
            (
                label(language, "section.liveness"),
                label(
                    language, "liveness.passed" if consent.liveness.passed else "liveness.failed"
                ),
            )
        )
    rows.append((label(language, "templates_count"), str(consent.template_count)))
    rows.append((label(language, "photos_count"), str(consent.photo_count)))
    return rows


class SignatureDrawing(Flowable):  # type: ignore[misc]
    """The strokes as they were drawn, as vector paths in the pen's ink.

    Why not a picture (issue 12): a 900-pixel colour image was a third of every stored consent
    form (12-25 KB of the ~40 KB a person may cost the vault); the paths take well under 1 KB,
    print sharp at any resolution and keep every point the person drew."""

    INK = (16 / 255, 32 / 255, 96 / 255)  # the pad's ink (app.signature.render_signature)

    def __init__(self, signature: Signature, max_width: float, max_height: float) -> None:
        super().__init__()
        self._sig = signature
        pad_w, pad_h = max(1, signature.width), max(1, signature.height)
        self._scale = min(max_width / pad_w, max_height / pad_h)
        self.width, self.height = pad_w * self._scale, pad_h * self._scale
        self.hAlign = "LEFT"

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        import math

        c, k, h = self.canv, self._scale, self.height
        margin = 0.04
        inner = 1.0 - 2 * margin
        c.saveState()
        c.setStrokeColorRGB(*self.INK)
        c.setFillColorRGB(*self.INK)
        width = max(0.6, self.width / 180)
        c.setLineWidth(width)
        c.setLineCap(1)
        c.setLineJoin(1)
        for stroke in self._sig.strokes:
            pts = [
                (self.width * margin + p.x * k * inner, h - (h * margin + p.y * k * inner))
                for p in stroke
                if math.isfinite(p.x) and math.isfinite(p.y)
            ]
            if len(pts) == 1:
                c.circle(pts[0][0], pts[0][1], width / 2, stroke=0, fill=1)
            elif pts:
                path = c.beginPath()
                path.moveTo(*pts[0])
                for x, y in pts[1:]:
                    path.lineTo(round(x, 2), round(y, 2))
                c.drawPath(path, stroke=1, fill=0)
        c.restoreState()
