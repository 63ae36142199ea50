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


def _strip(path: Path, size: tuple[int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", size, (200, 150, 100)).save(path)
    return path


def test_a_long_strip_of_a_photo_fails_alone_in_identify_and_in_the_bulk_import(
    desk: Desk, purpose: Purpose, tmp_path: Path, faces: Path
) -> None:
    """20000 x 80 px passes the size check, but once scaled down for detection it is 80 x 1:
    the engine refused it for the whole batch, so ``identify`` printed one line for all the
    photos ("frame is too small") and a bulk import stopped before its first row."""
    wide = _strip(tmp_path / "wide.png", (20000, 80))
    tall = _strip(tmp_path / "tall.png", (80, 20000))
    photos = [faces / "obama_1.jpg", wide, tall, faces / "biden_1.jpg"]
    results = list(desk.identify_photos(photos, purpose.id))
    assert [r.decision for r in results] == ["no_match", "error", "error", "no_match"]
    assert "too small to contain a face" in results[1].message

    from tests.core.vaultkit import scan_pdf_bytes

    (tmp_path / "scan.pdf").write_bytes(scan_pdf_bytes())
    today = desk.session.now().date().isoformat()
    (tmp_path / "people.csv").write_text(
        "name,reference,photo,consent_scan,signed_on\n"
        f"Barack Obama,R1,{faces / 'obama_1.jpg'},scan.pdf,{today}\n"
        f"Strip Photo,R2,wide.png,scan.pdf,{today}\n"
        f"Joe Biden,R3,{faces / 'biden_1.jpg'},scan.pdf,{today}\n"
    )
    report = desk.import_people(tmp_path / "people.csv", purpose.id)
    assert report.imported == 2
    assert [(s.row, "too small" in s.reason) for s in report.skipped] == [(3, True)]
