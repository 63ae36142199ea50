"""What GDPR Art. 15(1) and PIPL Art. 45 require an access report to state, per purpose.

The access report listed the data held but not *why*, *who sees it*, *how long*, *where it came
from* and *what the person can do about it*. This block adds, for every purpose the person has a
consent record for: the purpose (Art. 15(1)(a)), the categories of data (b), the recipients (c),
the retention period (d), the source (g), automated processing (h); then the rights (e, and
PIPL's 查阅、复制、更正、补充、删除、解释说明、转移) and the complaint channel (f).

Its own module so the access report in ``maker.py`` stays one call; the words are the catalog's
``pdf.access.*`` entries like every other document label.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable, Spacer

from app.documents.labels import label
from app.documents.layout import Styles, clean, kv_table, para
from app.models import Consent, Purpose


def access_rights_block(
    *,
    consents: Sequence[Consent],
    purposes: Sequence[Purpose],
    has_reference: bool,
    has_date_of_birth: bool,
    styles: Styles,
) -> list[Flowable]:
    """Per purpose the Art. 15(1)(a)-(d), (g), (h) facts, then the rights and complaint channel."""
    lang = styles.language
    s = styles
    out: list[Flowable] = [para(label(lang, "access.section"), s.h2)]
    by_version = {p.version_id: p for p in purposes}
    seen: set[int] = set()
    regulators: list[str] = []
    for consent in consents:
        purpose = by_version.get(consent.purpose_version_id)
        if purpose is None or purpose.version_id in seen:
            continue
        seen.add(purpose.version_id)
        categories = label(
            lang,
            "access.categories_value",
            reference=label(lang, "access.reference") if has_reference else "",
            dob=label(lang, "access.dob") if has_date_of_birth else "",
            photos=label(lang, "access.photos") if purpose.keep_photos else "",
        )
        if consent.paper_signed_on is not None:
            source = label(lang, "access.source_paper", date=consent.paper_signed_on.isoformat())
        else:
            source = label(lang, "access.source_desk")
        purpose_text = clean(purpose.title, 300)
        if purpose.description:
            purpose_text += " — " + clean(purpose.description, 1000)
        rows: list[tuple[str, object]] = [
            (label(lang, "access.purpose"), purpose_text),
            (label(lang, "access.categories"), categories),
            (
                label(lang, "access.recipients"),
                clean(purpose.recipients, 1000) or label(lang, "access.recipients_none"),
            ),
            (
                label(lang, "access.retention"),
                label(lang, "access.retention_value", days=purpose.retention_days),
            ),
            (label(lang, "access.source"), source),
            (label(lang, "access.automated"), label(lang, "access.automated_value")),
            (
                label(lang, "access.controller"),
                f"{clean(purpose.controller, 300)} · {clean(purpose.contact, 300)}",
            ),
        ]
        out += [kv_table(rows, s), Spacer(1, 6)]
        if purpose.regulator and purpose.regulator not in regulators:
            regulators.append(clean(purpose.regulator, 300))
    regulator = "; ".join(regulators) or label(lang, "access.regulator_default")
    out += [
        para(label(lang, "access.rights_title"), s.h3),
        para(label(lang, "access.rights"), s.body),
        para(label(lang, "access.complaint"), s.h3),
        para(label(lang, "access.complaint_value", regulator=regulator), s.body),
        Spacer(1, 6),
    ]
    return out
