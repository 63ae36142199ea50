"""issue-11: signing in to a vault whose disk is full, and not losing what could not be recorded.

A full disk must not lock everyone out: the vault is then opened read-only (``app.db``,
``app.vault``) and people can still search, export and back up to another disk. Such a sign-in
cannot write its audit entry, so it is remembered in this process and written by the first
sign-in here that can write again; the operator is told the state in one line
(:data:`app.errors.READ_ONLY_NOTICE`).
"""

from __future__ import annotations

import datetime as dt
import threading

from app.authority import at_sign_in
from app.db import Row
from app.session import Session
from app.values import _iso

_guard = threading.Lock()
# (actor, action, subject, details, time) of what read-only sessions did that the audit log
# must hold (sign-ins, access exports) and that could not be written yet.
_unrecorded: list[tuple[str, str, str | None, dict[str, str], dt.datetime]] = []


def audit_or_defer(
    s: Session, action: str, subject: str | None = None, *, despite_damage: bool = False
) -> None:
    """Audit a read (an access export) now, or, in a read-only session, keep it in this
    process for the first sign-in that can write again: a full disk must not make an access to
    personal data go unrecorded without anyone noticing."""
    if not s.vault.read_only:
        with s.write(despite_damage=despite_damage):
            s.audit.append(s.actor, action, subject)
        return
    with _guard:
        _unrecorded.append((s.actor, action, subject, {}, s.now()))


def sign_in_read_only(s: Session, row: Row, action: str) -> None:
    """The read-only part of sign-in: the role is still checked against the administrators'
    signatures (read only), nothing is written, and the sign-in is kept for the audit log."""
    vault = s.vault
    now = s.now()
    with s.lock:
        s.set_authority(at_sign_in(vault, s.conn, row, vault.opened, _iso(now) or ""))
    with _guard:
        _unrecorded.append((str(row["username"]), "login.read_only", None, {"method": action}, now))


def record_unrecorded(s: Session) -> int:
    """Inside a sign-in's write transaction: append the read-only sign-ins this process could
    not record before. They are forgotten only by :func:`forget_recorded` after the commit."""
    with _guard:
        todo = list(_unrecorded)
    for actor, action, subject, details, at in todo:
        s.audit.append(actor, action, subject, details=details or None, at=at)
    return len(todo)


def forget_recorded(count: int) -> None:
    with _guard:
        del _unrecorded[:count]
