"""The disclosure text: complete, in both languages, and hashed deterministically."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.disclosure import (
    decision_labels,
    disclosure_is_intact,
    normalise_text,
    render_disclosure,
    render_text,
)
from app.models import Organisation, Purpose
from app.resources import resource_path, resources_root
from tests.core import test_documents_fixtures as fx


@pytest.mark.parametrize("language", ["en", "zh"])
def test_hash_is_sha256_of_exact_utf8_text(language: str) -> None:
    d = fx.disclosure(language)  # type: ignore[arg-type]
    assert d.sha256 == hashlib.sha256(d.text.encode("utf-8")).hexdigest()
    assert disclosure_is_intact(d)
    assert d.language == language
    assert d.purpose_version_id == 11


@pytest.mark.parametrize("language", ["en", "zh"])
def test_rendering_is_deterministic(language: str) -> None:
    a = fx.disclosure(language)  # type: ignore[arg-type]
    b = fx.disclosure(language)  # type: ignore[arg-type]
    assert a == b


def test_english_text_covers_purpose_collection_risks_and_rights() -> None:
    text = fx.disclosure("en").text
    for needle in [
        "Building access by face (version 2)",
        "not a photo",
        "encrypted on this workstation",
        "Nobody outside Harbourside",
        "365 days",
        "deletes it automatically",
        "photo, a video or a mask",
        "twin",
        "age",
        "change your face the way you change a password",
        "covert tracking or surveillance",
        "children",
        "no penalty",
        "show your access card at the front desk",
        "withdraw your consent at any time",
        "in person",
        "erase all your data",
        "see everything we hold about you",
        "Information Commissioner's Office",
        "privacy@harbourside.example",
    ]:
        assert needle in text, needle
    assert "{" not in text and "}" not in text


def test_chinese_text_covers_the_same_points() -> None:
    text = fx.disclosure("zh").text
    for needle in [
        "大楼门禁人脸识别（第2版）",
        "不是照片",
        "加密保存",
        "365天",
        "自动删除",
        "照片、视频或面具",
        "双胞胎",
        "年龄",
        "修改密码",
        "秘密跟踪或监视",
        "儿童",
        "不利后果",
        "在前台出示门禁卡",
        "随时撤回同意",
        "本人到本服务台",
        "删除您的全部数据",
        "查阅、复制我们保存的关于您的全部信息",
        "市网信办个人信息保护投诉渠道",
    ]:
        assert needle in text, needle
    # No placeholder survived and empty recipients fell back to the default sentence.
    assert "{" not in text
    assert "除海港物业管理有限公司外" in text


@pytest.mark.parametrize("language", ["en", "zh"])
def test_photo_paragraph_only_when_the_purpose_keeps_photos(language: str) -> None:
    without = fx.disclosure(language).text  # type: ignore[arg-type]
    with_photo = fx.disclosure(language, keep_photos=True).text  # type: ignore[arg-type]
    marker = "separate box" if language == "en" else "另行勾选"
    assert marker not in without
    assert marker in with_photo
    assert fx.disclosure(language).sha256 != fx.disclosure(language, True).sha256  # type: ignore[arg-type]


def test_regulator_fallback_when_purpose_names_none() -> None:
    """Without a regulator on the purpose or in the settings, the jurisdiction's default is
    named (CN: the cyberspace administration), or a generic authority where the law has none."""
    p = dataclasses.replace(fx.purpose("en"), regulator="")
    assert "Cyberspace Administration of China" in render_text(p, fx.ORG, "en")
    us = dataclasses.replace(fx.ORG, jurisdiction="US")
    assert "the data protection authority" in render_text(p, us, "en")


def test_values_are_not_reinterpreted_as_placeholders_or_lines() -> None:
    p = dataclasses.replace(
        fx.purpose("en"), title="Gate {contact} \n7. Fake heading", alternative="a key."
    )
    text = render_text(p, fx.ORG, "en")
    assert "Gate {contact} 7. Fake heading (version 2)" in text
    assert "\n7. Fake heading" not in text
    assert "instead: a key." in text  # no doubled full stop


def test_normalise_text_handles_line_endings_and_trailing_space() -> None:
    assert normalise_text("a \r\nb\r\r\n\n\nc  ") == "a\nb\n\nc\n"
    assert normalise_text("e\u0301") == "\u00e9\n"


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        render_disclosure(fx.purpose(), fx.ORG, "fr")  # type: ignore[arg-type]


def test_decision_labels_in_both_languages() -> None:
    assert decision_labels("en").consent == "I consent"
    assert decision_labels("en").refuse == "I do not consent — use the alternative"
    assert decision_labels("zh").consent == "我同意"
    assert "替代方式" in decision_labels("zh").refuse


def test_resource_path_rejects_escapes_and_finds_the_checkout() -> None:
    assert resource_path("disclosure", "en.txt").is_file()
    with pytest.raises(ValueError):
        resource_path("..", "pyproject.toml")
    with pytest.raises(ValueError):
        resource_path("disclosure/en.txt")


def test_resource_root_prefers_pyinstaller_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "resources").mkdir()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_root() == tmp_path / "resources"
    monkeypatch.delattr(sys, "_MEIPASS")
    assert (resources_root() / "disclosure" / "zh.txt").is_file()


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    title=_text,
    controller=_text,
    alternative=_text,
    regulator=_text,
    days=st.integers(min_value=1, max_value=10_000),
    keep=st.booleans(),
    language=st.sampled_from(["en", "zh"]),
)
def test_property_hash_is_deterministic_and_matches_text(
    title: str,
    controller: str,
    alternative: str,
    regulator: str,
    days: int,
    keep: bool,
    language: str,
) -> None:
    p = Purpose(
        id=1,
        version=1,
        version_id=5,
        title=title,
        controller=controller,
        contact="desk",
        retention_days=days,
        alternative=alternative,
        regulator=regulator,
        keep_photos=keep,
    )
    org = Organisation(name="Org " + controller)
    a = render_disclosure(p, org, language)  # type: ignore[arg-type]
    b = render_disclosure(p, org, language)  # type: ignore[arg-type]
    assert a == b
    assert a.sha256 == hashlib.sha256(a.text.encode("utf-8")).hexdigest()
    assert normalise_text(a.text) == a.text
    assert str(days) in a.text


def test_both_templates_use_the_same_placeholders_and_blocks() -> None:
    def fields(language: str) -> set[str]:
        template = resource_path("disclosure", f"{language}.txt").read_text(encoding="utf-8")
        return set(re.findall(r"\{([?!/]?[a-z_]+)\}", template))

    assert fields("en") == fields("zh")
    assert {"alternative", "regulator", "retention_days", "?keep_photos"} <= fields("en")
