"""Governance commands of the CLI (issue 16): ``purpose assess``, ``compliance``,
``assessment``, ``records``, ``filing-pack``, ``complaint-form``, ``request add|list|close``,
``breach add|list|letters``.

Every command takes ``--json``; the ``compliance --json`` keys (``stored_people``,
``per_purpose``, ``filing_threshold``, ``filing_required``, ``projected_threshold_date``) are a
promise to scripts. PDFs go to the file named by ``--out`` (mode 0600: a governance document
names no one, but it describes the organisation's security); JSON never carries PDF bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.context import Commands, Context, Json, json_object, to_jsonable, with_desk
from app.cli.output import IDENT, shown, whole
from app.compliance.types import (
    JURISDICTIONS,
    REQUEST_KINDS,
    SCENARIOS,
    BreachInput,
    IssuedDocument,
    NecessityAnswers,
)
from app.desk import Desk
from app.errors import InvalidInput
from app.models import Language

if TYPE_CHECKING:
    from app.compliance.service import Compliance


def _service(desk: Desk) -> Compliance:
    """Imported on use (issue 12): governance documents load reportlab, which every other
    command (``stats`` at the desk) must not pay for at start."""
    from app.compliance.service import Compliance

    return Compliance(desk)


def _when(text: str | None, what: str) -> dt.datetime | None:
    """An ISO date or date-time from the command line; a bare date or naive time is UTC."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"The {what} must be an ISO date or date-time.") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _write(ctx: Context, path: str | Path, doc: IssuedDocument) -> dict[str, Any]:
    out = ctx.write(path, doc.pdf)
    return {
        "document_id": doc.document_id,
        "kind": doc.kind,
        "language": doc.language,
        "sha256": doc.sha256,
        "out": str(out),
    }


def cmd_purpose_assess(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    test = _service(desk).assess_purpose(
        a.purpose_id,
        NecessityAnswers(a.necessity, a.why_not_alternative, a.scenario, a.access),
    )
    ctx.emit(
        test,
        f"Necessity test signed by {test.signed_by} for purpose {test.purpose_id} "
        f"version {test.purpose_version}.",
    )
    return 0


def cmd_compliance(ctx: Context, desk: Desk) -> int:
    o = _service(desk).overview(verify_audit=ctx.args.verify_audit)
    check = desk.full_check_status()  # issue 12: when the vault was last fully checked
    out = json_object(o)
    out["last_full_check"] = check.at.isoformat() if check.at else None
    out["full_check_ok"] = check.ok
    out["full_check_due"] = check.due

    def text() -> str:
        lines = [
            f"People with face data stored: {o.stored_people} of {o.filing_threshold} "
            f"({o.threshold_ratio:.1%}): {o.filing_level.replace('_', ' ')}",
            f"Projected to pass the threshold: {o.projected_threshold_date or '-'} "
            f"({o.enrollment_rate_per_day}/day)",
            f"Requests open: {o.open_requests}, overdue: {o.overdue_requests}; "
            f"breaches recorded: {o.breaches}",
            "Last full integrity check: "
            + (
                f"{check.at.isoformat(timespec='seconds')}, "
                + ("passed" if check.ok else "FAILED")
                + (" (due again)" if check.due else "")
                if check.at
                else "never (consentdesk unlock-check --full)"
            ),
        ]
        for p in o.per_purpose:
            lines.append(
                f"  {p.purpose_id}\tv{p.version}\t{p.stored_people}\tnecessity {p.necessity}\t"
                f"assessment {p.assessment}\t{p.title}"
            )
        for d in o.devices:
            lines.append(
                f"  device {d.name}: bundle {d.last_bundle_at or 'never'}, revocations "
                f"{d.last_revocations_at or 'never'}, {d.unsent} waiting"
                + (f" since {d.oldest_unsent_at}: OVERDUE" if d.overdue else "")
            )
        return "\n".join(lines)

    ctx.emit(out, text)
    return 0


def cmd_assessment(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    answers = {
        k: getattr(a, k)
        for k in ("risks_to_people", "residual_risk", "measures_planned", "conclusion")
        if getattr(a, k)
    }
    ctx.out_file(a.out)  # checked before the document is made and stored
    doc = _service(desk).impact_assessment(a.purpose_id, a.language, answers)
    info = _write(ctx, a.out, doc)
    ctx.emit(info, f"Impact assessment written to {info['out']}")
    return 0


def cmd_records(ctx: Context, desk: Desk) -> int:
    ctx.out_file(ctx.args.out)
    doc, record = _service(desk).records_pdf(ctx.args.language)
    info = _write(ctx, ctx.args.out, doc)
    ctx.emit({**info, "records": record}, f"Records of processing written to {info['out']}")
    return 0


def cmd_filing_pack(ctx: Context, desk: Desk) -> int:
    ctx.out_file(ctx.args.out)
    info = _write(ctx, ctx.args.out, _service(desk).filing_pack(ctx.args.language))
    ctx.emit(info, f"Filing pack written to {info['out']}")
    return 0


def cmd_complaint_form(ctx: Context, desk: Desk) -> int:
    ctx.out_file(ctx.args.out)
    doc = _service(desk).registers.complaint_form(ctx.args.purpose, ctx.args.language)
    info = _write(ctx, ctx.args.out, doc)
    ctx.emit(info, f"Complaint form written to {info['out']}")
    return 0


def cmd_request(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    compliance = _service(desk)
    reg = compliance.registers
    if a.request_cmd == "add":
        r = reg.add_request(
            a.kind,
            identity_check=a.identity_check,
            jurisdiction=a.jurisdiction,
            person_id=a.person,
            requester=a.requester,
            channel=a.channel,
            received_at=_when(a.received, "received date"),
        )
        ctx.emit(r, f"Request {r.id} logged; answer due by {r.due_on}.")
    elif a.request_cmd == "list":
        items = reg.list_requests(a.status)
        ctx.emit(
            items,
            lambda: (
                "\n".join(
                    f"{shown(r.id)}\t{r.kind}\t{r.status}{' OVERDUE' if r.overdue else ''}\tdue {r.due_on}"
                    for r in items
                )
                or "No requests."
            ),
        )
    else:
        certificate = None
        if a.erase and a.certificate:
            ctx.out_file(a.certificate, "the certificate file")  # before anything is erased
        if a.erase:
            request = reg.get_request(a.request_id)
            if request.kind != "erasure" or not request.person_id:
                raise InvalidInput("--erase closes an erasure request for a person in the vault.")
            result = desk.erase(request.person_id, a.outcome)
            if a.certificate and result.certificate_pdf:
                ctx.write(a.certificate, result.certificate_pdf)
                certificate = a.certificate
        r = reg.close_request(a.request_id, a.outcome, a.document or ())
        payload = {**json_object(r), "certificate_out": certificate}
        ctx.emit(payload, f"Request {r.id} closed ({r.fulfilled_by or 'answered in writing'}).")
    return 0


def cmd_breach(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    reg = _service(desk).registers
    if a.breach_cmd == "add":
        discovered = _when(a.discovered, "discovery date") or desk.options.clock()
        b = reg.add_breach(
            BreachInput(
                what=a.what,
                discovered_at=discovered,
                data_categories=a.data,
                people_affected=a.people,
                records_affected=a.records,
                consequences=a.consequences,
                measures=a.measures,
                occurred_at=_when(a.occurred, "occurrence date"),
                regulator_notified_at=_when(a.regulator_notified, "regulator notification date"),
                people_notified_at=_when(a.people_notified, "people notification date"),
            )
        )
        ctx.emit(b, f"Breach {b.id} recorded.")
    elif a.breach_cmd == "list":
        items = reg.list_breaches()
        ctx.emit(
            items,
            lambda: (
                "\n".join(
                    f"{b.id}\t{b.details.discovered_at:%Y-%m-%d}\t{b.details.people_affected} people"
                    for b in items
                )
                or "No breaches recorded."
            ),
        )
    else:
        languages: tuple[Language, ...] = ("en", "zh") if a.language == "both" else (a.language,)
        out = ctx.out_folder(a.out_dir)
        written = [
            _write(ctx, out / d.filename, d) for d in reg.breach_letters(a.breach_id, languages)
        ]
        ctx.emit(
            {"breach_id": a.breach_id, "letters": written},
            lambda: "\n".join(f"{w['kind']}\t{w['language']}\t{w['out']}" for w in written),
        )
    return 0


def _plain(value: object) -> Json:
    return to_jsonable(value)


def register(commands: Commands) -> None:
    """Add the governance subcommands (and ``purpose assess``) to the CLI parser."""
    sub, common = commands.raw()
    purpose = sub.choices.get("purpose")
    if purpose is not None:
        actions = [x for x in purpose._actions if isinstance(x, argparse._SubParsersAction)]
        x = actions[0].add_parser(
            "assess", parents=[common], help="sign the necessity and proportionality test"
        )
        x.add_argument("purpose_id", type=IDENT)
        x.add_argument("--necessity", required=True, help="why face recognition is needed")
        x.add_argument("--why-not-alternative", required=True)
        x.add_argument("--scenario", required=True, choices=SCENARIOS)
        x.add_argument("--access", required=True, help="who may see the data")
        x.set_defaults(fn=with_desk(cmd_purpose_assess))

    p = sub.add_parser("compliance", parents=[common], help="filing threshold and governance state")
    p.add_argument("--verify-audit", action="store_true", help="also re-verify the audit chain")
    p.set_defaults(fn=with_desk(cmd_compliance))

    p = sub.add_parser("assessment", parents=[common], help="issue a purpose's impact assessment")
    p.add_argument("purpose_id", type=IDENT)
    p.add_argument("--out", required=True)
    p.add_argument("--language", choices=["en", "zh"], default="en")
    for q in ("risks-to-people", "residual-risk", "measures-planned", "conclusion"):
        p.add_argument(f"--{q}")
    p.set_defaults(fn=with_desk(cmd_assessment))

    for name, fn, helptext in (
        ("records", cmd_records, "records of processing (PDF; --json prints the record)"),
        ("filing-pack", cmd_filing_pack, "what filing with the regulator needs, as one PDF"),
        ("complaint-form", cmd_complaint_form, "a complaint form naming the regulator"),
    ):
        p = sub.add_parser(name, parents=[common], help=helptext)
        p.add_argument("--out", required=True)
        p.add_argument("--language", choices=["en", "zh"], default="en")
        if name == "complaint-form":
            p.add_argument("--purpose", type=IDENT)
        p.set_defaults(fn=with_desk(fn))

    p = sub.add_parser("request", parents=[common], help="the requests register")
    rs = p.add_subparsers(dest="request_cmd", required=True)
    x = rs.add_parser("add", parents=[common])
    x.add_argument("--kind", required=True, choices=REQUEST_KINDS)
    who = x.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="person ID, for someone in the vault")
    who.add_argument("--requester", help="name, for someone not in the vault")
    x.add_argument("--identity-check", required=True, help="how identity was checked")
    x.add_argument("--jurisdiction", choices=JURISDICTIONS, default="pipl")
    x.add_argument("--channel", default="desk")
    x.add_argument("--received", help="ISO date (default: now)")
    x = rs.add_parser("list", parents=[common])
    x.add_argument("--status", choices=["open", "closed", "overdue"])
    x = rs.add_parser("close", parents=[common])
    x.add_argument("request_id")
    x.add_argument("--outcome", required=True)
    x.add_argument("--document", action="append", help="ID of a document handed over")
    x.add_argument("--erase", action="store_true", help="erase the person, then close")
    x.add_argument("--certificate", help="with --erase: write the erasure certificate here")
    p.set_defaults(fn=with_desk(cmd_request))

    p = sub.add_parser("breach", parents=[common], help="breach records and letters")
    bs = p.add_subparsers(dest="breach_cmd", required=True)
    x = bs.add_parser("add", parents=[common])
    x.add_argument("--what", required=True)
    x.add_argument("--discovered", help="ISO date-time (default: now)")
    x.add_argument("--occurred")
    x.add_argument("--data", required=True, help="categories of data concerned")
    x.add_argument(
        "--people", type=whole(0, 10**12), required=True, help="number of people affected"
    )
    x.add_argument("--records", type=whole(0, 10**12), required=True)
    x.add_argument("--consequences", required=True)
    x.add_argument("--measures", required=True)
    x.add_argument("--regulator-notified")
    x.add_argument("--people-notified")
    bs.add_parser("list", parents=[common])
    x = bs.add_parser("letters", parents=[common])
    x.add_argument("breach_id")
    x.add_argument("--out-dir", required=True)
    x.add_argument("--language", choices=["en", "zh", "both"], default="both")
    p.set_defaults(fn=with_desk(cmd_breach))
