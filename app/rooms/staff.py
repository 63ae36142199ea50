"""Staff accounts: the ``staff`` table and the key slots that go with each account."""

from __future__ import annotations

import datetime as dt

from app.db import Row, fetch_all, fetch_one, scalar
from app.errors import InvalidInput, NotFound, PermissionDenied, WrongPassword
from app.models import Role, StaffAccount
from app.session import Session
from app.validation import check_password, check_username
from app.values import _dt, _iso

STAFF_SQL = "SELECT id, username, role, created_at, last_login_at FROM staff "


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

    def __init__(self, session: Session) -> None:
        self._s = session

    def all(self) -> list[StaffAccount]:
        rows = self._s.read(lambda c: fetch_all(c, STAFF_SQL + "ORDER BY username"))
        return [staff_from_row(r, self._s.now()) for r in rows]

    def add(self, username: str, password: str, role: Role = "operator") -> StaffAccount:
        s = self._s
        s.require_admin()
        check_username(username)
        check_password(password)
        if role not in ("admin", "operator"):
            raise InvalidInput("The role must be admin or operator.")
        now = s.now()
        with s.lock:
            if fetch_one(s.conn, "SELECT 1 AS taken FROM staff WHERE username = ?", (username,)):
                raise InvalidInput("That user name is already taken.", code="username_taken")
            with s.write() as conn:
                cur = conn.execute(
                    "INSERT INTO staff (username, role, created_at) VALUES (?,?,?)",
                    (username, role, _iso(now)),
                )
                s.audit.append(s.actor, "staff.add", details={"user": username, "role": role})
                # Slot after the row, inside the transaction: if writing the slot fails the
                # account is rolled back too.
                s.vault.set_password(username, password)
            return StaffAccount(int(cur.lastrowid), username, role, now, None)

    def remove(self, username: str) -> None:
        s = self._s
        s.require_admin()
        with s.lock:
            row = fetch_one(s.conn, "SELECT id, role FROM staff WHERE username = ?", (username,))
            if row is None:
                raise NotFound("No such staff account.")
            if row["id"] == s.user.id:
                raise InvalidInput("You cannot remove your own account while signed in.")
            admins = int(scalar(s.conn, "SELECT count(*) FROM staff WHERE role = 'admin'"))
            if row["role"] == "admin" and admins <= 1:
                raise InvalidInput("The last admin account cannot be removed.")
            with s.write() as conn:
                conn.execute("DELETE FROM staff WHERE id = ?", (row["id"],))
                s.audit.append(s.actor, "staff.remove", details={"user": username})
            s.vault.remove_slot(username)

    def change_password(
        self, username: str, new_password: str, *, current_password: str | None = None
    ) -> None:
        """Users change their own password; admins may reset anyone's.

        Changing one's *own* password needs the current one: whoever finds a desk left signed in
        must not be able to take the account over. The one exception is a sign-in with the
        recovery code, which exists precisely because the password was lost.
        """
        s = self._s
        own = username.casefold() == s.user.username.casefold()
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
        check_password(new_password)
        with s.lock:
            if fetch_one(s.conn, "SELECT id FROM staff WHERE username = ?", (username,)) is None:
                raise NotFound("No such staff account.")
            s.vault.set_password(username, new_password)
            with s.write():
                s.audit.append(s.actor, "staff.password", details={"user": username})

    def new_recovery_code(self) -> str:
        s = self._s
        s.require_admin()
        with s.lock:
            code = s.vault.new_recovery_code()
            with s.write():
                s.audit.append(s.actor, "vault.recovery_code")
            return code

    def rekey(self) -> None:
        s = self._s
        s.require_admin()
        with s.lock:
            s.vault.rekey()
            with s.write():
                s.audit.append(s.actor, "vault.rekey")
