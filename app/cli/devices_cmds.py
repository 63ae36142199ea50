"""Device commands of the CLI (issue 17): ``device add|keygen|list|remove|org-key``,
``handoff`` and ``revocations``.

``--json`` shapes are promises to scripts: ``device list`` prints ``{"devices": [...]}`` with the
fields of :class:`app.devices.registry.Device`; ``handoff`` and ``revocations`` print the counts,
sequence number and the SHA-256 of the file written (never the file itself).

``register`` builds its parsers itself from :meth:`Commands.raw`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from app.cli.context import Commands, Context, with_desk
from app.cli.output import IDENT
from app.desk import Desk
from app.devices.registry import Devices


def _devices(desk: Desk) -> Devices:
    return Devices(desk)


def cmd_device(ctx: Context, desk: Desk) -> int:
    from app.devices.format import key_fingerprint, parse_public_key

    a = ctx.args
    devices = _devices(desk)
    if a.device_cmd == "add":
        raw = parse_public_key(Path(a.public_key).read_bytes())
        device = devices.add(a.name, a.purpose, raw, a.location or "")
        ctx.emit(
            device,
            f"Registered {device.name} ({device.id}) for purpose {a.purpose}; "
            f"key {key_fingerprint(raw)}. Purpose {a.purpose} is now version "
            f"{device.purpose_version}, whose disclosure names the device (a material change: "
            f"{device.reconsent_needed} consents need re-consent).",
        )
    elif a.device_cmd == "list":
        found = list(devices.list(include_removed=a.all))
        ctx.emit(
            {"devices": found},
            lambda: (
                "\n".join(
                    f"{d.id}  {d.name}  purpose {d.purpose_id}  bundle {d.bundle_seq} "
                    f"({d.last_bundle_at or 'never'})  revocations {d.revocation_seq} "
                    f"({d.last_revocations_at or 'never'}), {d.revocations_unsent} not yet written"
                    + ("  REMOVED" if d.removed_at else "")
                    for d in found
                )
                or "No devices."
            ),
        )
    elif a.device_cmd == "remove":
        device = devices.remove(a.name)
        ctx.emit(
            device,
            f"Removed {device.name}; wipe the device: it held {device.templates_held} templates.",
        )
    else:  # org-key
        pem = devices.organisation_key_pem()
        ctx.write(a.out, pem)
        ctx.emit(
            {"out": a.out},
            f"Organisation signing key written to {a.out} "
            "(copy it to the device folder as org.pub).",
        )
    return 0


def cmd_keygen(ctx: Context) -> int:
    """Needs no vault: the key pair is made for (and ideally on) the device."""
    from app.devices.format import generate_device_keys, key_fingerprint

    out = ctx.out_folder(ctx.args.out)
    raw = generate_device_keys(out)
    ctx.emit(
        {"folder": str(out), "public_key": str(out / "device.pub"), "key": key_fingerprint(raw)},
        f"Device key pair written to {out} (device.key stays on the device; register "
        f"device.pub with `device add`).",
    )
    return 0


def _write(ctx: Context, result: Any, what: str) -> None:
    ctx.write(ctx.args.out, result.data)
    sha = hashlib.sha256(result.data).hexdigest()
    ctx.emit(
        {
            **{k: v for k, v in vars(result).items() if k != "data"},
            "out": ctx.args.out,
            "bytes": len(result.data),
            "sha256": sha,
        },
        f"{what} {result.seq} for {result.device_name} written to {ctx.args.out} "
        f"({len(result.data)} bytes).",
    )


def cmd_handoff(ctx: Context, desk: Desk) -> int:
    ctx.out_file(ctx.args.out)  # before a sequence number is spent on the bundle
    result = _devices(desk).handoff(ctx.args.device, full=ctx.args.full)
    _write(ctx, result, "Bundle" + (" (full)" if result.full else " (delta)"))
    if result.revocations_through:
        ctx.info("The device must have imported its latest revocation list before this bundle.")
    return 0


def cmd_revocations(ctx: Context, desk: Desk) -> int:
    ctx.out_file(ctx.args.out)
    _write(ctx, _devices(desk).revocations(ctx.args.device), "Revocation list")
    return 0


def register(commands: Commands) -> None:
    """Add the device subcommands to the CLI parser."""
    sub, common = commands.raw()
    p = sub.add_parser("device", parents=[common], help="recognition devices (admin)")
    ds = p.add_subparsers(dest="device_cmd", required=True)
    x = ds.add_parser("add", parents=[common])
    x.add_argument("name")
    x.add_argument("--purpose", type=IDENT, required=True)
    x.add_argument("--public-key", required=True, help="the device.pub from `device keygen`")
    x.add_argument("--location", help="where it stands, named in the disclosure")
    x = ds.add_parser("list", parents=[common])
    x.add_argument("--all", action="store_true", help="include removed devices")
    x = ds.add_parser("remove", parents=[common])
    x.add_argument("name")
    x = ds.add_parser("org-key", parents=[common], help="write the signing key for org.pub")
    x.add_argument("--out", required=True)
    x = ds.add_parser("keygen", parents=[common], help="make a device key pair (no vault)")
    x.add_argument("--out", required=True)
    x.set_defaults(fn=cmd_keygen)  # a subcommand's default wins over the parent's
    p.set_defaults(fn=with_desk(cmd_device))

    p = sub.add_parser("handoff", parents=[common], help="write a bundle for a device")
    p.add_argument("--device", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--full", action="store_true", help="everything, not only what is new")
    p.set_defaults(fn=with_desk(cmd_handoff))
    p = sub.add_parser("revocations", parents=[common], help="write a device's revocation list")
    p.add_argument("--device", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=with_desk(cmd_revocations))
