"""``app.selftest`` from source: every check passes here, failures are reported, not raised."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app import cli, selftest

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(ok  |FAIL) (\w+)")


def test_all_checks_pass_from_source(qapp: Any) -> None:
    # qapp: pytest-qt's QApplication, which the Qt check reuses (a second one cannot exist).
    out = io.StringIO()
    code = selftest.run(out)
    text = out.getvalue()
    assert code == 0, text
    lines = [m.groups() for m in map(LINE.match, text.splitlines()) if m]
    assert lines == [("ok  ", name) for name in selftest.CHECKS], text
    assert set(selftest.CHECKS) == {"vault", "resources", "models", "video", "pdf", "qt"}
    # Every check reports its time; the summary line names the total.
    assert all(re.search(r"\d+\.\d\d s", line) for line in text.splitlines()[1:]), text
    assert "all checks passed" in text and "(source," in text


def test_a_failing_check_is_one_fail_line_and_the_rest_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(state: selftest.State) -> str:
        raise RuntimeError("libfoo.so.1: cannot open shared object file")

    monkeypatch.setattr(
        selftest,
        "CHECKS",
        {"vault": selftest.check_vault, "models": broken, "resources": selftest.check_resources},
    )
    out = io.StringIO()
    assert selftest.run(out) == 1
    text = out.getvalue()
    assert "FAIL models: RuntimeError: libfoo.so.1: cannot open shared object file" in text
    assert re.search(r"^ok   vault ", text, re.M) and re.search(r"^ok   resources ", text, re.M)
    assert "1 failed: models" in text


def test_a_check_that_depends_on_a_failed_one_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_vault(state: selftest.State) -> str:
        raise AssertionError("no vault here")

    monkeypatch.setattr(selftest, "CHECKS", {"vault": no_vault, "pdf": selftest.check_pdf})
    out = io.StringIO()
    assert selftest.run(out) == 1
    assert "FAIL pdf: skipped: the vault check failed" in out.getvalue()


def test_json_output_and_throwaway_home(monkeypatch: pytest.MonkeyPatch) -> None:
    homes: list[Path] = []

    def record(state: selftest.State) -> str:
        homes.append(state.home)
        return "fine"

    monkeypatch.setattr(selftest, "CHECKS", {"vault": record})
    out = io.StringIO()
    assert selftest.run(out, as_json=True) == 0
    report = json.loads(out.getvalue())
    assert report["ok"] is True and report["mode"] == "source"
    assert report["checks"][0]["name"] == "vault" and report["checks"][0]["detail"] == "fine"
    # The temporary home is gone afterwards: the self-test leaves nothing behind.
    assert homes and not homes[0].exists() and not homes[0].parent.exists()


def test_unknown_check_names_are_refused() -> None:
    with pytest.raises(ValueError, match="nope"):
        selftest.run(io.StringIO(), checks=["nope"])


def test_cli_flag_runs_the_self_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run(out: Any = None, **kwargs: Any) -> int:
        calls.append(kwargs)
        return 7

    monkeypatch.setattr(selftest, "run", fake_run)
    monkeypatch.setenv("CONSENTDESK_HOME", str(tmp_path / "never-created"))
    assert cli.main(["--self-test"]) == 7
    assert cli.main(["--self-test", "--json"]) == 7
    assert calls == [{"as_json": False}, {"as_json": True}]
    # It never creates or opens the workstation's vault.
    assert not (tmp_path / "never-created").exists()


def test_generated_image_is_deterministic_and_bigger_than_the_detector_side() -> None:
    from app.bio.thresholds import DETECT_MAX_SIDE_PHOTO

    a, b = selftest._generated_image(), selftest._generated_image()
    assert a.shape == (600, 800, 3) and a.dtype.name == "uint8" and (a == b).all()
    assert max(a.shape[:2]) > DETECT_MAX_SIDE_PHOTO  # so the OpenCV resize path runs too


def test_self_test_module_does_not_import_qt_at_module_level() -> None:
    source = (REPO / "app" / "selftest.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) PySide6", source, re.M)
