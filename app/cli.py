"""The ``consentdesk`` command: no arguments starts the workstation UI; subcommands administer it.

Command names, flags and ``--json`` shapes are promises to scripts: keep them stable. Errors are
one line on stderr and a non-zero exit code, never a traceback (set ``CONSENTDESK_DEBUG=1`` to
see one). Passwords come from a prompt, or from ``CONSENTDESK_USER`` / ``CONSENTDESK_PASSWORD``
(and ``CONSENTDESK_NEW_PASSWORD`` for a new or changed password) for scripting.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from app.desk import Desk
from app.errors import ConsentDeskError, InvalidInput
from app.paths import resolve_home


# ---------------------------------------------------------------------- output helpers
def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None  # PDFs and keys never go to stdout as JSON
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class Context:
    """What every command needs: the home folder, the environment, the streams, prompts."""

    def __init__(
        self,
        args: argparse.Namespace,
        environ: Mapping[str, str],
        stdout: TextIO,
        stderr: TextIO,
        stdin: TextIO,
    ) -> None:
        self.args = args
        self.environ = environ
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.home = resolve_home(getattr(args, "home", None), environ)
        self.json = bool(getattr(args, "json", False))

    def emit(self, obj: Any, text: str | Callable[[], str]) -> None:
        if self.json:
            print(json.dumps(to_jsonable(obj), ensure_ascii=False), file=self.stdout)
        else:
            print(text() if callable(text) else text, file=self.stdout)

    def info(self, text: str) -> None:
        print(text, file=self.stderr)

    def ask(self, prompt: str, secret: bool = False) -> str:
        if not self.stdin.isatty():
            raise InvalidInput(
                f"{prompt.rstrip(': ')} is needed; no terminal to ask on "
                "(set CONSENTDESK_USER / CONSENTDESK_PASSWORD)."
            )
        if secret:
            return getpass.getpass(prompt)
        self.stderr.write(prompt)
        self.stderr.flush()
        return self.stdin.readline().rstrip("\n")

    def credentials(self) -> tuple[str, str]:
        user = self.environ.get("CONSENTDESK_USER") or self.ask("User: ")
        password = self.environ.get("CONSENTDESK_PASSWORD")
        if password is None:
            password = self.ask("Password: ", secret=True)
        return user, password

    def new_password(self, who: str) -> str:
        password = self.environ.get("CONSENTDESK_NEW_PASSWORD")
        if password is not None:
            return password
        first = self.ask(f"New password for {who}: ", secret=True)
        if self.ask("Repeat the password: ", secret=True) != first:
            raise InvalidInput("The two passwords differ.")
        return first

    def open(self) -> Desk:
        code = self.environ.get("CONSENTDESK_RECOVERY_CODE")
        if code:
            return Desk.unlock_with_recovery(self.home, code)
        user, password = self.credentials()
        return Desk.unlock(self.home, user, password)


# ---------------------------------------------------------------------- commands
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
    desk = ctx.open()
    try:
        ctx.emit(
            {"ok": True, "user": desk.user.username, "role": desk.user.role},
            f"Unlocked as {desk.user.username} ({desk.user.role}); integrity checks passed.",
        )
    finally:
        desk.lock()
    return 0


def with_desk(fn: Callable[[Context, Desk], int]) -> Callable[[Context], int]:
    def run(ctx: Context) -> int:
        desk = ctx.open()
        try:
            return fn(ctx, desk)
        finally:
            desk.lock()

    return run


@with_desk
def cmd_user(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    if a.user_cmd == "list":
        users = desk.list_users()
        ctx.emit(users, lambda: "\n".join(f"{u.id}\t{u.username}\t{u.role}" for u in users))
    elif a.user_cmd == "add":
        account = desk.add_user(a.username, ctx.new_password(a.username), a.role)
        ctx.emit(account, f"Added {account.role} {account.username} (id {account.id}).")
    elif a.user_cmd == "remove":
        desk.remove_user(a.username)
        ctx.emit({"removed": a.username}, f"Removed {a.username}; their keyslot is gone.")
    elif a.user_cmd == "passwd":
        desk.change_password(a.username, ctx.new_password(a.username))
        ctx.emit({"changed": a.username}, f"Password changed for {a.username}.")
    return 0


def _purpose_text(p: Any) -> str:
    return (
        f"Purpose {p.id} (version {p.version}): {p.title}\n"
        f"  controller: {p.controller} ({p.contact})\n"
        f"  retention: {p.retention_days} days; alternative: {p.alternative}\n"
        f"  keeps photos: {'yes' if p.keep_photos else 'no'}"
        + (f"\n  recipients: {p.recipients}" if p.recipients else "")
        + (f"\n  regulator: {p.regulator}" if p.regulator else "")
        + (f"\n  description: {p.description}" if p.description else "")
    )


@with_desk
def cmd_purpose(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    if a.purpose_cmd == "list":
        items = desk.list_purposes()
        ctx.emit(
            items,
            lambda: (
                "\n".join(f"{p.id}\tv{p.version}\t{p.retention_days}d\t{p.title}" for p in items)
                or "No purposes yet."
            ),
        )
    elif a.purpose_cmd == "show":
        p = desk.get_purpose(a.purpose_id)
        ctx.emit(p, lambda: _purpose_text(p))
    elif a.purpose_cmd == "add":
        p = desk.add_purpose(
            title=a.title,
            controller=a.controller,
            contact=a.contact,
            retention_days=a.retention_days,
            alternative=a.alternative,
            description=a.description or "",
            recipients=a.recipients or "",
            regulator=a.regulator or "",
            keep_photos=a.keep_photos,
        )
        ctx.emit(p, f"Added purpose {p.id}: {p.title}")
    elif a.purpose_cmd == "edit":
        changes = {
            k: getattr(a, k)
            for k in (
                "title",
                "controller",
                "contact",
                "retention_days",
                "alternative",
                "description",
                "recipients",
                "regulator",
            )
            if getattr(a, k) is not None
        }
        if a.keep_photos is not None:
            changes["keep_photos"] = a.keep_photos
        p = desk.edit_purpose(a.purpose_id, **changes)
        ctx.emit(p, f"Purpose {p.id} is now at version {p.version}.")
    return 0


@with_desk
def cmd_backup(ctx: Context, desk: Desk) -> int:
    if ctx.args.list or not ctx.args.file:  # issue-10: backup --list
        from app.cli_finality import cmd_backup_list

        if not ctx.args.list:
            raise InvalidInput("Name the backup file to write, or use --list.")
        return cmd_backup_list(ctx, desk)
    path = desk.backup(Path(ctx.args.file))
    ctx.emit({"backup": str(path)}, f"Encrypted backup written and verified: {path}")
    return 0


def cmd_restore(ctx: Context) -> int:
    user, password = ctx.credentials()
    desk = Desk.restore(ctx.home, Path(ctx.args.file), user, password)
    try:
        stats = desk.stats()
        ctx.emit(
            {"restored": str(ctx.args.file), "stats": stats},
            f"Restored {ctx.args.file}: {stats.people} people, {stats.active_consents} active consents.",
        )
    finally:
        desk.lock()
    return 0


@with_desk
def cmd_rekey(ctx: Context, desk: Desk) -> int:
    desk.rekey()
    ctx.emit(
        {"rekeyed": True}, "The database now uses a fresh data key; all keyslots were re-sealed."
    )
    return 0


@with_desk
def cmd_audit(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    if a.audit_cmd == "head":
        head = desk.audit_head()
        ctx.emit({"head": head}, head)
        return 0
    if a.audit_cmd == "verify":
        result = desk.audit_verify(a.head)
        ctx.emit(
            result,
            lambda: (
                f"Audit log intact: {result.entries} entries, head {result.head}"
                if result.ok
                else "Audit log BROKEN:\n" + "\n".join(f"  - {p}" for p in result.problems)
            ),
        )
        return 0 if result.ok else 8
    events = desk.audit_events()
    lines = [json.dumps(to_jsonable(e), ensure_ascii=False) for e in events]
    if a.out:
        Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
        ctx.emit(
            {"exported": len(events), "out": a.out}, f"Exported {len(events)} entries to {a.out}"
        )
    else:
        print("\n".join(lines), file=ctx.stdout)
    return 0


@with_desk
def cmd_purge(ctx: Context, desk: Desk) -> int:
    result = desk.purge_expired(confirm_clock=ctx.args.confirm_clock)  # issue-10
    ctx.emit(
        result,
        lambda: (
            f"Expired {len(result.expired_consents)} consents "
            f"({result.templates_deleted} templates deleted); "
            f"erased {len(result.erased_people)} people."
        ),
    )
    return 0


@with_desk
def cmd_stats(ctx: Context, desk: Desk) -> int:
    s = desk.stats()
    ctx.emit(s, lambda: "\n".join(f"{k}: {v}" for k, v in dataclasses.asdict(s).items()))
    return 0


@with_desk
def cmd_export(ctx: Context, desk: Desk) -> int:
    out = Path(ctx.args.out)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    export = desk.export_person(ctx.args.person_id)
    data = to_jsonable(export)
    (out / "person.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    files = ["person.json"]
    for doc in export.documents:
        (out / doc.filename).write_bytes(desk.document_pdf(doc.id))
        files.append(doc.filename)
    (out / "access-report.pdf").write_bytes(desk.access_report_pdf(ctx.args.person_id))
    files.append("access-report.pdf")
    ctx.emit(
        {"person_id": export.person.id, "out": str(out), "files": files},
        f"Wrote {len(files)} files to {out}",
    )
    return 0


@with_desk
def cmd_people(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    page = desk.find_people(a.query or "", a.status, a.purpose, a.offset, a.limit)
    ctx.emit(
        page,
        lambda: "\n".join(
            f"{s.person.id}\t{s.status}\t{s.person.reference or '-'}\t{s.person.name}"
            for s in page.items
        )
        + f"\n({len(page.items)} of {page.total})",
    )
    return 0


@with_desk
def cmd_withdraw(ctx: Context, desk: Desk) -> int:
    r = desk.withdraw(ctx.args.person_id, ctx.args.reason, ctx.args.purpose)
    if ctx.args.receipt and r.receipt is not None:
        Path(ctx.args.receipt).write_bytes(desk.document_pdf(r.receipt.id))
    ctx.emit(
        r,
        f"Withdrawn {len(r.consent_ids)} consent(s); {r.templates_deleted} face template(s) destroyed.",
    )
    return 0


@with_desk
def cmd_erase(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    person = desk.get_person(a.person_id)
    if not a.yes:
        answer = ctx.ask(f"Erase everything about person {person.id}? Type the ID to confirm: ")
        if answer.strip().upper() != person.id:
            raise InvalidInput("Not confirmed; nothing was erased.")
    r = desk.erase(a.person_id, a.reason)
    written = None
    if a.certificate and r.certificate_pdf:
        Path(a.certificate).write_bytes(r.certificate_pdf)
        written = a.certificate
    ctx.emit(
        {**to_jsonable(r), "certificate_file": written},
        f"Erased person {r.person_id}: "
        + ", ".join(f"{k} {r.counts_before[k]}→{r.counts_after[k]}" for k in r.counts_before),
    )
    return 0


# ---------------------------------------------------------------------- parser
def build_parser(extra: Sequence[Callable[[Any], None]] = ()) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home", help="vault folder (default: $CONSENTDESK_HOME or the user data dir)"
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser = argparse.ArgumentParser(
        prog="consentdesk",
        description="ConsentDesk: consent-first face enrollment. No command starts the workstation UI.",
        parents=[common],
    )
    parser.add_argument(
        "--self-test", action="store_true",
        help="check that this installation works (temporary vault, models, PDF, Qt) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="create the vault and its first admin")
    p.add_argument("--org", required=True)
    p.add_argument("--admin", required=True)
    p.add_argument("--timezone", default="UTC")
    p.set_defaults(fn=cmd_init)

    p = sub.add_parser("unlock-check", parents=[common], help="unlock and run integrity checks")
    p.set_defaults(fn=cmd_unlock_check)

    p = sub.add_parser("user", parents=[common], help="staff accounts")
    us = p.add_subparsers(dest="user_cmd", required=True)
    x = us.add_parser("add", parents=[common])
    x.add_argument("username")
    x.add_argument("--role", choices=["admin", "operator"], default="operator")
    us.add_parser("list", parents=[common])
    x = us.add_parser("remove", parents=[common])
    x.add_argument("username")
    x = us.add_parser("passwd", parents=[common])
    x.add_argument("username")
    p.set_defaults(fn=cmd_user)

    p = sub.add_parser("purpose", parents=[common], help="purposes of processing")
    ps = p.add_subparsers(dest="purpose_cmd", required=True)
    for name in ("add", "edit"):
        x = ps.add_parser(name, parents=[common])
        if name == "edit":
            x.add_argument("purpose_id", type=int)
        req = name == "add"
        x.add_argument("--title", required=req)
        x.add_argument("--controller", required=req)
        x.add_argument("--contact", required=req)
        x.add_argument("--retention-days", type=int, required=req)
        x.add_argument("--alternative", required=req)
        x.add_argument("--description")
        x.add_argument("--recipients")
        x.add_argument("--regulator")
        if req:
            x.add_argument("--keep-photos", action="store_true")
        else:
            x.add_argument("--keep-photos", action=argparse.BooleanOptionalAction, default=None)
    ps.add_parser("list", parents=[common])
    x = ps.add_parser("show", parents=[common])
    x.add_argument("purpose_id", type=int)
    p.set_defaults(fn=cmd_purpose)

    p = sub.add_parser("backup", parents=[common], help="write an encrypted, verified backup")
    p.add_argument("file", nargs="?")  # issue-10: optional with --list
    p.add_argument("--list", action="store_true", help="list the backups kept in <home>/backups")
    p.set_defaults(fn=cmd_backup)
    p = sub.add_parser("restore", parents=[common], help="replace the vault with a backup")
    p.add_argument("file")
    p.set_defaults(fn=cmd_restore)
    p = sub.add_parser("rekey", parents=[common], help="re-encrypt with a fresh data key")
    p.set_defaults(fn=cmd_rekey)

    p = sub.add_parser("audit", parents=[common], help="the HMAC-chained audit log")
    aus = p.add_subparsers(dest="audit_cmd", required=True)
    x = aus.add_parser("verify", parents=[common])
    x.add_argument("--head", help="a head exported earlier (SEQ:MAC), to detect a cut-off tail")
    aus.add_parser("head", parents=[common])
    x = aus.add_parser("export", parents=[common])
    x.add_argument("--out")
    p.set_defaults(fn=cmd_audit)

    p = sub.add_parser("purge-expired", parents=[common], help="apply retention limits now")
    p.add_argument(  # issue-10
        "--confirm-clock", action="store_true", help="confirm the system date after a clock jump"
    )
    p.set_defaults(fn=cmd_purge)
    p = sub.add_parser("stats", parents=[common], help="counts")
    p.set_defaults(fn=cmd_stats)
    p = sub.add_parser("export", parents=[common], help="everything held about a person")
    p.add_argument("person_id")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser("people", parents=[common], help="find people by name or reference")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--status", choices=["active", "withdrawn", "expired", "refused"])
    p.add_argument("--purpose", type=int)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(fn=cmd_people)
    p = sub.add_parser("withdraw", parents=[common], help="withdraw a person's consent")
    p.add_argument("person_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--purpose", type=int, help="only this purpose (default: every active one)")
    p.add_argument("--receipt", help="write the withdrawal receipt PDF here")
    p.set_defaults(fn=cmd_withdraw)
    p = sub.add_parser("erase", parents=[common], help="erase everything about a person")
    p.add_argument("person_id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--reason", default="request of the person")
    p.add_argument("--certificate", help="write the erasure certificate PDF here")
    p.set_defaults(fn=cmd_erase)

    for add in extra:
        add((sub, common))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ
    from app.cli_documents import register as register_documents
    from app.cli_face import register as register_face

    parser = build_parser([register_face, register_documents])
    args = parser.parse_args(argv)
    ctx = Context(args, environ, sys.stdout, sys.stderr, sys.stdin)
    try:
        if args.self_test:
            from app.selftest import run as self_test

            return self_test(sys.stdout, as_json=ctx.json)
        if args.command is None:
            from importlib import import_module

            ui_main = import_module("ui.main")
            return int(ui_main.main(argv, ctx.home))
        return int(args.fn(ctx))
    except ConsentDeskError as exc:
        print(f"consentdesk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("consentdesk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the operator; no data in the message
        if environ.get("CONSENTDESK_DEBUG"):
            raise
        print(
            f"consentdesk: unexpected {type(exc).__name__}; nothing further was changed. "
            "Run with CONSENTDESK_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return 1
