"""Face commands of the CLI: ``import``, ``identify``, ``bench``.

``identify --json`` prints one JSON object per photo per line, and ``import --json`` one object
``{"imported": N, "skipped": [{"row": ..., "reason": ...}], "person_ids": [...]}``: both shapes
are promises to scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def cmd_import(ctx: Any, desk: Any) -> int:
    def progress(done: int, total: int) -> None:
        if not ctx.json:
            ctx.info(f"  row {done}/{total}")

    report = desk.import_people(Path(ctx.args.csv), ctx.args.purpose, progress)

    def text() -> str:
        lines = [f"Imported {report.imported}; skipped {len(report.skipped)}."]
        lines += [f"  row {s.row}: {s.reason}" for s in report.skipped]
        lines += [f"  new person {pid}" for pid in report.person_ids]
        return "\n".join(lines)

    ctx.emit(
        {
            "imported": report.imported,
            "skipped": [{"row": s.row, "reason": s.reason} for s in report.skipped],
            "person_ids": list(report.person_ids),
        },
        text,
    )
    return 0


def cmd_identify(ctx: Any, desk: Any) -> int:
    worst = 0
    for photo in ctx.args.photos:
        result = desk.identify_photo(Path(photo))
        record = {
            "photo": photo,
            "decision": result.decision,
            "candidates": [
                {
                    "person_id": c.person_id,
                    "name": c.name,
                    "reference": c.reference,
                    "distance": c.distance,
                }
                for c in result.candidates
            ],
            "message": result.message,
        }
        if ctx.json:
            print(json.dumps(record, ensure_ascii=False), file=ctx.stdout, flush=True)
        else:
            best = result.candidates[0] if result.candidates else None
            who = f" → {best.name} ({best.person_id}, {best.distance:.3f})" if best else ""
            print(f"{photo}: {result.decision}{who}", file=ctx.stdout)
        if result.decision == "error":
            worst = 2
    desk.record_event("identify.cli", None, {"photos": len(ctx.args.photos)})
    return worst


def cmd_bench(ctx: Any) -> int:
    from app.bio.bench import run_benchmark

    data_dir = ctx.args.testdata or ctx.environ.get("CONSENTDESK_TESTDATA")
    if not data_dir:
        default = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
        data_dir = str(default) if default.is_dir() else None

    def progress(message: str, *_: Any) -> None:
        if not ctx.json:
            ctx.info(f"  {message}")

    results = run_benchmark(Path(data_dir) if data_dir else None, progress)
    ctx.emit(
        results,
        lambda: "\n".join(f"{k}: {v}" for k, v in results.items()),
    )
    return 0


def register(parsers: Any) -> None:
    """Add the face subcommands to the CLI parser."""
    from app.cli import with_desk

    sub, common = parsers
    p = sub.add_parser("import", parents=[common], help="bulk enrollment with paper consents")
    p.add_argument("csv")
    p.add_argument("--purpose", type=int, required=True)
    p.set_defaults(fn=with_desk(cmd_import))
    p = sub.add_parser("identify", parents=[common], help="who is in these photos")
    p.add_argument("photos", nargs="+")
    p.set_defaults(fn=with_desk(cmd_identify))
    p = sub.add_parser("bench", parents=[common], help="face pipeline benchmark")
    p.add_argument("--testdata", help="folder with faces/ (default: $CONSENTDESK_TESTDATA)")
    p.set_defaults(fn=cmd_bench)
