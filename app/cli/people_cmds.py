"""People commands: ``export``, ``people``, ``withdraw``, ``erase``, ``erasure-certificate``.

``erase`` asks for the person's ID to be typed back unless ``--yes`` is given: it is the one
command that cannot be undone, and a script has to say so explicitly.
"""

from __future__ import annotations

import json

from app.cli.context import Commands, Context, json_object, to_jsonable
from app.cli.output import IDENT, shown, whole
from app.desk import Desk
from app.errors import InvalidInput
from app.models import CONSENT_STATUSES


def cmd_export(ctx: Context, desk: Desk) -> int:
    out = ctx.out_folder(ctx.args.out)
    export = desk.export_person(ctx.args.person_id)
    data = to_jsonable(export)
    ctx.write(out / "person.json", json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
    files = ["person.json"]
    for doc in export.documents:
        ctx.write(out / doc.filename, desk.document_pdf(doc.id))
        files.append(doc.filename)
    # issue-15: the report reuses this export, so the request leaves one access audit entry
    if desk.read_only:
        # issue-11: the report must be stored in the vault to verify later; on a full disk the
        # export goes on with the data and documents, and says what is missing.
        ctx.info("access-report.pdf was not made: the vault is read-only (its disk is full).")
    else:
        report = desk.access_report_pdf(ctx.args.person_id, export=export)
        ctx.write(out / "access-report.pdf", report)
        files.append("access-report.pdf")
    ctx.emit(
        {"person_id": export.person.id, "out": str(out), "files": files},
        f"Wrote {len(files)} files to {out}",
    )
    return 0


def cmd_people(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    page = desk.find_people(a.query or "", a.status, a.purpose, a.offset, a.limit)
    ctx.emit(
        page,
        lambda: (
            "\n".join(
                f"{s.person.id}\t{s.status}\t{shown(s.person.reference or '-')}\t{shown(s.person.name)}"
                for s in page.items
            )
            + f"\n({len(page.items)} of {page.total})"
            + (
                f"\n{page.refusals_withheld} refusal(s) recorded; operators do not see who refused."
                if page.refusals_withheld
                else ""
            )
        ),
    )
    return 0


def cmd_withdraw(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    if a.receipt:
        ctx.out_file(a.receipt, "the receipt file")  # before anything is withdrawn
    r = desk.withdraw(a.person_id, a.reason, a.purpose, a.requested_by)
    if a.receipt and r.receipt is not None:
        ctx.write(a.receipt, desk.document_pdf(r.receipt.id))
    ctx.emit(
        r,
        f"Withdrawn {len(r.consent_ids)} consent(s); {r.templates_deleted} face template(s) destroyed.",
    )
    return 0


def cmd_erase(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    if a.certificate:
        ctx.out_file(a.certificate, "the certificate file")  # before anything is erased
    person = desk.get_person(a.person_id)
    if not a.yes:
        answer = ctx.ask(f"Erase everything about person {person.id}? Type the ID to confirm: ")
        if answer.strip().upper() != person.id:
            raise InvalidInput("Not confirmed; nothing was erased.")
    r = desk.erase(a.person_id, a.reason, a.requested_by)
    written = None
    if a.certificate and r.certificate_pdf:
        ctx.write(a.certificate, r.certificate_pdf)
        written = a.certificate
    ctx.emit(
        {**json_object(r), "certificate_file": written},
        f"Erased person {r.person_id}: "
        + ", ".join(f"{k} {r.counts_before[k]}→{r.counts_after[k]}" for k in r.counts_before),
    )
    return 0


def cmd_erasure_certificate(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    out = ctx.out_file(a.out)
    pdf = desk.reissue_erasure_certificate(a.person_id.strip().upper(), a.language)
    ctx.write(out, pdf)
    ctx.emit(
        {"person_id": a.person_id.strip().upper(), "out": str(out), "bytes": len(pdf)},
        f"Erasure certificate of {a.person_id.strip().upper()} issued again: {out}",
    )
    return 0


def cmd_person_edit(ctx: Context, desk: Desk) -> int:
    """issue-13: rectification; the receipt goes to --receipt when given."""
    a = ctx.args
    if a.name is None and a.reference is None:
        raise InvalidInput("Say what to correct: --name and/or --reference.")
    if a.receipt:
        ctx.out_file(a.receipt, "the receipt file")  # before anything is corrected
    r = desk.rectify_person(
        a.person_id.strip().upper(), name=a.name, reference=a.reference, language=a.language
    )
    written = None
    if a.receipt and r.receipt is not None:
        ctx.write(a.receipt, desk.document_pdf(r.receipt.id))
        written = a.receipt
    ctx.emit(
        {
            "person_id": r.person.id,
            "fields": list(r.fields),
            "receipt": r.receipt.id if r.receipt else None,
            "receipt_file": written,
        },
        f"Corrected {', '.join(r.fields)} of person {r.person.id}"
        + (f"; receipt written to {written}" if written else ""),
    )
    return 0


def register(commands: Commands) -> None:
    p = commands.add_with_desk("export", cmd_export, help="everything held about a person")
    p.add_argument("person_id")
    p.add_argument("--out", required=True)
    person = commands.group(
        commands.parser("person", help="one person's record (rectification)"), "person_cmd"
    )
    p = person.add_with_desk("edit", cmd_person_edit, help="correct a person's details")
    p.add_argument("person_id")
    p.add_argument("--name", help="the corrected name")
    p.add_argument("--reference", help="the corrected reference ('' removes it)")
    p.add_argument("--receipt", help="write the rectification receipt PDF here")
    p.add_argument("--language", choices=["en", "zh"], help="of the receipt (default: person's)")
    p = commands.add_with_desk("people", cmd_people, help="find people by name or reference")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--status", choices=CONSENT_STATUSES)
    p.add_argument("--purpose", type=IDENT)
    p.add_argument("--offset", type=whole(0), default=0)
    p.add_argument("--limit", type=whole(1, 10_000), default=50)
    p = commands.add_with_desk("withdraw", cmd_withdraw, help="withdraw a person's consent")
    p.add_argument("person_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--purpose", type=IDENT, help="only this purpose (default: every active one)")
    p.add_argument("--receipt", help="write the withdrawal receipt PDF here")
    p.add_argument(
        "--requested-by",
        choices=("person", "representative"),
        default="person",
        help="who asked (printed on the receipt)",
    )
    p = commands.add_with_desk("erase", cmd_erase, help="erase everything about a person")
    p.add_argument("person_id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--reason", default="request of the person")
    p.add_argument("--certificate", help="write the erasure certificate PDF here")
    p.add_argument(
        "--requested-by",
        choices=("person", "representative", "admin"),
        default="person",
        help="who asked (printed on the certificate)",
    )
    p = commands.add_with_desk(
        "erasure-certificate",
        cmd_erasure_certificate,
        help="issue a lost erasure certificate again (the name is no longer held)",
    )
    p.add_argument("person_id")
    p.add_argument("--out", required=True)
    p.add_argument("--language", choices=["en", "zh"], default="en")
