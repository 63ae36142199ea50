"""Vault commands: ``init``, ``unlock-check``, ``backup``, ``restore``, ``rekey``, ``audit``,
``purge-expired``, ``stats``.

Two ``register_*`` functions because ``--help`` has always listed the vault's set-up first,
then staff and purposes, then its care; the order is part of what users see.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from app.cli.context import Commands, Context, to_jsonable
from app.cli.finality_cmds import cmd_backup_list
from app.cli.output import escape_json
from app.desk import Desk
from app.errors import InvalidInput
from app.replay import ReplayResult


def cmd_init(ctx: Context) -> int:
    a = ctx.args
    if Desk.exists(ctx.home):
        raise InvalidInput(f"A vault already exists in {ctx.home}.")
    password = ctx.environ.get("CONSENTDESK_PASSWORD")
    if password is None:
        password = ctx.new_password(a.admin)
    desk, recovery = Desk.initialise(ctx.home, a.org, a.admin, password, timezone=a.timezone)
    try:
        ctx.emit(
            {"home": str(ctx.home), "admin": a.admin, "recovery_code": recovery},
            lambda: (
                f"Vault created in {ctx.home} for {a.org}.\n"
                f"Recovery code (shown once; print it and keep it locked away):\n\n    {recovery}\n"
            ),
        )
    finally:
        desk.lock()
    return 0


def cmd_unlock_check(ctx: Context) -> int:
    """Unlock with the quick checks; ``--full`` also reads every page (issue 12)."""
    desk = ctx.open()
    try:
        out: dict[str, object] = {"ok": True, "user": desk.user.username, "role": desk.user.role}
        problem = desk.ledger_problem
        if problem:  # the erasure ledger lost entries this vault applied: never silently
            out.update(ok=False, ledger_problem=problem)
            ctx.emit(out, f"Unlocked as {desk.user.username}, but the check FAILED: {problem}.")
            return 8
        if not ctx.args.full:
            ctx.emit(
                out,
                f"Unlocked as {desk.user.username} ({desk.user.role}); quick integrity checks "
                "passed (the full check: unlock-check --full).",
            )
            return 0
        last = [-1]

        def progress(fraction: float) -> None:
            percent = int(fraction * 100)
            if not ctx.json and percent // 10 != last[0] // 10:
                ctx.info(f"  full integrity check: {percent}%")
            last[0] = percent

        result = desk.full_check(progress)
        out.update(ok=result.ok, full_check=result)
        ctx.emit(
            out,
            lambda: (
                f"Unlocked as {desk.user.username} ({desk.user.role}); full integrity check "
                f"passed in {result.seconds:.1f} s."
                + "".join(f"\n  set right: {line}" for line in result.repaired)
                if result.ok
                else "The full integrity check FAILED: the vault is damaged; writes are locked. "
                "Restore the latest backup (consentdesk restore FILE)."
            ),
        )
        return 0 if result.ok else 3
    finally:
        desk.lock()


def cmd_backup(ctx: Context, desk: Desk) -> int:
    if ctx.args.list:
        return cmd_backup_list(ctx, desk)
    if not ctx.args.file:
        raise InvalidInput("Name the backup file to write, or use --list.")
    path = desk.backup(Path(ctx.args.file), _progress(ctx, "backup"))
    ctx.emit({"backup": str(path)}, f"Encrypted backup written and verified: {path}")
    return 0


def cmd_restore(ctx: Context) -> int:
    user, password = ctx.credentials()
    desk = Desk.restore(
        ctx.home, Path(ctx.args.file), user, password, progress=_progress(ctx, "restore")
    )
    try:
        stats = desk.stats()
        replayed = desk.replayed
        ctx.emit(
            {"restored": str(ctx.args.file), "stats": stats, "replayed": _replayed(replayed)},
            f"Restored {ctx.args.file}: {stats.people} people, {stats.active_consents} active consents."
            + _replayed_line(replayed),
        )
    finally:
        desk.lock()
    return 0


def _replayed(r: ReplayResult) -> dict[str, object]:
    """What the erasure ledger re-applied to the restored copy (pseudonymous IDs only)."""
    return {
        "erased_people": list(r.erased_people),
        "withdrawn_consents": list(r.withdrawn_consents),
        "expired_consents": list(r.expired_consents),
        "rectified_people": list(r.rectified_people),
        "entries_checked": r.entries_checked,
        "problems": list(r.problems),
    }


def _replayed_line(r: ReplayResult) -> str:
    line = (
        f"\nRe-applied from the erasure ledger: {len(r.erased_people)} erasures, "
        f"{len(r.withdrawn_consents)} withdrawn consents, {len(r.expired_consents)} expired "
        f"consents, {len(r.rectified_people)} rectifications."
    )
    return line + "".join(f"\nLedger problem: {p}" for p in r.problems)


def _progress(ctx: Context, what: str) -> Callable[[float], None]:
    """Progress on stderr in steps of 10% (not with --json: scripts read stdout only).
    Ctrl+C cancels: the temporary copy is removed and nothing is left half-written."""
    shown = [-1]

    def report(fraction: float) -> None:
        tenth = int(fraction * 10)
        if not ctx.json and tenth != shown[0]:
            ctx.info(f"  {what}: {tenth * 10}%")
        shown[0] = tenth

    return report


def cmd_rekey(ctx: Context, desk: Desk) -> int:
    desk.rekey(_progress(ctx, "rekey"))
    ctx.emit(
        {"rekeyed": True}, "The database now uses a fresh data key; all keyslots were re-sealed."
    )
    return 0


def cmd_audit_head(ctx: Context, desk: Desk) -> int:
    head = desk.audit_head()
    ctx.emit({"head": head}, head)
    return 0


def _read_pdf(path: Path) -> bytes:
    from app.cli.documents_cmds import MAX_PDF_BYTES

    try:
        if path.stat().st_size > MAX_PDF_BYTES:
            raise InvalidInput("That file is too large to be a ConsentDesk document.")
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"File not found: {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"That is a folder, not a PDF: {path}") from None


def cmd_audit_verify(ctx: Context, desk: Desk) -> int:
    against: str | None = ctx.args.against
    if against and ctx.args.head:
        raise InvalidInput("Give either --head or --against, not both.")
    if against:
        result = desk.audit_verify_against(_read_pdf(Path(against)))
    else:
        result = desk.audit_verify(ctx.args.head)

    def text() -> str:
        if not result.ok:
            return "Audit log BROKEN:\n" + "\n".join(f"  - {p}" for p in result.problems)
        line = f"Audit log intact: {result.entries} entries, head {result.head}"
        if result.document_head:
            line += f"; it still holds {result.document_head.split(':')[0]}, the document's head"
        return line

    ctx.emit(result, text)
    return 0 if result.ok else 8


def cmd_audit_export(ctx: Context, desk: Desk) -> int:
    out: str | None = ctx.args.out
    if out:
        ctx.out_file(out)
    events = desk.export_audit()
    lines = [json.dumps(to_jsonable(e), ensure_ascii=False) for e in events]
    if out:
        ctx.write(out, ("\n".join(lines) + "\n").encode("utf-8"))
        ctx.emit({"exported": len(events), "out": out}, f"Exported {len(events)} entries to {out}")
    else:
        print(escape_json("\n".join(lines)), file=ctx.stdout)
    return 0


def cmd_purge(ctx: Context, desk: Desk) -> int:
    result = desk.purge_expired(confirm_clock=ctx.args.confirm_clock)
    ctx.emit(
        result,
        lambda: (
            f"Expired {len(result.expired_consents)} consents "
            f"({result.templates_deleted} templates deleted); "
            f"erased {len(result.erased_people)} people."
        ),
    )
    return 0


def cmd_stats(ctx: Context, desk: Desk) -> int:
    s = desk.stats()
    ctx.emit(s, lambda: "\n".join(f"{k}: {v}" for k, v in dataclasses.asdict(s).items()))
    return 0


def register_setup(commands: Commands) -> None:
    p = commands.add("init", cmd_init, help="create the vault and its first admin")
    p.add_argument("--org", required=True)
    p.add_argument("--admin", required=True)
    p.add_argument("--timezone", default="UTC")
    p = commands.add("unlock-check", cmd_unlock_check, help="unlock and run integrity checks")
    p.add_argument(
        "--full", action="store_true", help="also check every page now (else in the background)"
    )


def register_care(commands: Commands) -> None:
    p = commands.add_with_desk("backup", cmd_backup, help="write an encrypted, verified backup")
    p.add_argument("file", nargs="?")
    p.add_argument("--list", action="store_true", help="list the backups kept in <home>/backups")
    p = commands.add("restore", cmd_restore, help="replace the vault with a backup")
    p.add_argument("file")
    commands.add_with_desk("rekey", cmd_rekey, help="re-encrypt with a fresh data key")

    audit = commands.group(commands.parser("audit", help="the HMAC-chained audit log"), "audit_cmd")
    x = audit.add_with_desk("verify", cmd_audit_verify)
    x.add_argument("--head", help="a head exported earlier (SEQ:MAC), to detect a cut-off tail")
    x.add_argument(
        "--against",
        metavar="FILE.pdf",
        help="a document issued by this vault: its printed audit head must still be in the chain",
    )
    audit.add_with_desk("head", cmd_audit_head)
    x = audit.add_with_desk("export", cmd_audit_export)
    x.add_argument("--out")

    p = commands.add_with_desk("purge-expired", cmd_purge, help="apply retention limits now")
    p.add_argument(
        "--confirm-clock", action="store_true", help="confirm the system date after a clock jump"
    )
    commands.add_with_desk("stats", cmd_stats, help="counts")
