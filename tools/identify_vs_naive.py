"""`consentdesk identify` on still photos against a naive face_recognition script (issue 18).

Both run as whole processes (process start, imports and model loading included), interleaved
round by round, on the same photos; the report gives wall and CPU time of each and their
ratio per round, the load average at the start and end, and whether every photo got the same
decision (no face / several faces / match with the same person / no match).

The naive script is what a developer would write from face_recognition's README: load the
known people's encodings, then for each photo ``load_image_file``, ``face_locations(img)`` and
``face_encodings(img)`` (which detects again), and compare at 0.6. The known people are the
same for both: a throwaway vault gets them through ``consentdesk import``, the naive side gets
face_recognition's encodings of the same enrollment photos, computed once before timing.

    python tools/identify_vs_naive.py [--rounds 3] [--photos DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "identify bench password 1"
KNOWN = {  # name -> enrollment photo (one per identity of the shared test photos)
    "Barack Obama": "obama_1.jpg",
    "Joe Biden": "biden_2.jpg",
    "Kit Harington": "kit_harington_1.jpg",
    "Rose Leslie": "rose_leslie_1.jpg",
    "Alex Lacamoire": "alex_lacamoire_1.jpg",
}


def naive_main(known_file: str, photos: list[str]) -> int:
    """The naive script itself (run as its own process)."""
    import warnings

    warnings.simplefilter("ignore")
    import face_recognition
    import numpy as np

    data = np.load(known_file)
    names, known = list(data["names"]), data["encodings"]
    for photo in photos:
        img = face_recognition.load_image_file(photo)
        locations = face_recognition.face_locations(img)
        encodings = face_recognition.face_encodings(img)
        if not locations:
            decision, who = "no_face", None
        elif len(locations) > 1:
            decision, who = "several_faces", None
        else:
            dist = face_recognition.face_distance(known, encodings[0])
            best = int(np.argmin(dist))
            decision, who = ("match", names[best]) if dist[best] <= 0.6 else ("no_match", None)
        print(json.dumps({"photo": photo, "decision": decision, "name": who}), flush=True)
    return 0


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": "admin",
        "CONSENTDESK_PASSWORD": PASSWORD,
    }


def _cli(home: Path, *args: str) -> object:
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args, "--json"],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"consentdesk {args[0]} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def _setup(work: Path, faces: Path) -> tuple[Path, int, Path]:
    """A vault with the known people imported, and the naive side's known encodings."""
    import face_recognition
    import numpy as np
    from PIL import Image

    home = work / "vault"
    _cli(home, "init", "--org", "Bench", "--admin", "admin")
    purpose = _cli(home, "purpose", "add", "--title", "Entry", "--controller", "Bench",
                   "--contact", "c@x", "--retention-days", "365", "--alternative", "Badge")  # fmt: skip
    pid = str(purpose["id"])  # type: ignore[index]
    _cli(home, "purpose", "assess", pid, "--necessity", "Entry", "--why-not-alternative",
         "Badges are shared", "--scenario", "building_access", "--access", "Staff")  # fmt: skip
    scan = work / "scan.png"
    Image.new("L", (400, 300), 255).save(scan)
    rows = work / "people.csv"
    day = time.strftime("%Y-%m-%d")
    with rows.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "reference", "photo", "consent_scan", "signed_on"])
        for i, (name, photo) in enumerate(KNOWN.items()):
            w.writerow([name, f"E-{i}", str(faces / photo), str(scan), day])
    report = _cli(home, "import", str(rows), "--purpose", pid)
    if report["imported"] != len(KNOWN):  # type: ignore[index]
        raise SystemExit(f"import failed: {report}")
    encodings = []
    for photo in KNOWN.values():
        img = face_recognition.load_image_file(str(faces / photo))
        encodings.append(face_recognition.face_encodings(img)[0])
    known = work / "known.npz"
    np.savez(known, names=np.array(list(KNOWN)), encodings=np.array(encodings))
    return home, int(pid), known


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{cmd[1:3]} failed: {proc.stderr.strip()[-500:]}")
    return wall, cpu, proc.stdout


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "naive":
        return naive_main(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    testdata = os.environ.get("CONSENTDESK_TESTDATA") or ROOT.parent / "shared/testdata"
    parser.add_argument("--photos", type=Path, default=Path(testdata) / "faces")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    photos = sorted(str(p) for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        home, pid, known = _setup(Path(tmp), args.photos)
        ours_cmd = [
            sys.executable,
            "-m",
            "app",
            "identify",
            *photos,
            "--purpose",
            str(pid),
            "--json",
        ]
        naive_cmd = [sys.executable, __file__, "naive", str(known), *photos]
        load_start = os.getloadavg()
        rows = []
        same = True
        for _ in range(args.rounds):
            ow, oc, out = _timed(ours_cmd, _env(home))
            nw, nc, nout = _timed(naive_cmd, _env(home))
            ours = [json.loads(x) for x in out.splitlines()]
            naive = [json.loads(x) for x in nout.splitlines()]
            for a, b in zip(ours, naive, strict=True):
                name = a["candidates"][0]["name"] if a["decision"] == "match" else None
                same = same and (a["decision"], name) == (b["decision"], b["name"])
            rows.append((ow, oc, nw, nc))
        load_end = os.getloadavg()
    result = {
        "photos": len(photos),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "rounds": [
            {
                "ours_wall_s": round(ow, 2),
                "ours_cpu_s": round(oc, 2),
                "naive_wall_s": round(nw, 2),
                "naive_cpu_s": round(nc, 2),
                "wall_ratio": round(nw / ow, 2),
                "cpu_ratio": round(nc / oc, 2),
            }
            for ow, oc, nw, nc in rows
        ],
        "same_decisions": same,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
