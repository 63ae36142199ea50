"""Staff accounts: the ``staff`` table and the key slots that go with each account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.db import Connection, Row, fetch_all, fetch_one, scalar
from app.errors import InvalidInput, NotFound, PermissionDenied, WrongPassword
from app.models import Role, StaffAccount
from app.names import name_key
from app.rooms.integrity import Integrity
from app.session import Session
from app.validation import check_password, check_username
from app.values import _dt, _iso

STAFF_SQL = (
    "SELECT id, username, username_key, role, created_at, last_login_at, grant_sig FROM staff "
)


def find_staff(conn: Connection, username: str) -> Row | None:
    """The account a typed name means: the exact stored spelling first, else the one account
    with the same key (NFKC + casefold). Two accounts sharing a key (possible only in a vault
    from before issue 11) need the exact spelling; guessing one could hand over the other."""
    exact = fetch_one(conn, STAFF_SQL + "WHERE username = ? COLLATE BINARY", (username,))
    if exact is not None:
        return exact
    rows = fetch_all(conn, STAFF_SQL + "WHERE username_key = ?", (name_key(username),))
    if len(rows) > 1:
        raise InvalidInput(
            "Two accounts share this name when case and width are ignored; type it exactly "
            "as it was created.",
            code="username_ambiguous",
        )
    return rows[0] if rows else None


def _twin(conn: Connection, username: str) -> bool:
    """After its row is deleted: whether an account with the same key remains."""
    return (
        int(
            scalar(conn, "SELECT count(*) FROM staff WHERE username_key = ?", (name_key(username),))
        )
        > 0
    )


def key_shared(conn: Connection, username: str) -> bool:
    """Whether another account has the same normalised name (a vault from before issue 11)."""
    return (
        int(
            scalar(conn, "SELECT count(*) FROM staff WHERE username_key = ?", (name_key(username),))
        )
        > 1
    )


def staff_from_row(row: Row, fallback_created: dt.datetime) -> StaffAccount:
    return StaffAccount(
        int(row["id"]),
        row["username"],
        row["role"],
        _dt(row["created_at"]) or fallback_created,
        _dt(row["last_login_at"]),
    )


class Staff:
    """Adds, removes and re-keys staff accounts; only admins change anyone but themselves."""

    def __init__(self, session: Session, integrity: Integrity) -> None:
        self._s = session
        self._integrity = integrity  # a rekey needs the vault file alone

    def all(self) -> list[StaffAccount]:
        rows = self._s.read(lambda c: fetch_all(c, STAFF_SQL + "ORDER BY username"))
        return [staff_from_row(r, self._s.now()) for r in rows]

    def add(self, username: str, password: str, role: Role = "operator") -> StaffAccount:
        s = self._s
        s.require_admin()
        check_username(username)
        check_password(password, username)
        if role not in ("admin", "operator"):
            raise InvalidInput("The role must be admin or operator.")
        now = s.now()
        key = name_key(username)
        # keyslots lock first, then the database: the same order as rekey, so neither waits on
        # the other while holding what the other needs.
        with s.lock, s.vault.keyslots.file_lock():
            if fetch_one(
                s.conn,
                "SELECT 1 AS taken FROM staff WHERE username_key = ? OR username = ?",
                (key, username),
            ) or s.vault.keyslots.has_user(username):
                raise InvalidInput("That user name is already taken.", code="username_taken")
            with s.write() as conn:
                cur = conn.execute(
                    "INSERT INTO staff (username, username_key, role, created_at) VALUES (?,?,?,?)",
                    (username, key, role, _iso(now)),
                )
                s.audit.append(s.actor, "staff.add", details={"user": username, "role": role})
                # Slot after the row, inside the transaction: if writing the slot fails the
                # account is rolled back too. With an authority (issue 11) the role is signed
                # and the account gets its own certified signing key, sealed to its slot.
                sealed, pin = self._grant(conn, int(cur.lastrowid), username, role, None)
                s.vault.set_password(username, password, sealed=sealed, pin_to=pin)
            return StaffAccount(int(cur.lastrowid), username, role, now, None)

    def remove(self, username: str) -> None:
        s = self._s
        s.require_admin()
        with s.lock, s.vault.keyslots.file_lock():
            row = find_staff(s.conn, username)
            if row is None:
                raise NotFound("No such staff account.")
            if row["id"] == s.user.id:
                raise InvalidInput("You cannot remove your own account while signed in.")
            admins = int(scalar(s.conn, "SELECT count(*) FROM staff WHERE role = 'admin'"))
            if row["role"] == "admin" and admins <= 1:
                raise InvalidInput("The last admin account cannot be removed.")
            username = str(row["username"])
            with s.write() as conn:
                conn.execute("DELETE FROM staff WHERE id = ?", (row["id"],))
                s.audit.append(s.actor, "staff.remove", details={"user": username})
                # The slot goes inside the transaction: a crash leaves an account without a
                # slot (harmless, removable again), never a slot that still opens the vault.
                s.vault.remove_slot(
                    username, shared=key_shared(conn, username) or _twin(conn, username)
                )

    def change_password(
        self, username: str, new_password: str, *, current_password: str | None = None
    ) -> None:
        """Users change their own password; admins may reset anyone's.

        Changing one's *own* password needs the current one: whoever finds a desk left signed in
        must not be able to take the account over. The one exception is a sign-in with the
        recovery code, which exists precisely because the password was lost.
        """
        s = self._s
        # Own or not is decided on the account the name resolves to, never on spelling: with
        # Python's casefold ``strasse`` was "the same" as the admin ``straße``.
        target = s.read(lambda c: find_staff(c, username))
        if target is None:
            raise NotFound("No such staff account.")
        username = str(target["username"])
        own = int(target["id"]) == s.user.id
        if not own:
            s.require_admin()
        elif s.signed_in_with != "login.recovery":
            if not current_password:
                raise PermissionDenied(
                    "Changing your own password needs your current password.",
                    code="current_password_needed",
                )
            try:
                s.vault.keyslots.unlock_user(username, current_password)
            except WrongPassword:
                raise PermissionDenied(
                    "The current password is not correct.", code="current_password_wrong"
                ) from None
        check_password(new_password, username)
        with s.lock, s.vault.keyslots.file_lock():
            if find_staff(s.conn, username) is None:
                raise NotFound("No such staff account.")
            with s.write() as conn:
                s.audit.append(s.actor, "staff.password", details={"user": username})
                # Own password: the slot keeps this account's signing key; anyone else's (an
                # admin's reset): a fresh key, certified now.
                own_key = s.authority.signing if (own and s.authority is not None) else None
                sealed, pin = self._grant(
                    conn, int(target["id"]), username, str(target["role"]), own_key, regrant=False
                )
                s.vault.set_password(
                    username,
                    new_password,
                    shared=key_shared(s.conn, username),
                    sealed=sealed,
                    pin_to=pin,
                )

    def _grant(
        self,
        conn: Connection,
        staff_id: int,
        username: str,
        role: str,
        signing: Ed25519PrivateKey | None,
        *,
        regrant: bool = True,
    ) -> tuple[dict[str, tuple[bytes, bytes]] | None, bytes | None]:
        """Sign the role (``regrant``) and prepare what the account's new slot carries."""
        auth = self._s.authority
        if auth is None:
            return None, None  # a vault with no authority yet (before an admin's sign-in)
        if signing is None:
            if auth.private is None:
                return None, auth.public  # an operator's own change without a key: none
            signing = auth.new_signing_key(conn, username, _iso(self._s.now()) or "")
        if regrant:
            auth.grant(conn, staff_id, username, role)
        return auth.sealed_for(signing, role == "admin"), auth.public

    def new_recovery_code(self) -> str:
        s = self._s
        s.require_admin()
        with s.lock:
            auth = s.authority
            code = s.vault.new_recovery_code(
                sealed=auth.sealed_for(None, True) if auth is not None else None,
                pin_to=auth.public if auth is not None else None,
            )
            with s.write():
                s.audit.append(s.actor, "vault.recovery_code")
            return code

    def rekey(self, progress: Callable[[float], None] | None = None) -> None:
        """Streamed into a new file and swapped in (issue 12); ``progress`` may raise to
        cancel, leaving the old vault and key as they were."""
        s = self._s
        s.require_admin()
        # The background full check first lets go of the file (app.rooms.integrity), before
        # the session lock: its verdict is written under that lock.
        with self._integrity.alone(progress), s.lock:
            s.vault.rekey(progress)
            s.rebind()
            with s.write():
                s.audit.append(s.actor, "vault.rekey")
