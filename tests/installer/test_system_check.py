"""``ui.system_check``: the window's missing screen or X11 libraries are one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui.system_check import display_problem, missing_libraries, packages_for

REPO = Path(__file__).resolve().parents[2]

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibfoo-unknown.so.3 => not found
"""


def test_missing_libraries_are_named_with_their_packages() -> None:
    missing = missing_libraries(LDD)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libfoo-unknown.so.3"]
    assert packages_for(missing) == ["libxcb-icccm4", "libxcb-keysyms1", "libfoo-unknown.so.3"]


def test_display_problem_says_what_to_install() -> None:
    line = display_problem(
        {"DISPLAY": ":0"}, "linux", plugin=lambda: Path("/qt/libqxcb.so"), ldd=lambda _p: LDD
    )
    assert line is not None and "\n" not in line
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in line
    assert "xcb-cursor" not in line


def test_no_screen_offscreen_and_other_systems() -> None:
    no_screen = display_problem({}, "linux", plugin=lambda: None, ldd=lambda _p: "")
    assert no_screen is not None and "DISPLAY" in no_screen and "consentdesk --help" in no_screen
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "win32") is None
    assert display_problem({"DISPLAY": ":0"}, "linux", plugin=lambda: None) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 check is Linux only")
def test_launcher_without_a_screen_prints_one_line_and_no_qt_abort(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    done = subprocess.run(
        [sys.executable, "-m", "ui", "--home", str(tmp_path / "vault")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.strip().count("\n") == 0 and "DISPLAY" in done.stderr
    assert not (tmp_path / "vault").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 check is Linux only")
def test_this_machine_has_what_the_x11_plugin_needs_or_says_so() -> None:
    """The real plugin and the real ldd: the answer is None or a single install line."""
    line = display_problem({"DISPLAY": ":99"}, "linux")
    assert line is None or line.startswith("The window cannot open")
