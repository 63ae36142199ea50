"""Issue 13, point 8: the alternative to face recognition is required and must be a real one."""

from __future__ import annotations

import pytest

from app.desk import Desk
from app.errors import InvalidInput
from app.models import Purpose

PLACEHOLDERS = ["none", "None.", "-", "--", "n/a", "N/A", "NA", "无", "不适用", "", "   ", "无。"]


@pytest.mark.parametrize("alternative", PLACEHOLDERS)
def test_a_placeholder_alternative_is_refused_on_add(desk: Desk, alternative: str) -> None:
    with pytest.raises(InvalidInput) as err:
        desk.add_purpose(
            title="Gym",
            controller="Acme",
            contact="privacy@acme.example",
            retention_days=30,
            alternative=alternative,
        )
    assert err.value.code in {"alternative_placeholder", "required"}
    assert desk.list_purposes() == []


def test_a_placeholder_alternative_is_refused_on_edit(desk: Desk, purpose: Purpose) -> None:
    with pytest.raises(InvalidInput) as err:
        desk.edit_purpose(purpose.id, alternative="n/a")
    assert err.value.code == "alternative_placeholder"
    assert desk.get_purpose(purpose.id).version == purpose.version


@pytest.mark.parametrize("alternative", ["Access card", "前台出示门禁卡", "No-touch key fob"])
def test_a_real_alternative_is_kept_as_typed(desk: Desk, alternative: str) -> None:
    p = desk.add_purpose(
        title="Gym", controller="Acme", contact="c@x", retention_days=30, alternative=alternative
    )
    assert p.alternative == alternative
