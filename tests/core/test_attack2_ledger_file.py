"""The erasure ledger's file replaced by something that is not a file (a FIFO, a folder, a
symlink to ``/dev/zero``): before, every sign-in hung (FIFO) or failed with an unexpected
error, and appends "succeeded" into ``/dev/zero``. Now sign-in works and says what is wrong,
like for a deleted ledger, and the next erasure starts a new ledger and stays final."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.desk import Desk
from app.errors import NotFound
from app.models import Purpose
from tests.core.test_attack2_rectify_keys import ODD_FILES, _cli, _opts
from tests.core.vaultkit import ADMIN, PASSWORD, enroll

ODD: dict[str, Callable[[Path], None]] = {k: ODD_FILES[k] for k in ("fifo", "folder", "dev_zero")}


@pytest.mark.parametrize("odd", sorted(ODD))
def test_a_ledger_that_is_no_file_neither_hangs_nor_takes_an_erasure(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path, odd: str
) -> None:
    a = enroll(desk, purpose, name="Anna Leaving", seed=91)
    b = enroll(desk, purpose, name="Bruno Leaving", seed=92)
    backup = desk.backup(tmp_path / "before.cdbackup")
    desk.withdraw(a.person.id, "moved away")  # the vault has applied a ledger entry
    ledger = desk.finality.ledger.path
    desk.lock()
    ledger.unlink()
    ODD[odd](ledger)

    check = _cli(home, "unlock-check")
    assert check.returncode == 8, check.stderr  # like a deleted ledger: signed in, and told
    assert "is no longer a file" in check.stdout + check.stderr
    assert "Traceback" not in check.stderr and "unexpected" not in check.stderr

    erase = _cli(home, "erase", b.person.id, "--yes")
    assert erase.returncode == 0, erase.stderr
    assert ledger.is_file() and not ledger.is_symlink()
    assert [p for p in home.iterdir() if p.name.startswith(f"{ledger.name}.damaged-")]

    restored = Desk.restore(home, backup, ADMIN, PASSWORD, options=_opts())
    try:
        with pytest.raises(NotFound):
            restored.get_person(b.person.id)  # the new ledger's erasure is final
        assert restored.replayed.erased_people == (b.person.id,)
    finally:
        restored.lock()
