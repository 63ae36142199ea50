"""Issue 11: on a full disk the window still opens (read-only) and says so in a banner; a
change is refused with the core's one line. The disk is a real tmpfs filled to the last byte
(needs root and ``mount``; skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import unlock


@pytest.fixture
def full_home(home: Path, tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full tmpfs needs root to mount")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        shutil.copytree(home, mount / "home")
        with (mount / "filler").open("wb", buffering=0) as f:
            for chunk in (4096, 1):  # to the last byte
                try:
                    while True:
                        f.write(b"\0" * chunk)
                except OSError:
                    pass
        yield mount / "home"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_opens_read_only_with_a_banner(qtbot: Any, full_home: Path, ctx: Any) -> None:
    from app.desk import Desk
    from ui.app_window import MainWindow

    win = MainWindow(full_home, Desk, ctx)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    try:
        ws = unlock(qtbot, win)
        assert win.desk.read_only
        banner = ws.read_only_banner
        assert banner.isVisible()
        assert banner.message.text().startswith("Read-only: the disk is full")
        out = os.environ.get("CONSENTDESK_SHOT")
        if out:  # looked at by hand: CONSENTDESK_SHOT=/tmp/x.png
            win.grab().save(out)
            ctx.i18n.set_language("zh")
            win.grab().save(out.replace(".png", "-zh.png"))
            assert banner.message.text().startswith("只读")
    finally:
        if win.workspace is not None:
            win.lock()
        win.autolock.disarm()
