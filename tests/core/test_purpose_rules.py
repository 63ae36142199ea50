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


def test_a_purpose_without_chinese_texts_cannot_be_shown_in_chinese(desk: Desk) -> None:
    """issue-13, point 7."""
    from tests.core.vaultkit import sign_necessity

    bare = sign_necessity(
        desk,
        desk.add_purpose(
            title="Gym", controller="Acme", contact="c@x", retention_days=30,
            alternative="Show the membership card", description="Opening the gym door",
        ),
    )  # fmt: skip
    assert desk.disclosure(bare.id, "en").text
    with pytest.raises(InvalidInput) as err:
        desk.disclosure(bare.id, "zh")
    assert err.value.code == "purpose_language_missing"
    assert "title" in str(err.value) and "alternative" in str(err.value)
    # Half a translation is still no translation: the description has English text.
    desk.edit_purpose(
        bare.id,
        material=False,
        title_zh="健身房",
        controller_zh="Acme",
        alternative_zh="出示会员卡",
    )
    with pytest.raises(InvalidInput) as err:
        desk.disclosure(bare.id, "zh")
    assert "description" in str(err.value)
    done = desk.edit_purpose(bare.id, description_zh="开启健身房门")
    zh = desk.disclosure(done.id, "zh").text
    assert "健身房" in zh and "出示会员卡" in zh and "开启健身房门" in zh
    assert not any(w in zh for w in ("Gym", "Show the membership card", "Opening the gym"))


def test_purpose_fixture_disclosure_in_chinese_has_no_english_purpose_text(
    desk: Desk, purpose: Purpose
) -> None:
    zh = desk.disclosure(purpose.id, "zh").text
    for english in (purpose.title, purpose.alternative, purpose.recipients, purpose.regulator):
        assert english not in zh
    assert purpose.title_zh in zh
