"""The ``consentdesk`` program: no command opens the workstation window, anything else is the CLI.

Why it lives in ``ui`` and not in ``app``: the core never imports the UI, so the piece that
decides "window or command line" has to sit above both. The UI is imported with a plain
``import`` inside :func:`start_ui`, so import-linter and PyInstaller see it, but PySide6 is only
loaded when the window is wanted: commands start quickly and run where Qt is not installed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli import main as cli_main


def start_ui(argv: Sequence[str], home: Path) -> int:
    """Open the workstation window on the vault in ``home``; returns when it is closed."""
    from ui.system_check import display_problem

    problem = display_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 3
    from ui.main import main as run_ui

    return int(run_ui(argv, home))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``consentdesk ARGV`` (default: ``sys.argv[1:]``); returns the exit code."""
    return cli_main(sys.argv[1:] if argv is None else argv, start_ui=start_ui)


if __name__ == "__main__":  # pragma: no cover - python ui/launcher.py
    sys.exit(main())
