"""The ``consentdesk`` program (``ui.launcher``): window without a command, CLI otherwise.

The launcher sits in ``ui`` so that the core never imports the UI; it must still not load Qt
when only a command runs (start-up time, and machines where only the CLI is used).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from app import selftest
from ui import launcher

REPO = Path(__file__).resolve().parents[2]

_NO_QT = """
import importlib.abc, json, sys
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6') or name == 'ui.main':
            raise ImportError('Qt is not installed here: ' + name)
        return None
sys.meta_path.insert(0, NoQt())
from ui.launcher import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))
print(json.dumps({"code": code, "qt_modules": loaded}), file=sys.stderr)
"""


def _no_qt(*args: str, env: dict[str, str]) -> tuple[int, str, dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-c", _NO_QT, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=120,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["qt_modules"] == [], report
    return proc.returncode, proc.stdout, report


def test_commands_run_where_qt_cannot_be_imported(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    env = {"CONSENTDESK_USER": "admin", "CONSENTDESK_PASSWORD": "launcher password 1"}
    _, out, report = _no_qt(
        "--home", str(home), "--json", "init", "--org", "O", "--admin", "admin", env=env
    )
    assert report["code"] == 0 and json.loads(out)["home"] == str(home)
    _, out, report = _no_qt("unlock-check", "--home", str(home), "--json", env=env)
    assert report["code"] == 0 and json.loads(out) == {"ok": True, "user": "admin", "role": "admin"}
    _, out, report = _no_qt("--help", env=env)
    assert report["code"] == 0 and "verify-document" in out


def test_no_command_opens_the_window_on_the_chosen_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[list[str], Path]] = []

    def fake_ui(argv: Sequence[str], home: Path) -> int:
        calls.append((list(argv), home))
        return 5

    monkeypatch.setattr(launcher, "start_ui", fake_ui)
    monkeypatch.setenv("CONSENTDESK_HOME", str(tmp_path / "env-home"))
    assert launcher.main([]) == 5
    assert launcher.main(["--home", str(tmp_path / "flag-home")]) == 5
    assert calls == [
        ([], tmp_path / "env-home"),
        (["--home", str(tmp_path / "flag-home")], tmp_path / "flag-home"),
    ]
    assert not (tmp_path / "env-home").exists()  # the window, not the launcher, makes the vault


def test_self_test_never_opens_the_window(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_ui(argv: Sequence[str], home: Path) -> int:
        raise AssertionError("the window must not open for --self-test")

    runs: list[bool] = []

    def fake_run(out: object = None, *, as_json: bool = False) -> int:
        runs.append(as_json)
        return 0

    monkeypatch.setattr(launcher, "start_ui", no_ui)
    monkeypatch.setattr(selftest, "run", fake_run)
    monkeypatch.setenv("CONSENTDESK_HOME", str(tmp_path / "never-created"))
    assert launcher.main(["--self-test"]) == 0
    assert launcher.main(["--json", "--self-test"]) == 0
    assert runs == [False, True] and not (tmp_path / "never-created").exists()


def test_console_script_and_frozen_entry_point_are_the_launcher() -> None:
    with (REPO / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)
    assert project["project"]["scripts"] == {
        "consentdesk": "ui.launcher:main",
        "consentdesk-gate": "app.gate.cli:main",  # the reference device: no window, no vault
    }
    # PyInstaller follows static imports only: the entry point imports the launcher by name.
    tree = ast.parse((REPO / "installer" / "consentdesk_entry.py").read_text(encoding="utf-8"))
    imports = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("ui.launcher", "main") in imports


def test_launcher_and_core_hide_no_imports_behind_strings() -> None:
    """import-linter and PyInstaller see only real import statements."""
    for path in [REPO / "ui" / "launcher.py", *(REPO / "app" / "cli").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "import_module" not in text and "__import__" not in text, path


def test_the_real_window_opens_and_closes_through_the_launcher(tmp_path: Path) -> None:
    """``python -m ui --home DIR`` reaches ``ui.main.main`` (child process: see test_admin)."""
    script = (
        "import sys; from PySide6.QtCore import QTimer;"
        "from ui.main import create_application; from ui.launcher import main;"
        "app = create_application([]); QTimer.singleShot(1500, app.quit);"
        "sys.exit(main(['--home', sys.argv[1]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "vault")],
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
