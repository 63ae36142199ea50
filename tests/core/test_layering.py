"""The core must work on a machine without Qt: the UI is one client of it, the CLI another."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import app

REPO = Path(__file__).resolve().parents[2]

_BLOCK_QT = """
import importlib.abc, sys
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'ui'):
            raise ImportError('Qt is not installed here: ' + name)
        return None
sys.meta_path.insert(0, NoQt())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print('imported', len(sys.argv) - 1)
"""


def test_every_core_module_imports_without_qt() -> None:
    # app.__main__ runs the CLI when imported; everything else must import cleanly.
    names = [
        m.name for m in pkgutil.walk_packages(app.__path__, "app.") if m.name != "app.__main__"
    ]
    assert "app.desk" in names and "app.cli" in names
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCK_QT, *names],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_core_tests_do_not_import_qt() -> None:
    for path in (REPO / "tests" / "core").glob("*.py"):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        assert "PySide6" not in text and "pytestqt" not in text, path.name
