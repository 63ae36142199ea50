"""Opening a Desk: creating a vault, signing in, restoring a backup (moved out of app.desk).

Why a module of its own: these are the only steps that run before a signed-in session exists
(key slots, back-off, the administrators' authority, the clock and retention checks at sign-in),
and they are the ones a security review reads first. ``app.desk.Desk`` keeps the classmethods
(``initialise``, ``unlock``, ``unlock_with_recovery``, ``restore``) as one-line delegates, so the
facade stays a table of verbs.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from app.authority import at_sign_in, establish
from app.backoff import LoginBackoff
from app.db import fetch_one, transaction
from app.errors import PermissionDenied, VaultError
from app.keyslots import Keyslots
from app.models import StaffAccount
from app.names import name_key
from app.paths import VaultPaths
from app.readonly import forget_recorded, record_unrecorded, sign_in_read_only
from app.restore import restore_vault
from app.rooms.staff import find_staff, staff_from_row
from app.validation import check_password, check_username, clean_name
from app.values import _iso
from app.vault import Vault

if TYPE_CHECKING:
    from app.clockguard import ClockGuard, ClockHold
    from app.desk_types import DeskOptions
    from app.rooms.integrity import Integrity
    from app.rooms.retention import Retention
    from app.session import Session


class OpenedDesk(Protocol):
    """What opening needs of a Desk. A protocol rather than ``app.desk.Desk`` itself, so this
    module does not import the facade that imports it (tests/core/test_layering.py)."""

    session: Session
    retention: Retention
    clockguard: ClockGuard
    integrity: Integrity

    @property
    def user(self) -> StaffAccount: ...

    @property
    def clock_hold(self) -> ClockHold | None: ...

    def lock(self) -> None: ...


Desk = TypeVar("Desk", bound=OpenedDesk)
# ``Desk.__init__(vault, user, options)``: the class being opened, passed in by its classmethods.
DeskClass = Callable[["Vault", StaffAccount, "DeskOptions"], Desk]


def initialise(
    cls: DeskClass[Desk],
    home: Path,
    org_name: str,
    admin_username: str,
    password: str,
    timezone: str,
    options: DeskOptions,
) -> tuple[Desk, str]:
    """Create a vault with its first admin; returns the open desk and the recovery code."""
    from app.org_authority import create_org_identity, store_org_identity

    org_name = clean_name(org_name, "organisation name", limit=200)
    check_username(admin_username)
    check_password(password, admin_username, org_name)
    vault, recovery = Vault.create(VaultPaths(Path(home)), admin_username, password, options.kdf)
    now = options.clock()
    # issue-15: an organisation root that issues the workstation certificate
    identity = create_org_identity(org_name, now=now)
    with transaction(vault.conn) as conn:
        for key, value in (
            ("org_name", org_name.encode()),
            ("timezone", timezone.encode()),
            ("audit_key", secrets.token_bytes(32)),
            ("created_at", (_iso(now) or "").encode()),
            ("vault_id", vault.keyslots.vault_id.encode()),  # issue-11: db <-> keyslots
        ):
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        store_org_identity(conn, identity)  # issue-15
        conn.execute(
            "INSERT INTO staff (username, username_key, role, created_at, last_login_at) "
            "VALUES (?,?,?,?,?)",
            (admin_username, name_key(admin_username), "admin", _iso(now), _iso(now)),
        )
    user = StaffAccount(1, admin_username, "admin", now, now)
    # issue-11: the administrators' authority, from the first entry on (app.authority).
    opened = vault.keyslots.open_user(admin_username, password)
    with transaction(vault.conn) as conn:
        authority = establish(vault, conn, opened, admin_username, _iso(now) or "")
    desk = cls(vault, user, options)
    desk.session.set_authority(authority)
    with desk.session.write() as conn:
        desk.session.audit.append(admin_username, "vault.init", details={"schema": 1}, at=now)
        desk.clockguard.remember(conn, now)  # the first "last time seen"
    return desk, recovery


def recovery_admin(vault: Vault) -> str:
    """The first admin, whom the recovery code signs in as (the code belongs to the vault)."""
    row = fetch_one(
        vault.conn, "SELECT username FROM staff WHERE role = 'admin' ORDER BY id LIMIT 1"
    )
    if row is None:
        vault.close()
        raise VaultError("The vault has no admin account.")
    return str(row["username"])


def signed_in(
    cls: DeskClass[Desk],
    vault: Vault,
    username: str,
    backoff: LoginBackoff,
    options: DeskOptions,
    action: str,
    password: str | None = None,
) -> Desk:
    """The Desk for an unlocked vault: the account must exist and carry a signed role; the
    failures recorded before this sign-in reach the audit log; retention runs."""
    try:
        row = find_staff(vault.conn, username)
    except BaseException:
        vault.close()
        raise
    if row is None:
        # A slot without an account. The slot is left alone: this database may be an old
        # copy, and deleting keys on the word of a database nobody vouched for is how an
        # empty vault.db once cost an admin their slot (issue 11).
        vault.close()
        raise VaultError("This account has been removed.", code="account_removed")
    user = staff_from_row(row, options.clock())
    desk = cls(vault, user, options)
    desk.session.signed_in_with = action
    now = options.clock()
    s = desk.session
    if vault.read_only:  # issue-11: a full disk; nothing is written (app.readonly)
        try:
            sign_in_read_only(s, row, action)
        except BaseException:
            desk.lock()
            raise
        return desk
    try:
        # issue-11: the role counts only with an administrator's signature on it.
        with s.write() as conn:
            s.set_authority(at_sign_in(vault, conn, row, vault.opened, _iso(now) or ""))
    except BaseException:
        desk.lock()
        raise
    desk.retention.check_clock()
    # The failures recorded before this sign-in leave login-state.json only once they are
    # committed to the audit log.
    with backoff.success() as failures, s.write() as conn:
        for failure in failures:
            at = dt.datetime.fromtimestamp(failure.at, dt.UTC)
            if failure.kind == "state_lost":
                s.audit.append("?", "login.state_lost", at=at)
            else:
                s.audit.append("?", "login.failed", details={"method": failure.kind}, at=at)
        conn.execute("UPDATE staff SET last_login_at = ? WHERE id = ?", (_iso(now), user.id))
        s.audit.append(user.username, action, at=now)
        recorded = record_unrecorded(s)  # read-only sign-ins this process could not write
        # issue-15: a vault from before the organisation root gets one from its first admin.
        if user.role == "admin":
            from app.org_authority import ensure_org_root

            if ensure_org_root(conn, s.organisation.name, now=now):
                s.audit.append(user.username, "certificate.root_created", at=now)
    forget_recorded(recorded)
    _tidy_keyslots(vault, username, password)
    if options.auto_purge and desk.clock_hold is None:  # held after a clock jump
        desk.retention.purge_expired()  # retention is the vault's duty, whoever signs in
    desk.integrity.apply_recorded()  # a failed full check keeps writes locked
    return desk


def restore(
    cls: DeskClass[Desk],
    home: Path,
    source: Path,
    username: str,
    password: str,
    options: DeskOptions,
    progress: Callable[[float], None] | None,
) -> Desk:
    """Restore ``source`` and sign in from it; only an admin may (checked before any file
    changes in app.restore, and again on the restored roles)."""
    paths = VaultPaths(Path(home))
    backoff = login_backoff(paths)
    # Authorised, ledger-replayed and swapped under a journal (app.restore); streamed.
    vault = restore_vault(
        paths, Path(source), username, password, backoff, clock=options.clock,
        progress=progress,
    )  # fmt: skip
    desk = signed_in(
        cls, vault, username, backoff, replace(options, auto_purge=False), "vault.restore", password
    )
    if desk.user.role != "admin":
        desk.lock()
        raise PermissionDenied("Only an admin can restore a backup.")
    return desk


def login_backoff(paths: VaultPaths) -> LoginBackoff:
    """The back-off of the vault at ``paths``; its state counts as required (a missing file is a
    loss, not a fresh start) once keyslots.json says the vault tracks it."""

    def required() -> bool:
        try:
            return bool(Keyslots.load(paths.keyslots).extra.get("login_state"))
        except VaultError:
            return False

    return LoginBackoff(paths.login_state, required=required)


def _tidy_keyslots(vault: Vault, username: str, password: str | None) -> None:
    """After a verified sign-in: move a slot from before name normalisation to its normalised
    tag, and mark the vault as tracking login-state.json. Best effort: a failure here changes
    nothing and is tried again at the next sign-in."""
    slots = vault.keyslots
    try:
        if password is not None and vault.opened is not None and vault.opened.legacy:
            from app.rooms.staff import key_shared

            if not key_shared(vault.conn, username):  # twins keep their distinct old tags
                slots.retag_legacy(username, password)
        if not slots.extra.get("login_state"):
            with slots.changing():
                slots.extra["login_state"] = True
    except (VaultError, OSError):
        pass
