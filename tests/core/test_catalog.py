"""The one translation catalog (resources/locale/*/LC_MESSAGES/consentdesk.po).

These tests are the translator's safety net: they fail on a key missing in either language, an
empty or fuzzy entry, a key the code uses that the catalog lacks (screens, documents, core error
codes, audit actions), a catalog entry no code uses any more, and one term translated two ways.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import get_args

import pytest

from app.i18n import Catalog, CatalogError, Message, error_message, parse_po, shipped_catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "app").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]

_LITERAL = re.compile(r""""([^"\n{}]+)"|'([^'\n{}]+)'""")
# i18n.tr("k"), I18n.text("k", lang), catalog.text("k", lang), i18n.bind(setter, "k")
_TR = re.compile(r"""\b(?:tr|text|get_text)\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")
_BIND = re.compile(r"""\bbind\(\s*[\w.]+\s*,\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")
# label(lang, "k") on documents -> pdf.k
_LABEL = re.compile(r"""\blabel\(\s*\w+\s*,\s*["']([a-z_][a-z0-9_.]*)["']""")
# f"prefix.{...}" / "prefix." + ... / term(..., "prefix.", ...): families of keys built at runtime
_FAMILY = re.compile(r"""f["']([a-z_]+(?:\.[a-z_]+)*\.)\{|["']([a-z_]+(?:\.[a-z_]+)*\.)["']""")
_ERROR_CODE = re.compile(r"""\bcode\s*=\s*["']([a-z_]+)["']""")
_AUDIT = re.compile(
    r"""(?:\.append|record_event|_signed_in)\((?:[^()]|\([^()]*\))*?["']([a-z]+\.[a-z_]+)["']""",
    re.S,
)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _used_keys() -> tuple[set[str], set[str]]:
    """(keys the code names literally, prefixes of keys it builds at runtime)."""
    keys: set[str] = set()
    families: set[str] = set()
    for path in SOURCES:
        source = _read(path)
        keys |= set(_TR.findall(source)) | set(_BIND.findall(source))
        in_documents = "documents" in path.parts
        for name in _LABEL.findall(source):
            keys.add("pdf." + name)
        for fstring, plain in _FAMILY.findall(source):
            prefix = fstring or plain
            families.add(("pdf." if in_documents and fstring else "") + prefix)
    return keys, families


def _error_codes() -> dict[str, bool]:
    """Every code raised on purpose in app/ -> whether it is a biometric one (app/bio)."""
    codes: dict[str, bool] = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        for code in _ERROR_CODE.findall(_read(path)):
            codes.setdefault(code, "bio" in path.parts)
    return codes


def _audit_actions() -> set[str]:
    actions: set[str] = set()
    for path in sorted((ROOT / "app").rglob("*.py")):
        if "documents" in path.parts or "bio" in path.parts:
            continue
        actions |= set(_AUDIT.findall(_read(path)))
    return actions


def _literals() -> set[str]:
    found: set[str] = set()
    for path in [*SOURCES, *sorted((ROOT / "tools").glob("*.py"))]:
        for double, single in _LITERAL.findall(_read(path)):
            literal = double or single
            found.add(literal)
            # derived suffixes: field names ("guardian's name" -> guardian_name), methods
            found.add(literal.replace("'s", "").replace(" ", "_").replace("-", "_"))
    return found


def test_the_catalog_parses_and_both_languages_are_complete() -> None:
    catalog = shipped_catalog()
    assert len(catalog) > 500
    assert catalog.problems() == []
    assert set(catalog.messages("en")) == set(catalog.messages("zh"))


def test_gaps_are_reported_not_hidden() -> None:
    """The completeness check is real: a fuzzy, empty, one-language or mis-placeholdered entry
    is each reported, and lookups of them fall back to English rather than show a gap."""
    en = parse_po('msgid "a"\nmsgstr "A {n}"\n\nmsgid "b"\nmsgstr "B"\n\nmsgid "c"\nmsgstr "C"\n')
    zh = parse_po(
        '#, fuzzy\nmsgid "a"\nmsgstr "甲 {n}"\n\nmsgid "b"\nmsgstr ""\n\n'
        'msgid "d"\nmsgstr "丁 {m}"\n'
    )
    en["d"] = Message("d", "D {n}", False, 0)
    catalog = Catalog({"en": en, "zh": zh})
    problems = "\n".join(catalog.problems())
    assert "zh_CN: a is marked fuzzy" in problems
    assert "zh_CN: b is not translated" in problems
    assert "zh_CN: c is missing" in problems
    assert "zh_CN: d has other {placeholders}" in problems
    assert catalog.text("a", "zh") == "A {n}"  # fuzzy: not used
    assert catalog.text("nope", "zh") == "nope"


def test_po_syntax_errors_are_refused() -> None:
    with pytest.raises(CatalogError, match="duplicate"):
        parse_po('msgid "a"\nmsgstr "1"\n\nmsgid "a"\nmsgstr "2"\n')
    with pytest.raises(CatalogError, match="not gettext"):
        parse_po('msgid "a"\nmsgstr "1"\nnonsense\n')
    with pytest.raises(CatalogError, match="escape"):
        parse_po('msgid "a"\nmsgstr "\\q"\n')
    multi = parse_po('msgid "k"\nmsgstr ""\n"one\\n"\n"two \\"q\\""\n')
    assert multi["k"].text == 'one\ntwo "q"'


def test_every_key_the_code_uses_is_in_the_catalog() -> None:
    catalog = shipped_catalog()
    keys, _ = _used_keys()
    assert {"app.title", "wd.erase.word", "pdf.section.signature", "pdf.purpose"} <= keys
    assert not sorted(k for k in keys if k not in catalog)


def test_runtime_built_keys_exist_for_every_value() -> None:
    """Keys built from a value (a status, a document kind, a hint...) exist for every value the
    core can produce."""
    from app.bio.liveness import PROMPTS
    from app.bio.quality import HINTS
    from app.models import ConsentStatus, Decision, DocumentKind, Language, Role

    catalog = shipped_catalog()
    expected = (
        [f"role.{r}" for r in get_args(Role)]
        + [f"lang.{x}" for x in get_args(Language)]
        + [f"pdf.language.{x}" for x in get_args(Language)]
        + [f"status.{s}" for s in get_args(ConsentStatus)]
        + [f"pdf.status.{s}" for s in get_args(ConsentStatus)]
        + [f"decision.{d}" for d in get_args(Decision)]
        + [f"pdf.outcome.{d}" for d in get_args(Decision)]
        + [f"{p}.{k}" for k in get_args(DocumentKind) for p in ("kind", "pdf.kind", "pdf.title")]
        + [f"hint.{h}" for h in HINTS]
        + [f"live.{p}" for p in PROMPTS]
        + [f"pdf.prompt.{p}" for p in PROMPTS]
        + [f"similarity.{s}" for s in ("very_high", "high", "moderate")]
        + [f"live.method.{m}" for m in ("active_challenge_v1", "operator_attested", "photo_file")]
    )
    assert not [k for k in expected if k not in catalog]


def test_every_error_code_raised_in_app_has_a_message_in_both_languages() -> None:
    catalog = shipped_catalog()
    codes = _error_codes()
    assert {"wrong_password", "guardian_required", "too_long", "no_face"} <= set(codes)
    missing = [
        code
        for code, bio in sorted(codes.items())
        if f"err.{code}" not in catalog and not (bio and f"bioerr.{code}" in catalog)
    ]
    assert not missing, missing


def test_every_audit_action_reads_as_words() -> None:
    catalog = shipped_catalog()
    actions = _audit_actions()
    assert {"consent.grant", "login.password", "vault.init", "person.erase"} <= actions
    missing = sorted(a for a in actions if f"audit.{a}" not in catalog)
    assert not missing, missing
    for action in actions:
        for language in ("en", "zh"):
            assert catalog.term("audit.", action, language) != action


def test_no_stale_entries() -> None:
    """An entry is in use when code names it, or when it belongs to a family of keys built at
    runtime (``status.{...}``) and its last part is a value that appears in the code."""
    catalog = shipped_catalog()
    keys, families = _used_keys()
    literals = _literals()
    codes = set(_error_codes())
    stale = []
    for key in catalog:
        if key in keys or key in literals or key.removeprefix("pdf.") in literals:
            continue
        family = max((f for f in families if key.startswith(f)), key=len, default=None)
        if family is not None and key[len(family) :] in literals | codes:
            continue
        stale.append(key)
    assert not stale, f"catalog entries no code uses (remove with tools/catalog.py): {stale}"


# Same English, deliberately different Chinese: a different meaning, not a second translation.
DIFFERENT_MEANING = {
    "pdf.audit.seq": "'No.' is the row number column, not the answer 'no'",
    "set.org.name": "an organisation's name (名称), not a person's name (姓名)",
    "pdf.photos_count": "a column of counts (照片数), not the kind of record",
    "lang.en": "the language picker also shows each language's own name",
    "lang.zh": "the language picker also shows each language's own name",
}


def test_one_term_one_translation() -> None:
    """Where two entries say the same in English (screen and paper: Purpose, Organisation,
    Alternative...), they say the same in Chinese."""
    catalog = shipped_catalog()
    by_english: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for key in catalog:
        if key in DIFFERENT_MEANING or key.startswith("err."):  # err.*: "{detail}" wrappers
            continue
        english = catalog.text(key, "en").strip().rstrip(".:…").lower()
        by_english[english][catalog.text(key, "zh").strip().rstrip("。：:.…")].append(key)
    differing = {en: dict(zh) for en, zh in by_english.items() if len(zh) > 1}
    assert not differing, differing
    assert catalog.text("pdf.purpose", "zh") == catalog.text("review.purpose", "zh") == "目的"


def test_core_errors_read_in_either_language_and_english_by_default() -> None:
    from app.errors import InvalidInput, LockedOut

    too_long = InvalidInput(
        "organisation name is too long",
        code="too_long",
        params={"field": "organisation name", "limit": 200},
    )
    assert error_message(too_long, "zh") == "机构名称过长（最多 200 个字符）。"
    assert "too long" in error_message(too_long, "en")
    wait = LockedOut("locked out", retry_after=2.2)
    assert error_message(wait, "zh") == "登录失败次数过多。"
    unknown = InvalidInput("An English sentence", code="no_such_code")
    assert error_message(unknown, "zh") == "An English sentence"


def test_documents_and_disclosure_read_the_catalog() -> None:
    from app.disclosure import decision_labels
    from app.documents.labels import LABELS, label, term

    assert label("zh", "purpose") == "目的"
    assert LABELS["purpose"] == ("Purpose", "目的")
    assert decision_labels("zh").consent == shipped_catalog().text("pdf.decision.granted", "zh")
    assert term("zh", "audit.", "consent.grant") == "已同意"
    assert term("en", "live.method.", "operator-attested").startswith("not checked")
    assert term("en", "audit.", "some.future_action") == "some.future_action"


@pytest.mark.parametrize(("language", "words"), [("en", "Consent given"), ("zh", "已同意")])
def test_access_report_audit_page_reads_words(language: str, words: str) -> None:
    from pypdf import PdfReader

    from app.documents import DocumentMaker
    from tests.core import test_documents_fixtures as fx

    lang = "zh" if language == "zh" else "en"
    events = tuple(
        dataclasses.replace(event, action=action)
        for event, action in zip(
            fx.audit_events(3), ("person.create", "consent.grant", "login.password"), strict=True
        )
    )
    pdf = DocumentMaker(None, clock=lambda: fx.T0).access_report(
        org=fx.org(lang), person=fx.person(lang), consents=[fx.consent(lang)],
        purposes=[fx.purpose(lang)], documents=fx.documents(), audit_events=events,
        template_count=1, operator="desk.jones", document_id="doc-audit-words",
    )  # fmt: skip
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert re.sub(r"\s+", "", words) in text
    assert "consent.grant" not in text and "person.create" not in text


def test_catalog_tool_absorbs_an_old_table_from_a_merged_branch(tmp_path: Path) -> None:
    """A branch that still adds to the former dict tables is merged with tools/catalog.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("catalog_tool", ROOT / "tools" / "catalog.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    old = tmp_path / "old.py"
    old.write_text(
        "STRINGS: dict[str, tuple[str, str]] = {\n"
        '    "wd.new_key": ("New {n}", "新 {n}"),\n'
        '    "app.title": ("Renamed", "改名"),\n'
        "}\n",
        encoding="utf-8",
    )
    catalogs = tool.load()
    differing = tool.absorb(catalogs, old, "")
    assert differing == ["app.title"]
    assert catalogs["zh_CN"]["wd.new_key"].text == "新 {n}"
    keys = list(catalogs["en"])
    assert keys.index("wd.new_key") == max(i for i, k in enumerate(keys) if k.startswith("wd."))
    rendered = tool.render("zh_CN", catalogs["zh_CN"])
    assert parse_po(rendered)["wd.new_key"].text == "新 {n}"
    assert Catalog({"en": catalogs["en"], "zh": catalogs["zh_CN"]}).problems() == []
