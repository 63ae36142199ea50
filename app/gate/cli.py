"""The ``consentdesk-gate`` command.

``identify --json`` prints one JSON object per photo per line with ``photo``, ``decision``
(allow | deny | no_face | error) and ``person_id`` when allowed: a promise to door integrators.
``live`` watches a camera (``--camera 0``, the default) or a video file or image folder played
as one, and prints a line per decision (``--json``: ``frame``, ``time``, ``decision``,
``person_id`` when allowed); without a camera it says so in one line and exits with 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from app.errors import ConsentDeskError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consentdesk-gate",
        description="Reference recognition device: imports signed bundles and revocation lists "
        "from ConsentDesk and answers allow/deny.",
    )
    parser.add_argument("--home", required=True, help="the folder made by `device keygen`")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import", help="import bundles or revocation lists, in order")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("identify", help="allow or deny the person in each photo")
    p.add_argument("photos", nargs="+")
    p.add_argument("--json", action="store_true")
    sub.add_parser("status", help="sequence numbers and how many templates are held")
    p = sub.add_parser("live", help="watch a camera and answer allow/deny for each face")
    p.add_argument(
        "--camera", default="0", help="camera index, or a video file or image folder (0)"
    )
    p.add_argument("--frames", type=int, help="stop after this many frames")
    p.add_argument("--stride", type=int, default=3, help="analyse every Nth frame (3)")
    p.add_argument("--json", action="store_true")
    return parser


def run(
    argv: Sequence[str],
    *,
    stdout: TextIO,
    stderr: TextIO,
    clock: Callable[[], dt.datetime],
    engine: Any = None,
) -> int:
    from app.gate.device import Gate

    args = build_parser().parse_args(list(argv))
    try:
        gate = Gate(Path(args.home), clock=clock, engine=engine)
        try:
            if args.command == "import":
                for name in args.files:
                    r = gate.import_file(Path(name).read_bytes())
                    print(
                        f"{name}: {r.kind} {r.seq}: +{r.added} -{r.removed}, "
                        f"{r.expired} expired, {r.held} held",
                        file=stdout,
                    )
                return 0
            if args.command == "live":
                return _live(gate, args, stdout, stderr)
            if args.command == "status":
                s = gate.status()
                print(json.dumps(s.__dict__), file=stdout)
                return 0
            worst = 0
            for photo in args.photos:
                d = gate.identify_photo(Path(photo))
                if args.json:
                    record: dict[str, Any] = {"photo": photo, "decision": d.decision}
                    if d.decision == "allow":
                        record["person_id"] = d.person_id
                    print(json.dumps(record), file=stdout, flush=True)
                else:
                    who = f" {d.person_id}" if d.person_id else ""
                    print(f"{photo}: {d.decision}{who}", file=stdout)
                if d.decision == "error":
                    worst = 2
            return worst
        finally:
            gate.close()
    except ConsentDeskError as exc:
        print(f"consentdesk-gate: {exc}", file=stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"consentdesk-gate: {exc.strerror or type(exc).__name__}", file=stderr)
        return 1


def _live(gate: Any, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import cv2.utils.logging

    from app.bio.sources import open_source
    from app.gate.live import LiveDecision, watch

    # OpenCV's own warnings ("can't open camera by index") would come before our one line.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

    if (args.frames is not None and args.frames < 1) or not 1 <= args.stride <= 100:
        print("consentdesk-gate: --frames must be at least 1, --stride 1 to 100.", file=stderr)
        return 2

    def report(d: LiveDecision) -> None:
        if args.json:
            record: dict[str, Any] = {
                "frame": d.frame,
                "time": round(d.time, 2),
                "decision": d.decision,
            }
            if d.decision == "allow":
                record["person_id"] = d.person_id
            print(json.dumps(record), file=stdout, flush=True)
        else:
            who = f" {d.person_id}" if d.person_id else ""
            print(f"{d.time:7.2f}s frame {d.frame}: {d.decision}{who}", file=stdout, flush=True)

    summary = watch(
        gate, open_source(args.camera), report, stride=args.stride, max_frames=args.frames
    )
    print(
        f"{summary.frames} frames, {summary.analysed} analysed, {summary.decisions} decisions "
        f"({summary.allowed} allowed).",
        file=stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(
        sys.argv[1:] if argv is None else argv,
        stdout=sys.stdout,
        stderr=sys.stderr,
        clock=lambda: dt.datetime.now(dt.UTC),
    )


if __name__ == "__main__":
    raise SystemExit(main())
