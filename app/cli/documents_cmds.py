"""Document commands of the CLI: ``documents``, ``verify-document``, ``policy``."""

from __future__ import annotations

from pathlib import Path

from app.cli.context import Commands, Context
from app.cli.output import IDENT
from app.desk import Desk
from app.errors import InvalidInput
from app.filecheck import read_regular

MAX_PDF_BYTES = 200 * 1024 * 1024


def cmd_documents(ctx: Context, desk: Desk) -> int:
    out = ctx.out_folder(ctx.args.out)
    docs = desk.person_documents(ctx.args.person_id)
    if not docs:
        desk.get_person(ctx.args.person_id)  # a clear "No such person" if that is the reason
    written: list[dict[str, str]] = []
    for doc in docs:
        ctx.write(out / doc.filename, desk.document_pdf(doc.id))
        written.append({"id": doc.id, "kind": doc.kind, "file": str(out / doc.filename)})
    desk.record_event("document.export", ctx.args.person_id, {"count": len(written)})
    ctx.emit(
        {"person_id": ctx.args.person_id, "documents": written},
        lambda: "\n".join(f"{w['kind']}\t{w['file']}" for w in written) or "No documents.",
    )
    return 0


# issue-15: exit codes of verify-document (also in its --help and the README).
VERIFY_EXIT_CODES = {
    0: "valid signature from this organisation and the vault holds this exact file "
    "(with --qr: the printout matches the stored document)",
    2: "usage error: no such file, a folder, too large, or both/neither of FILE and --qr",
    9: "anything else: not valid, not trusted, changed, or unknown to this vault",
}


def cmd_verify_document(ctx: Context, desk: Desk) -> int:
    if ctx.args.qr is not None:  # issue-15: a printed copy, checked by its QR content
        if ctx.args.file:
            raise InvalidInput("Give either a PDF file or --qr, not both.")
        return _verify_printed(ctx, desk)
    if not ctx.args.file:
        raise InvalidInput("Give a PDF file, or --qr with the text of a printed copy's QR code.")
    # A regular file only, size checked before reading: /dev/zero or a FIFO is refused at once.
    data = read_regular(Path(ctx.args.file), "The file to verify", MAX_PDF_BYTES)
    check = desk.verify_document(data)

    def text() -> str:
        # issue-15: one line per finding
        if check.timestamp_at is not None:
            time_line = f"  trusted time: {check.timestamp_at} (RFC 3161 timestamp)"
        else:
            time_line = "  trusted time: none (signing time is the workstation clock)"
        lines = [
            ("VALID" if check.valid else "NOT VALID")
            + f": {check.kind or 'document'} {check.document_id or '(no ID)'}",
            f"  signed by: {check.signer or '-'} at {check.signed_at or '-'}",
            f"  certificate issued by: {check.issuer or '-'}",
            time_line,
            f"  in this vault: {check.status.replace('_', ' ')}",
            f"  sha256: {check.sha256}",
        ]
        lines += [f"  problem: {p}" for p in check.problems]
        return "\n".join(lines)

    ctx.emit(check, text)
    known = ("stored", "erasure_certificate", "ledger_record", "refusal_record")
    return 0 if check.valid and check.status in known else 9


def _verify_printed(ctx: Context, desk: Desk) -> int:
    """issue-15: ``verify-document --qr TEXT``."""
    check = desk.verify_printed(ctx.args.qr)

    def text() -> str:
        lines = [
            ("MATCHES" if check.status == "matches" else "DOES NOT MATCH")
            + f": {check.kind or 'document'} {check.document_id or '(no ID)'}",
            f"  in this vault: {check.status}",
        ]
        lines += [f"  problem: {p}" for p in check.problems]
        return "\n".join(lines)

    ctx.emit(check, text)
    return 0 if check.status == "matches" else 9


def cmd_policy(ctx: Context, desk: Desk) -> int:
    out = ctx.out_file(ctx.args.out)
    pdf = desk.retention_notice(ctx.args.purpose_id, ctx.args.language)
    ctx.write(out, pdf)
    ctx.emit(
        {"purpose_id": ctx.args.purpose_id, "out": str(out), "bytes": len(pdf)},
        f"Retention notice written to {out}",
    )
    return 0


def register(commands: Commands) -> None:
    p = commands.add_with_desk("documents", cmd_documents, help="write a person's documents as PDF")
    p.add_argument("person_id")
    p.add_argument("--out", required=True)
    p = commands.add_with_desk(
        "verify-document", cmd_verify_document, help="check a PDF's signature and find it"
    )
    # issue-15: documented exit codes; FILE optional when --qr is given
    p.epilog = "exit codes: " + "; ".join(
        f"{code} = {why}" for code, why in VERIFY_EXIT_CODES.items()
    )
    p.add_argument("file", nargs="?")
    p.add_argument("--qr", metavar="TEXT", help="check a printed copy by the text of its QR code")
    p = commands.add_with_desk("policy", cmd_policy, help="a purpose's printable retention notice")
    p.add_argument("purpose_id", type=IDENT)
    p.add_argument("--out", required=True)
    p.add_argument("--language", choices=["en", "zh"], default="en")
