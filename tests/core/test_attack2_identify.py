"""``consentdesk identify`` with bad photos among good ones (the photos are now detected two at
a time): every good photo still gets its result, every bad one one line saying why, in the text
output too; two identify processes at once give the same answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.desk import Desk
from app.models import Purpose
from tests.core.vaultkit import ADMIN, PASSWORD

REPO = Path(__file__).resolve().parents[2]


def _identify(home: Path, photos: list[Path]) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
    }
    env.pop("CONSENTDESK_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "app", "identify", *map(str, photos)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_bad_photos_among_good_ones_each_say_why(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path, faces: Path
) -> None:
    desk.lock()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "truncated.jpg").write_bytes((faces / "obama_2.jpg").read_bytes()[:20000])
    (bad / "noise.jpg").write_bytes(os.urandom(40000))
    os.mkfifo(bad / "pipe.jpg")
    (bad / "zero.jpg").symlink_to("/dev/zero")
    photos = [
        faces / "obama_1.jpg",
        bad / "truncated.jpg",
        bad / "pipe.jpg",
        faces / "biden_1.jpg",
        bad / "zero.jpg",
        bad / "noise.jpg",
        faces / "kit_harington_1.jpg",
    ]
    first, second = _identify(home, photos), _identify(home, photos)  # two at once
    out1, err1 = first.communicate(timeout=240)
    out2, err2 = second.communicate(timeout=240)
    assert first.returncode == second.returncode == 2, err1 + err2
    assert "Traceback" not in err1 + err2
    assert out1 == out2
    lines = out1.splitlines()
    assert [line.split(": ")[0] for line in lines] == [str(p) for p in photos]
    decisions = [line.split(": ")[1] for line in lines]
    assert decisions == ["no_match", "error", "error", "no_match", "error", "error", "no_match"]
    assert "not a readable image" in lines[1] and "not a readable image" in lines[5]
    assert "not a file" in lines[2] and "not a file" in lines[4]
