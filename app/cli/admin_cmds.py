"""Staff and purpose commands: ``user add|list|remove|passwd``, ``purpose add|edit|list|show``.

The desk decides who may do what (only admins manage staff and purposes); these functions only
read arguments and print what the desk returns.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.context import Commands, Context
from app.cli.output import IDENT, shown, whole
from app.desk import Desk
from app.models import Purpose
from app.purpose_texts import ZH_FIELDS
from app.rooms.materiality import material_fields_in

# The purpose fields ``purpose edit`` can change, as flags (``--retention-days`` ...), with the
# Chinese texts (``--title-zh`` ...; issue 13).
_PURPOSE_FIELDS = (
    "title",
    "controller",
    "contact",
    "retention_days",
    "alternative",
    "description",
    "recipients",
    "regulator",
    "legal_basis",  # issue-15 point 7
    "dpo_contact",
    *ZH_FIELDS,
)


def cmd_user_list(ctx: Context, desk: Desk) -> int:
    users = desk.list_users()
    ctx.emit(users, lambda: "\n".join(f"{u.id}\t{shown(u.username)}\t{u.role}" for u in users))
    return 0


def cmd_user_add(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    account = desk.add_user(a.username, ctx.new_password(a.username), a.role)
    ctx.emit(account, f"Added {account.role} {account.username} (id {account.id}).")
    return 0


def cmd_user_remove(ctx: Context, desk: Desk) -> int:
    username: str = ctx.args.username
    desk.remove_user(username)
    ctx.emit({"removed": username}, f"Removed {username}; their keyslot is gone.")
    return 0


def cmd_user_passwd(ctx: Context, desk: Desk) -> int:
    username: str = ctx.args.username
    desk.change_password(
        username, ctx.new_password(username), current_password=ctx.signed_in_password
    )
    ctx.emit({"changed": username}, f"Password changed for {username}.")
    return 0


def purpose_text(p: Purpose) -> str:
    return (
        f"Purpose {p.id} (version {p.version}): {p.title}\n"
        f"  controller: {p.controller} ({p.contact})\n"
        f"  retention: {p.retention_days} days; alternative: {p.alternative}\n"
        f"  keeps photos: {'yes' if p.keep_photos else 'no'}"
        + (f"\n  recipients: {p.recipients}" if p.recipients else "")
        + (f"\n  regulator: {p.regulator}" if p.regulator else "")
        + (f"\n  legal basis: {p.legal_basis}" if p.legal_basis else "")
        + (f"\n  data protection contact: {p.dpo_contact}" if p.dpo_contact else "")
        + (f"\n  description: {p.description}" if p.description else "")
    )


def cmd_purpose_list(ctx: Context, desk: Desk) -> int:
    items = desk.list_purposes()
    ctx.emit(
        items,
        lambda: (
            "\n".join(f"{p.id}\tv{p.version}\t{p.retention_days}d\t{shown(p.title)}" for p in items)
            or "No purposes yet."
        ),
    )
    return 0


def cmd_purpose_show(ctx: Context, desk: Desk) -> int:
    p = desk.get_purpose(ctx.args.purpose_id)
    ctx.emit(p, lambda: purpose_text(p))
    return 0


def cmd_purpose_add(ctx: Context, desk: Desk) -> int:
    a = ctx.args
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
        legal_basis=a.legal_basis or "",
        dpo_contact=a.dpo_contact or "",
        **{f: getattr(a, f) for f in ZH_FIELDS if getattr(a, f)},
    )
    ctx.emit(p, f"Added purpose {p.id}: {p.title}")
    return 0


def cmd_purpose_edit(ctx: Context, desk: Desk) -> int:
    a = ctx.args
    changes: dict[str, Any] = {
        k: getattr(a, k) for k in _PURPOSE_FIELDS if getattr(a, k) is not None
    }
    if a.keep_photos is not None:
        changes["keep_photos"] = a.keep_photos
    material: bool | None = a.material
    if material is None and not material_fields_in(changes):
        # issue-13: nothing the core calls material changed, so the admin decides; ask.
        answer = ctx.ask(
            "Is this change material (must everyone who consented be asked again)? [y/N]: "
        ).strip()
        material = answer.lower() in ("y", "yes")
    p = desk.edit_purpose(a.purpose_id, material, **changes)
    waiting = desk.find_people(status="reconsent", purpose_id=p.id, limit=1).total
    ctx.emit(
        p,
        f"Purpose {p.id} is now at version {p.version}; "
        f"{waiting} person(s) must be asked to consent again.",
    )
    return 0


def _purpose_flags(x: argparse.ArgumentParser, *, required: bool) -> None:
    x.add_argument("--title", required=required)
    x.add_argument("--controller", required=required)
    x.add_argument("--contact", required=required)
    x.add_argument("--retention-days", type=whole(), required=required)
    x.add_argument("--alternative", required=required)
    x.add_argument("--description")
    x.add_argument("--recipients")
    x.add_argument("--regulator")
    # issue-15 point 7: override the jurisdiction's legal basis and the DPO setting
    x.add_argument("--legal-basis")
    x.add_argument("--dpo-contact")
    for field in ZH_FIELDS:  # issue-13: the Chinese texts
        x.add_argument("--" + field.replace("_", "-"))
    if required:
        x.add_argument("--keep-photos", action="store_true")
    else:
        x.add_argument("--keep-photos", action=argparse.BooleanOptionalAction, default=None)


def register(commands: Commands) -> None:
    users = commands.group(commands.parser("user", help="staff accounts"), "user_cmd")
    x = users.add_with_desk("add", cmd_user_add)
    x.add_argument("username")
    x.add_argument("--role", choices=["admin", "operator"], default="operator")
    users.add_with_desk("list", cmd_user_list)
    x = users.add_with_desk("remove", cmd_user_remove)
    x.add_argument("username")
    x = users.add_with_desk("passwd", cmd_user_passwd)
    x.add_argument("username")

    purposes = commands.group(
        commands.parser("purpose", help="purposes of processing"), "purpose_cmd"
    )
    x = purposes.add_with_desk("add", cmd_purpose_add)
    _purpose_flags(x, required=True)
    x = purposes.add_with_desk("edit", cmd_purpose_edit)
    x.add_argument("purpose_id", type=IDENT)
    _purpose_flags(x, required=False)
    x.add_argument(  # issue-13: asked interactively when neither is given
        "--material",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the change needs new consent (--no-material / --not-material: it does not)",
    )
    x.add_argument("--not-material", dest="material", action="store_false")
    purposes.add_with_desk("list", cmd_purpose_list)
    x = purposes.add_with_desk("show", cmd_purpose_show)
    x.add_argument("purpose_id", type=IDENT)
