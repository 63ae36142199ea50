"""Face commands of the CLI: ``import``, ``identify``, ``bench``.

``identify --json`` prints one JSON object per photo per line, and ``import --json`` one object
``{"imported": N, "skipped": [{"row": ..., "reason": ...}], "person_ids": [...]}``: both shapes
are promises to scripts. ``import`` exits 10 when the file had rows and none was imported.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.context import Commands, Context
from app.cli.output import IDENT, escape_json, shown, whole
from app.desk import Desk
from app.errors import InvalidInput

# Exit code of ``import`` when rows were given and none was imported (the report still prints).
IMPORT_ALL_FAILED = 10


def cmd_import(ctx: Context, desk: Desk) -> int:
    def progress(done: int, total: int) -> None:
        if not ctx.json:
            ctx.info(f"  row {done}/{total}")

    report = desk.import_people(Path(ctx.args.csv), ctx.args.purpose, progress)

    def text() -> str:
        lines = [f"Imported {report.imported}; skipped {len(report.skipped)}."]
        if report.attested_adults:
            lines.append(
                f"  {report.attested_adults} without a date of birth: recorded as adults "
                "according to the organisation's records, attested by you"
            )
        lines += [f"  row {s.row}: {shown(s.reason)}" for s in report.skipped]
        lines += [f"  new person {pid}" for pid in report.person_ids]
        return "\n".join(lines)

    ctx.emit(
        {
            "imported": report.imported,
            "skipped": [{"row": s.row, "reason": s.reason} for s in report.skipped],
            "person_ids": list(report.person_ids),
            "attested_adults": report.attested_adults,
        },
        text,
    )
    # Every row failed: a script must not take "nothing imported" for success.
    return IMPORT_ALL_FAILED if report.skipped and not report.imported else 0


def cmd_identify(ctx: Context, desk: Desk) -> int:
    worst = 0
    # Batched (one encoder pass per few photos, the next ones decoded meanwhile); results
    # still come one per photo, in order, as each batch finishes.
    results = desk.identify_photos(
        [Path(p) for p in ctx.args.photos], ctx.args.purpose, origin="cli"
    )
    for photo, result in zip(ctx.args.photos, results, strict=True):
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
            print(escape_json(json.dumps(record, ensure_ascii=False)), file=ctx.stdout, flush=True)
        else:
            best = result.candidates[0] if result.candidates else None
            who = f" → {shown(best.name)} ({best.person_id}, {best.distance:.3f})" if best else ""
            # A photo that could not be used says why on its own line (the others go on).
            why = f": {shown(result.message)}" if result.decision == "error" else ""
            print(f"{shown(photo)}: {result.decision}{who}{why}", file=ctx.stdout)
        if result.decision == "error":
            worst = 2
    desk.record_event(
        "identify.cli", None, {"photos": len(ctx.args.photos), "purpose": ctx.args.purpose}
    )
    return worst


def cmd_bench(ctx: Context) -> int:
    """The face pipeline and the vault-scale verbs (compliance overview, device handoff) in
    one report; ``--only`` runs one half."""
    from app.bio.bench import run_benchmark
    from app.scale_bench import run_scale_benchmarks

    data_dir: str | None = ctx.args.testdata or ctx.environ.get("CONSENTDESK_TESTDATA")
    if not data_dir:
        # The checkout's sibling folder ../shared/testdata (this file is app/cli/face_cmds.py).
        default = Path(__file__).resolve().parents[3] / "shared" / "testdata"
        data_dir = str(default) if default.is_dir() else None

    if ctx.args.scale is not None:  # issue 12: sign-in, commands, purge, backups at N people
        from app.vault_bench import run_vault_bench

        if ctx.args.keep and Path(ctx.args.keep).exists():
            raise InvalidInput("--keep needs a new folder: that one already exists.")

        scale = run_vault_bench(
            ctx.args.scale,
            testdata=Path(data_dir) if data_dir else None,
            progress=lambda m: None if ctx.json else ctx.info(f"  {m}"),
            keep=Path(ctx.args.keep) if ctx.args.keep else None,
        )
        ctx.emit(scale, lambda: "\n".join(f"{k}: {v}" for k, v in scale.items()))
        return 0

    def progress(message: str, _fraction: float) -> None:
        if not ctx.json:
            ctx.info(f"  {message}")

    if not 100 <= ctx.args.people <= 10_000_000:
        raise InvalidInput("--people must be between 100 and 10000000.")
    results: dict[str, object] = {}
    if ctx.args.only in (None, "face"):
        results.update(run_benchmark(Path(data_dir) if data_dir else None, progress))
    if ctx.args.only in (None, "scale"):
        results.update(
            run_scale_benchmarks(
                ctx.args.people, progress=lambda m: None if ctx.json else ctx.info(f"  {m}")
            )
        )
    ctx.emit(
        results,
        lambda: "\n".join(f"{k}: {v}" for k, v in results.items()),
    )
    return 0


def register(commands: Commands) -> None:
    p = commands.add_with_desk("import", cmd_import, help="bulk enrollment with paper consents")
    p.add_argument("csv")
    p.add_argument("--purpose", type=IDENT, required=True)
    p = commands.add_with_desk("identify", cmd_identify, help="who is in these photos")
    p.add_argument("photos", nargs="+")
    p.add_argument(  # issue-13: searches only this purpose's people
        "--purpose",
        type=int,
        help="search only the people who consented to this purpose (without it: admins only)",
    )
    p = commands.add("bench", cmd_bench, help="face pipeline benchmark")
    p.add_argument("--testdata", help="folder with faces/ (default: $CONSENTDESK_TESTDATA)")
    p.add_argument(
        "--scale",
        type=_people_count,
        metavar="N",
        help="build a temporary vault of N people and time sign-in, commands, purge, backups",
    )
    p.add_argument(
        "--keep",
        metavar="FOLDER",
        help="with --scale: build in this new folder and keep the measured vault (user "
        "bench-admin, password in app/vault_bench.py) to sign in to it afterwards",
    )
    p.add_argument(
        "--only", choices=("face", "scale"), help="only the face pipeline or only the vault scale"
    )
    p.add_argument(
        "--people",
        type=whole(1, 10_000_000),
        default=100_000,
        help="vault size for the scale benchmarks (compliance overview, handoff; 100000)",
    )


def _people_count(text: str) -> int:
    """argparse type for ``--scale``: a whole number of people, 1 to 1,000,000."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("N must be a whole number of people") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("N must be between 1 and 1000000")
    return value
