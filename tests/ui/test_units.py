"""Small pieces: the translation table, the signature pad, the paged registry model, the runner."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

from tests.core.vaultkit import sign_necessity  # issue-16
from tests.ui.conftest import ADMIN, PASSWORD, cheap_options


def test_every_string_has_both_languages_with_the_same_placeholders() -> None:
    from ui.i18n import STRINGS

    fields = string.Formatter()
    for key, (en, zh) in STRINGS.items():
        assert en.strip() and zh.strip(), key
        names_en = {f[1] for f in fields.parse(en) if f[1]}
        names_zh = {f[1] for f in fields.parse(zh) if f[1]}
        assert names_en == names_zh, key


def test_every_key_used_in_ui_exists() -> None:
    from ui.i18n import STRINGS

    root = Path(__file__).resolve().parents[2] / "ui"
    used: set[str] = set()
    pattern = re.compile(r"""(?:tr|bind\([^,]+,|text)\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
    for path in root.rglob("*.py"):
        used |= set(pattern.findall(path.read_text("utf-8")))
    simple = re.compile(
        r"""["']((?:wiz|details|decision|sig|cap|hint|live|review|done|doc|reg|"""
        r"""person|wd|set|unlock|init|recovery|app|common|tab)\.[a-z_.]+)["']"""
    )
    for path in root.rglob("*.py"):
        used |= {k for k in simple.findall(path.read_text("utf-8")) if not k.endswith(".")}
    missing = sorted(k for k in used if k not in STRINGS)
    assert not missing, missing


def test_quality_hints_and_liveness_prompts_are_translated() -> None:
    from app.bio.liveness import PROMPTS
    from app.bio.quality import HINTS
    from ui.i18n import STRINGS

    for hint in HINTS:
        assert f"hint.{hint}" in STRINGS, hint
    for prompt in (*PROMPTS, "look_at_camera", "hold_still"):
        assert f"live.{prompt}" in STRINGS, prompt


def test_signature_pad_records_strokes_and_clears(qtbot: Any, themed: Any) -> None:
    from PySide6.QtCore import QPoint, Qt

    from app.signature import validate_signature
    from ui.signature_pad import SignaturePad

    pad = SignaturePad()
    qtbot.addWidget(pad)
    pad.resize(600, 200)
    pad.show()
    qtbot.waitExposed(pad)
    assert pad.signature() is None
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(60, 120))
    for i in range(40):
        qtbot.mouseMove(pad, QPoint(60 + i * 12, 60 if i % 2 else 150))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(540, 120))
    signature = pad.signature()
    assert signature is not None and signature.width == 600
    validate_signature(signature)
    pad.clear()
    assert pad.signature() is None


def test_registry_model_pages_lazily(qtbot: Any, themed: Any, tmp_path: Path) -> None:
    from app.desk import Desk, PersonDetails, RefusalRequest
    from app.models import Signature, SignaturePoint
    from ui.i18n import I18n
    from ui.screens.registry import PeopleModel

    desk, _ = Desk.initialise(tmp_path / "h", "Org", ADMIN, PASSWORD, options=cheap_options())
    purpose = desk.add_purpose(
        title="Entry", controller="Org", contact="c", retention_days=30, alternative="Key card"
    )
    purpose = sign_necessity(desk, purpose)  # issue-16
    sha = desk.disclosure(purpose.id, "en").sha256
    strokes = (tuple(SignaturePoint(40 + i * 12, 60 + (i % 2) * 50, i) for i in range(40)),)
    sig = Signature(strokes, 600, 200)
    for n in range(25):
        desk.refuse(
            RefusalRequest(
                PersonDetails(f"Person {n:03d}"), purpose.id, sha, "Key card", sig, in_name=True
            )
        )
    model = PeopleModel(desk, I18n("en"), page_size=10)
    model.search()
    assert model.total == 25 and model.rowCount() == 10
    assert model.canFetchMore()
    model.fetchMore()
    model.fetchMore()
    assert model.rowCount() == 25 and not model.canFetchMore()
    model.search("Person 02")
    assert model.total == 5  # Person 020 .. Person 024
    model.search(status="active")
    assert model.total == 0
    desk.lock()


def test_runner_delivers_results_and_errors_on_gui_thread(qtbot: Any, themed: Any) -> None:
    import threading

    from ui.worker import Runner

    runner = Runner()
    main = threading.get_ident()
    seen: list[Any] = []

    def work(progress: Any) -> int:
        progress(1, 2)
        return threading.get_ident()

    runner.submit(
        work,
        on_done=lambda tid: seen.append(("done", tid != main, threading.get_ident() == main)),
        on_progress=lambda d, t: seen.append(("progress", d, t)),
    )
    runner.submit(lambda: 1 / 0, on_error=lambda e: seen.append(("error", type(e).__name__)))
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=5000)
    assert ("done", True, True) in seen
    assert ("progress", 1, 2) in seen
    assert ("error", "ZeroDivisionError") in seen


def test_runner_drops_results_after_forget(qtbot: Any, themed: Any) -> None:
    import time

    from ui.worker import Runner

    runner = Runner()
    seen: list[Any] = []
    runner.submit(lambda: 1, on_done=seen.append)
    time.sleep(0.2)  # the result is now queued for the GUI thread, not yet delivered
    runner.forget()  # e.g. the screen was locked
    qtbot.wait(200)
    assert seen == []
    runner.submit(lambda: 2, on_done=seen.append)
    qtbot.waitUntil(lambda: seen == [2], timeout=5000)


def test_inputs_have_accessible_names(qtbot: Any, window: Any) -> None:
    """Screen readers need a name for every input: its own accessible name or a buddy label."""
    from PySide6.QtWidgets import (
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QHeaderView,
        QLabel,
        QLineEdit,
        QTextEdit,
    )

    from tests.ui.conftest import unlock
    from ui.signature_pad import SignaturePad

    ws = unlock(qtbot, window)
    buddies = {id(label.buddy()) for label in window.findChildren(QLabel) if label.buddy()}
    unnamed = []
    for kind in (
        QLineEdit,
        QComboBox,
        QAbstractSpinBox,
        QAbstractItemView,
        QTextEdit,
        SignaturePad,
    ):
        for widget in ws.findChildren(kind):
            if (
                isinstance(widget.parent(), QAbstractSpinBox | QComboBox)
                or isinstance(widget, QHeaderView)
                or widget.parent().metaObject().className() == "QComboBoxPrivateContainer"
            ):
                continue  # parts of a spin box, combo box or table
            if not widget.accessibleName() and id(widget) not in buddies:
                unnamed.append(f"{type(widget).__name__} in {type(widget.parent()).__name__}")
    assert not unnamed, unnamed


def _core_codes() -> set[str]:
    """Every code the core raises: class defaults in app/errors.py and ``code=`` at raise sites
    (app/bio has its own errors, shown through the bioerr.* entries)."""
    root = Path(__file__).resolve().parents[2] / "app"
    codes = set(
        re.findall(r'^\s+code = "([a-z_]+)"', (root / "errors.py").read_text("utf-8"), re.MULTILINE)
    )
    for path in root.rglob("*.py"):
        if "bio" in path.relative_to(root).parts[:-1]:
            continue
        codes |= set(re.findall(r'code="([a-z_]+)"', path.read_text("utf-8")))
    return codes


def test_every_core_error_code_is_translated() -> None:
    from ui.i18n import STRINGS

    codes = _core_codes()
    assert {"wrong_password", "guardian_required", "too_long", "locked"} <= codes  # parsed
    missing = sorted(code for code in codes if f"err.{code}" not in STRINGS)
    assert not missing, missing


def test_core_errors_shown_in_the_operators_language() -> None:
    from app.errors import InvalidInput, LockedOut, NotFound, PermissionDenied, StorageError
    from ui.dialogs import error_text
    from ui.i18n import I18n

    en, zh = I18n("en"), I18n("zh")
    required = InvalidInput(
        "The guardian's name is required.", code="required", params={"field": "guardian's name"}
    )
    assert error_text(required, en) == "The guardian's name is required."
    assert error_text(required, zh) == "监护人姓名为必填项。"
    too_long = InvalidInput(
        "x", code="too_long", params={"field": "organisation name", "limit": 200}
    )
    assert error_text(too_long, zh) == "机构名称过长（最多 200 个字符）。"
    assert error_text(too_long, en) == "The organisation name is too long (at most 200 characters)."
    # A field the table does not know keeps the core's own word.
    odd = InvalidInput("The colour is required.", code="required", params={"field": "colour"})
    assert error_text(odd, zh) == "colour为必填项。"
    kinds = InvalidInput(
        "x", code="warnings_unacknowledged", params={"kinds": ["duplicate", "lookalike"]}
    )
    assert error_text(kinds, zh) == "发现可能的重复登记和相似人员：请先核实并确认每条警告。"
    assert error_text(kinds, en).startswith("Possible duplicate and lookalike found")
    minor = InvalidInput("x", code="guardian_required", params={"age": "16"})
    assert error_text(minor, zh).startswith("此人未满 16 岁")
    # Class defaults.
    assert (
        error_text(PermissionDenied("Only an admin can do this."), zh)
        == "只有管理员可以执行此操作。"
    )
    assert error_text(StorageError("disk full"), zh).startswith("写入失败")
    assert (
        error_text(LockedOut("Too many failed sign-ins.", retry_after=3.2), zh)
        == "登录失败次数过多。"
    )
    # Codes shared by many different sentences carry the core's sentence along.
    generic = InvalidInput("You cannot remove your own account while signed in.")
    assert error_text(generic, en) == str(generic)
    assert error_text(generic, zh) == f"输入无效：{generic}"
    assert error_text(NotFound("No such consent."), zh) == "未找到：No such consent."
    # Unknown codes, and params that do not fit their entry, fall back to the English sentence.
    unknown = InvalidInput("Something new happened.", code="brand_new_code")
    assert error_text(unknown, zh) == "Something new happened."
    unfit = InvalidInput("The name is too long.", code="too_long", params={"field": "name"})
    assert error_text(unfit, zh) == "The name is too long."


def test_core_error_from_a_real_vault_in_chinese(tmp_path: Path) -> None:
    """The sentence comes from what the core really raises, not from a hand-made error."""
    from app.desk import Desk, PersonDetails, RefusalRequest
    from app.errors import ConsentDeskError
    from app.models import Signature
    from ui.dialogs import error_text
    from ui.i18n import I18n

    desk, _code = Desk.initialise(tmp_path / "v", "Org", ADMIN, PASSWORD, options=cheap_options())
    try:
        purpose = desk.add_purpose(
            title="Entry",
            controller="Org",
            contact="c@example",
            retention_days=30,
            alternative="A key card",
        )
        purpose = sign_necessity(desk, purpose)  # issue-16
        sha = desk.disclosure(purpose.id, "en").sha256
        shown = []
        for call in (
            lambda: desk.rename_organisation("  "),
            lambda: desk.add_user(ADMIN, PASSWORD, "operator"),
            lambda: desk.refuse(
                RefusalRequest(
                    PersonDetails("A"), purpose.id, sha, "A key card", Signature((), 600, 200)
                )
            ),
            lambda: desk.refuse(
                RefusalRequest(PersonDetails("A" * 301), purpose.id, sha, "A key card", None)
            ),
        ):
            try:
                call()
            except ConsentDeskError as exc:
                shown.append(error_text(exc, I18n("zh")))
        assert shown == [
            "机构名称为必填项。",
            "该用户名已被使用。",
            "签名无法使用。请清除后重新签名。",
            "姓名过长（最多 300 个字符）。",
        ]
    finally:
        desk.lock()


def test_a_message_kept_for_retranslation_keeps_no_traceback() -> None:
    from app.errors import WrongPassword
    from ui.dialogs import detached, error_text
    from ui.i18n import I18n

    def sign_in(password: str) -> None:
        raise WrongPassword("Wrong user name or password.", retry_after=2.0)

    try:
        sign_in("a secret")
    except WrongPassword as exc:
        caught = exc
    kept = detached(caught)
    assert kept.__traceback__ is None and kept.__context__ is None
    assert kept.code == "wrong_password" and kept.params == {"seconds": 2.0}
    for lang in ("en", "zh"):
        assert error_text(kept, I18n(lang)) == error_text(caught, I18n(lang))
