"""The access report's "who looked you up" section (issue 13).

Every face search that returned the person as a candidate is an audit entry under their ID
(who searched, when, for which task and purpose, how many candidates). A person asking what is
held about them is told of each one: being recognised is itself processing of their biometric
data, and a list of searches is the only way they can notice tracking they never agreed to.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable

from app.documents.drafting import Draft
from app.documents.labels import label
from app.documents.layout import grid_table, para
from app.models import FaceSearch, Purpose


def face_search_block(
    searches: Sequence[FaceSearch], purposes: Sequence[Purpose], draft: Draft
) -> list[Flowable]:
    lang, s = draft.language, draft.styles
    out: list[Flowable] = [
        para(label(lang, "section.face_searches"), s.h2),
        para(label(lang, "face_searches.intro"), s.body),
    ]
    if not searches:
        out.append(para(label(lang, "face_searches.none"), s.body))
        return out
    titles = {p.id: p.title for p in purposes}

    def purpose_text(search: FaceSearch) -> str:
        if search.task == "withdrawal":  # the person's own templates, to confirm who they are
            return label(lang, "face_searches.own_templates")
        if search.purpose_id is None:
            return label(lang, "face_searches.any_purpose")
        return titles.get(search.purpose_id) or f"#{search.purpose_id}"

    rows = [
        [
            draft.when(f.at),
            f.actor,
            label(lang, f"face_searches.task.{f.task}"),
            purpose_text(f),
            str(f.candidates),
        ]
        for f in searches
    ]
    header = [
        label(lang, "face_searches.when"),
        label(lang, "face_searches.who"),
        label(lang, "face_searches.task"),
        label(lang, "purpose"),
        label(lang, "face_searches.candidates"),
    ]
    out.append(grid_table(header, rows, s, [2.0, 1.4, 2.0, 2.4, 1.2]))
    return out
