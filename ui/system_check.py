"""Before Qt starts: is there a screen, and can Qt's X11 plugin load? One clear line if not.

Why: started directly (not via ``make run``, which installs them), ``consentdesk`` on a Linux
desktop lacking ``libxcb-icccm4`` or ``libxcb-keysyms1`` aborted inside Qt with a misleading
"xcb-cursor" message and a core dump. Here the plugin's missing libraries are found with ``ldd``
and named with the Debian/Ubuntu packages that bring them, before any Qt window is attempted.

This module imports no Qt: it must run where Qt cannot start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# Shared-library name prefix -> Debian/Ubuntu package that provides it.
PACKAGES: dict[str, str] = {
    "libxcb-cursor.so": "libxcb-cursor0",
    "libxcb-icccm.so": "libxcb-icccm4",
    "libxcb-keysyms.so": "libxcb-keysyms1",
    "libxcb-image.so": "libxcb-image0",
    "libxcb-render-util.so": "libxcb-render-util0",
    "libxcb-shape.so": "libxcb-shape0",
    "libxcb-randr.so": "libxcb-randr0",
    "libxcb-xkb.so": "libxcb-xkb1",
    "libxcb-xinerama.so": "libxcb-xinerama0",
    "libxcb-xfixes.so": "libxcb-xfixes0",
    "libxcb-sync.so": "libxcb-sync1",
    "libxcb-shm.so": "libxcb-shm0",
    "libxcb-render.so": "libxcb-render0",
    "libxcb-util.so": "libxcb-util1",
    "libxkbcommon-x11.so": "libxkbcommon-x11-0",
    "libxkbcommon.so": "libxkbcommon0",
    "libEGL.so": "libegl1",
    "libGL.so": "libgl1",
    "libfontconfig.so": "libfontconfig1",
    "libdbus-1.so": "libdbus-1-3",
    "libX11-xcb.so": "libx11-xcb1",
    "libxcb.so": "libxcb1",
}


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found", each once (ldd repeats a library that
    several dependencies need)."""
    found = [
        line.split()[0] for line in ldd_output.splitlines() if "not found" in line and line.split()
    ]
    return list(dict.fromkeys(found))


def packages_for(libraries: list[str]) -> list[str]:
    """Debian/Ubuntu packages for ``libraries`` (unknown ones are named as they are)."""
    out: list[str] = []
    for lib in libraries:
        package = next((p for prefix, p in PACKAGES.items() if lib.startswith(prefix)), lib)
        if package not in out:
            out.append(package)
    return out


def _xcb_plugin() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _ldd(path: Path) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    done = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20)
    return done.stdout


def display_problem(
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    plugin: Callable[[], Path | None] = _xcb_plugin,
    ldd: Callable[[Path], str] = _ldd,
) -> str | None:
    """One line saying why the window cannot open here, or None when it can (or cannot tell)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    wanted = env.get("QT_QPA_PLATFORM", "")
    if wanted and not wanted.startswith("xcb"):
        return None  # offscreen, wayland, vnc…: Qt's own plugin for it, not xcb
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "No screen to open the window on (DISPLAY is not set). Start ConsentDesk from the "
            "desktop, or use its commands (consentdesk --help), which need no screen."
        )
    if env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY"):
        return None
    path = plugin()
    if path is None:
        return None
    missing = missing_libraries(ldd(path))
    if not missing:
        return None
    packages = " ".join(packages_for(missing))
    return (
        f"The window cannot open: Qt's X11 plugin needs {', '.join(missing)}. "
        f"Install them with: sudo apt-get install {packages}"
    )
