"""The small files read at every sign-in (``login-state.json``, ``keyslots.json``, the restore
journal) replaced by a FIFO or ``/dev/zero``: sign-in hung forever or ran out of memory. Now it
ends at once with the one line each file already had for "cannot be read"."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.desk import Desk
from tests.core.test_attack2_rectify_keys import ODD_FILES, _cli


@pytest.mark.parametrize(
    ("name", "odd", "says"),
    [
        ("login-state.json", "fifo", "sign-in state file"),
        ("keyslots.json", "fifo", "keyslot file cannot be read"),
        ("keyslots.json", "dev_zero", "keyslot file cannot be read"),
        ("restore-journal.json", "fifo", "journal that cannot be read"),
    ],
)
def test_an_odd_state_file_is_one_line_at_sign_in(
    desk: Desk, home: Path, name: str, odd: str, says: str
) -> None:
    desk.lock()
    path = home / name
    if path.exists():
        path.unlink()
    ODD_FILES[odd](path)
    proc = _cli(home, "stats")
    assert proc.returncode != 0
    assert says in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
