"""The ``certificate`` command: export the organisation root, configure trusted time.

``consentdesk certificate --out org-root.pem`` writes the public root certificate that every
ConsentDesk document chains to, and prints its SHA-256 fingerprint (of the DER, i.e. what
``openssl x509 -outform DER | sha256sum`` prints), the same value printed on every document and
on the retention notice. With that file anyone can check a document without the vault:

    certutil -N -d sql:DIR --empty-password
    certutil -A -d sql:DIR -n root -t "C,C," -i org-root.pem
    pdfsig -nssdir sql:DIR document.pdf

``--timestamp-authority URL`` (admin) makes documents carry an RFC 3161 timestamp from the
organisation's TSA (PAdES B-T); ``--timestamp-authority ""`` goes back to the workstation clock.
"""

from __future__ import annotations

from app.cli.context import Commands, Context
from app.desk import Desk


def cmd_certificate(ctx: Context, desk: Desk) -> int:
    tsa = ctx.args.timestamp_authority
    if ctx.args.out:
        ctx.out_file(ctx.args.out)  # before the time-stamping setting changes
    if tsa is not None:
        desk.set_timestamp_authority(tsa or None)
    root = desk.organisation_root()
    out = ctx.args.out
    if out:
        # Public data, still written like every output: temp-and-rename, 0600, never into a vault.
        ctx.write(out, root.pem)
    result = {
        "out": str(out) if out else None,
        "sha256": root.sha256,
        "timestamp_authority": bool(tsa) if tsa is not None else None,
    }
    ctx.emit(
        result,
        lambda: "\n".join(
            ([f"Organisation root written to {out}"] if out else [])
            + [f"SHA-256 fingerprint: {root.sha256}"]
            + (
                [f"Time-stamping authority {'set' if tsa else 'removed'}."]
                if tsa is not None
                else []
            )
        ),
    )
    return 0


def register(commands: Commands) -> None:
    """Add the ``certificate`` subcommand (flags stable: ``--out``, ``--timestamp-authority``)."""
    p = commands.add_with_desk(
        "certificate",
        cmd_certificate,
        help="export the organisation root certificate that documents chain to",
    )
    p.add_argument("--out", help="write the root certificate (PEM) to this file")
    p.add_argument(
        "--timestamp-authority",
        metavar="URL",
        help='admin: RFC 3161 time-stamping authority for documents ("" removes it)',
    )
