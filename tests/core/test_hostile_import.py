"""issue-11: hostile files given to the bulk import, on a real vault with real photos and scans.

Each class of attack ends in a clear skip reason for its row (the import goes on) or one clear
refusal of the whole file, never a hang, an unbounded read or "unexpected ...".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.bulk_import import read_rows
from app.desk import Desk
from app.documents.scans import check_scan
from app.errors import InvalidInput
from app.models import Purpose

TODAY = dt.datetime.now(dt.UTC).date().isoformat()  # a purpose made today: no earlier signing
HEADER = ["name", "reference", "photo", "consent_scan", "signed_on"]


def scan_png(path: Path) -> Path:
    img = Image.new("L", (600, 800), 255)
    ImageDraw.Draw(img).line([(80, 600), (300, 560), (500, 620)], fill=0, width=4)
    img.save(path)
    return path


def scan_pdf(path: Path) -> Path:
    img = Image.new("RGB", (600, 800), "white")
    img.save(path, format="PDF")
    return path


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def reasons(report) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {s.row: s.reason for s in report.skipped}


# ------------------------------------------------------------------ scans: formats and limits
def test_scan_formats_and_limits(tmp_path: Path) -> None:
    good_pdf = scan_pdf(tmp_path / "ok.pdf").read_bytes()
    assert check_scan(good_pdf).kind == "PDF"
    assert check_scan(scan_png(tmp_path / "ok.png").read_bytes()).kind == "PNG"
    buf = io.BytesIO()
    Image.new("L", (400, 500), 255).save(buf, format="JPEG")
    assert check_scan(buf.getvalue()).kind == "JPEG"
    frames = [Image.new("L", (300, 400), 255) for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    assert check_scan(buf.getvalue()).pages == 3

    refused = {
        "fake pdf": b"%PDF-1.4 this is not a pdf at all",
        "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n",
        "gif": _encoded("GIF", (300, 300)),
        "bmp": _encoded("BMP", (300, 300)),
        "truncated jpeg": _encoded("JPEG", (800, 800), noise=True)[:4000],
        "truncated pdf": good_pdf[: len(good_pdf) // 2],
        "empty": b"",
    }
    for what, data in refused.items():
        with pytest.raises(InvalidInput):
            check_scan(data)
        assert what  # every case above must be refused

    many = [Image.new("1", (200, 200)) for _ in range(60)]
    buf = io.BytesIO()
    many[0].save(buf, format="TIFF", save_all=True, append_images=many[1:])
    with pytest.raises(InvalidInput, match="pages"):
        check_scan(buf.getvalue())
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")  # 400 MP in a few hundred KB
    with pytest.raises(InvalidInput, match="too large"):
        check_scan(buf.getvalue())
    # Pillow's decompression-bomb limit is set explicitly, not left at its default.
    assert Image.MAX_IMAGE_PIXELS == 60_000_000


def _encoded(fmt: str, size: tuple[int, int], noise: bool = False) -> bytes:
    img = Image.effect_noise(size, 80).convert("RGB") if noise else Image.new("RGB", size)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def test_eps_never_reaches_ghostscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with a Ghostscript on the path, an EPS scan is refused before any decoder runs, and
    nothing is left in the temp folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "gs-ran"
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    gs.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n(secret name) show showpage\n"
    with pytest.raises(InvalidInput):
        check_scan(eps)
    assert not marker.exists() and list(temp.iterdir()) == []


# ------------------------------------------------------------------ the import, row by row
@pytest.fixture
def folder(tmp_path: Path, faces: Path) -> Path:
    base = tmp_path / "in"
    base.mkdir()
    scan_png(base / "scan.png")
    scan_pdf(base / "scan.pdf")
    (base / "fake.pdf").write_bytes(b"%PDF-1.7\nnot really\n")
    (base / "x.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    (base / "trunc.jpg").write_bytes((faces / "obama_2.jpg").read_bytes()[:3000])
    Image.new("1", (20000, 20000)).save(base / "bomb.png")
    os.mkfifo(base / "fifo")
    return base


def test_bad_scans_and_photos_skip_their_row_only(
    desk: Desk, purpose: Purpose, folder: Path, faces: Path
) -> None:
    obama, biden, kit = (
        str(faces / f) for f in ("obama_1.jpg", "biden_1.jpg", "kit_harington_1.jpg")
    )
    rows = [
        ["Fake Pdf", "R1", obama, "fake.pdf", TODAY],  # line 2
        ["Eps Scan", "R2", obama, "x.eps", TODAY],  # 3
        ["Bomb Scan", "R3", obama, "bomb.png", TODAY],  # 4
        ["Truncated", "R4", obama, "trunc.jpg", TODAY],  # 5
        ["Fifo Scan", "R5", obama, "fifo", TODAY],  # 6
        ["Zero Scan", "R6", obama, "/dev/zero", TODAY],  # 7
        ["Fifo Photo", "R7", str(folder / "fifo"), "scan.png", TODAY],  # 8
        ["Two People", "R8", f"{obama};{biden}", "scan.png", TODAY],  # 9
        ["Kit Harington", "R9", kit, "scan.pdf", TODAY],  # 10: the only good row
    ]
    started = time.monotonic()
    report = desk.import_people(write_csv(folder / "p.csv", rows), purpose.id)
    assert time.monotonic() - started < 120
    assert report.imported == 1
    why = reasons(report)
    assert set(why) == set(range(2, 10))
    assert "not a readable PDF" in why[2]
    assert "PDF or an image" in why[3] and "PDF or an image" in why[5]
    assert "too large" in why[4]
    assert "not a regular file" in why[6] and "not a regular file" in why[7]
    assert "photo 1" in why[8].lower()
    assert "same person" in why[9]
    for reason in why.values():  # never a file name (it may be a person's name)
        assert ".pdf" not in reason and ".png" not in reason and "fifo" not in reason.lower()
        assert "obama" not in reason.lower() and str(folder) not in reason
    assert desk.find_people("Two People").total == 0
    assert desk.find_people("Kit Harington").total == 1


def test_same_person_in_several_photos_is_enrolled(
    desk: Desk, purpose: Purpose, folder: Path, faces: Path
) -> None:
    photos = f"{faces / 'obama_1.jpg'};{faces / 'obama_2.jpg'}"
    report = desk.import_people(
        write_csv(folder / "p.csv", [["Barack Obama", "E1", photos, "scan.png", TODAY]]),
        purpose.id,
    )
    assert report.imported == 1, report.skipped


def test_csv_structure_rules(desk: Desk, purpose: Purpose, folder: Path, faces: Path) -> None:
    dup = write_csv(folder / "dup.csv", [["A", "B", "C", "D", "E", "F"]], [*HEADER, "Name"])
    with pytest.raises(InvalidInput, match="more than once"):
        desk.import_people(dup, purpose.id)
    missing = write_csv(folder / "missing.csv", [], ["name", "photo"])
    with pytest.raises(InvalidInput, match="lacks"):
        desk.import_people(missing, purpose.id)
    (folder / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InvalidInput, match="UTF-8"):
        desk.import_people(folder / "bin.csv", purpose.id)
    for target in ("/dev/zero", str(folder / "fifo"), str(folder)):
        with pytest.raises(InvalidInput, match=r"regular file|folder"):
            desk.import_people(Path(target), purpose.id)

    kit = str(faces / "kit_harington_1.jpg")
    text = (
        ",".join(HEADER) + "\n"
        "\n"  # line 2: blank, still counted
        f"Old Date,R1,{kit},scan.png,0001-01-01\n"  # line 3
        f"Odd Date,R2,{kit},scan.png,20250601\n"  # line 4
        f"Future,R3,{kit},scan.png,2999-01-01\n"  # line 5
        "\n"
        f"Dup Ref,r1,{kit},scan.png,{TODAY}\n"  # line 7: same reference as line 3
        f'"Multi\nLine",R5,/nowhere/maria.jpg,scan.png,{TODAY}\n'  # line 8 (and 9)
    )
    (folder / "lines.csv").write_text(text, encoding="utf-8")
    report = desk.import_people(folder / "lines.csv", purpose.id)
    why = reasons(report)
    assert report.imported == 0 and set(why) == {3, 4, 5, 7, 8}
    assert "before 1990" in why[3] and "ISO date" in why[4] and "future" in why[5]
    assert "same reference as row 3" in why[7]
    assert "photo 1" in why[8].lower() and "maria" not in why[8]
    rows = read_rows(folder / "lines.csv")
    assert [r.line for r in rows] == [3, 4, 5, 7, 8]


def test_two_imports_at_once_enroll_nobody_twice(
    home: Path, desk: Desk, purpose: Purpose, folder: Path, faces: Path
) -> None:
    """Two desks (two connections, as two processes would have) import the same file at once;
    the check and the insert share one transaction under SQLite's writer lock. The subprocess
    version of this race is in test_hostile_cli.py."""
    from tests.core.vaultkit import ADMIN, PASSWORD

    rows = [
        [n, f"E{i}", str(faces / f), "scan.png", TODAY]
        for i, (n, f) in enumerate(
            [
                ("Barack Obama", "obama_1.jpg"),
                ("Joe Biden", "biden_1.jpg"),
                ("Rose", "rose_leslie_1.jpg"),
            ]
        )
    ]
    path = write_csv(folder / "same.csv", rows)
    other = Desk.unlock(home, ADMIN, PASSWORD)
    results: list[object] = []

    def run(d: Desk) -> None:
        results.append(d.import_people(path, purpose.id))

    try:
        threads = [threading.Thread(target=run, args=(d,)) for d in (desk, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        other.lock()
    assert len(results) == 2
    assert sum(r.imported for r in results) == 3  # type: ignore[attr-defined]
    assert desk.find_people("").total == 3
