"""The necessity and proportionality test, and the gate that enrolment passes through.

A purpose cannot enrol anyone until an admin has answered, and signed, why face recognition is
needed there at all and why the alternative is not enough (the paper's "narrow
proportionality"). The answers belong to a purpose *version*: changing them makes a new version,
so every consent points at a version whose justification was on file when it was given. A later
version made by editing other fields (wording, retention) keeps the last signed answers in force;
the overview shows them as ``stale`` so the admin reviews them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from app.compliance.types import SCENARIOS, NecessityAnswers, NecessityTest
from app.db import Connection
from app.errors import InvalidInput
from app.validation import clean_text
from app.values import _dt


class NecessityMissing(InvalidInput):
    """Enrolment under a purpose whose necessity test was never signed."""

    code = "necessity_missing"


class AssessmentMissing(InvalidInput):
    """A public-interest security purpose is regulated *before* use: its impact assessment must
    be on file before anyone is enrolled."""

    code = "assessment_missing"


def clean_answers(answers: NecessityAnswers) -> NecessityAnswers:
    """Validated, trimmed answers; every one is required (an empty justification is none)."""
    if answers.scenario not in SCENARIOS:
        raise InvalidInput(
            f"The scenario must be one of: {', '.join(SCENARIOS)}.", code="invalid_scenario"
        )

    def text(value: str, what: str) -> str:
        return clean_text(value, what, required=True, limit=2000) or ""

    return NecessityAnswers(
        necessity=text(answers.necessity, "necessity"),
        why_not_alternative=text(answers.why_not_alternative, "why the alternative is not enough"),
        scenario=answers.scenario,
        access=text(answers.access, "who may see the data"),
    )


def answers_sha256(answers: NecessityAnswers) -> str:
    body = json.dumps(dataclasses.asdict(answers), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


_SQL = (
    "SELECT purpose_id, purpose_version, necessity, why_not_alternative, scenario, access, "
    "answers_sha256, signed_by, signed_at, signature FROM purpose_assessments "
)


def _row(r: Any) -> NecessityTest:
    return NecessityTest(
        purpose_id=int(r[0]),
        purpose_version=int(r[1]),
        answers=NecessityAnswers(r[2], r[3], r[4], r[5]),
        answers_sha256=r[6],
        signed_by=r[7],
        signed_at=_dt(r[8]),  # type: ignore[arg-type]
        has_handwritten_signature=r[9] is not None,
    )


def necessity_in_force(conn: Connection, purpose_id: int, version: int) -> NecessityTest | None:
    """The signed answers that hold for ``version``: those of that version or the newest
    earlier one."""
    row = conn.execute(
        _SQL + "WHERE purpose_id = ? AND purpose_version <= ? ORDER BY purpose_version DESC "
        "LIMIT 1",
        (purpose_id, version),
    ).fetchone()
    return _row(row) if row else None


def all_in_force(conn: Connection) -> dict[int, NecessityTest]:
    """Newest signed answers per purpose (one query for the overview)."""
    rows = conn.execute(
        _SQL + "WHERE (purpose_id, purpose_version) IN (SELECT purpose_id, max(purpose_version) "
        "FROM purpose_assessments GROUP BY purpose_id)"
    ).fetchall()
    return {int(r[0]): _row(r) for r in rows}


def has_impact_assessment(conn: Connection, purpose_id: int, version: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM impact_assessments WHERE purpose_id = ? AND purpose_version <= ? LIMIT 1",
        (purpose_id, version),
    ).fetchone()
    return row is not None


def require_necessity(conn: Connection, purpose_id: int, version: int) -> NecessityTest:
    """Raise unless the purpose version may be used to enrol people (the enrolment gate)."""
    test = necessity_in_force(conn, purpose_id, version)
    if test is None:
        raise NecessityMissing(
            "This purpose has no signed necessity and proportionality test, so nobody can be "
            "enrolled under it yet. An admin must answer and sign it first "
            "(consentdesk purpose assess).",
            params={"purpose": purpose_id},
        )
    if test.answers.scenario == "security" and not has_impact_assessment(conn, purpose_id, version):
        raise AssessmentMissing(
            "This purpose is public-interest security: its impact assessment must be issued "
            "before anyone is enrolled (consentdesk assessment).",
            params={"purpose": purpose_id},
        )
    return test
