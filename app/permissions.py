"""Who may run which verb: one table, read by the core before anything changes, by the CLI
(every command is a row) and by the window (which buttons to offer).

Why a table (issue 11): the window kept import, audit export and purge admin-only while the
CLI let operators run them, because each front end decided on its own. Here the core decides:
:meth:`app.session.Session.require` raises for a verb the signed-in role may not run, and
``tests/core/test_permissions.py`` checks every CLI command against this table, running each
admin-only one as an operator.

``none``: runs without signing in (creates a vault, or touches no vault). ``anyone``: any
signed-in account (the core may still refuse a particular case: another user's password, a
setting only admins change). ``admin``: administrators only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Need = Literal["none", "anyone", "admin"]

PERMISSIONS: Mapping[str, Need] = {
    # vault
    "init": "none",
    "unlock-check": "anyone",
    "backup": "admin",
    "restore": "admin",
    "rekey": "admin",
    "stats": "anyone",
    "bench": "none",
    # staff and purposes
    "user add": "admin",
    "user list": "anyone",
    "user remove": "admin",
    "user passwd": "anyone",  # own password; anyone else's: admin (decided in the core)
    "purpose add": "admin",
    "purpose edit": "admin",
    "purpose list": "anyone",
    "purpose show": "anyone",
    "purpose assess": "admin",
    # audit and retention
    "audit verify": "anyone",
    "audit head": "anyone",
    "audit export": "admin",
    "purge-expired": "admin",
    # people
    "people": "anyone",  # refusers never listed by name for operators (issue 13)
    "person edit": "anyone",  # rectification: the person is at the desk (issue 13)
    "export": "anyone",
    "withdraw": "anyone",
    "erase": "admin",
    "erasure-certificate": "admin",
    "import": "admin",
    "identify": "anyone",
    "documents": "anyone",
    "verify-document": "anyone",
    "policy": "anyone",
    "certificate": "anyone",  # setting a time-stamping authority: admin (decided in the core)
    # governance
    "compliance": "anyone",
    "assessment": "admin",
    "records": "admin",
    "filing-pack": "admin",
    "complaint-form": "anyone",
    "request add": "anyone",
    "request list": "anyone",
    "request close": "anyone",
    "breach add": "admin",
    "breach list": "anyone",
    "breach letters": "admin",
    # recognition devices
    "device add": "admin",
    "device list": "admin",
    "device remove": "admin",
    "device org-key": "anyone",  # the organisation's public key, for a device's org.pub
    "device keygen": "none",
    "handoff": "admin",
    "revocations": "anyone",  # only takes access away: it never waits for an admin
}


def allowed(role: str, verb: str) -> bool:
    """Whether ``role`` may run ``verb``; an unknown verb is nobody's."""
    need = PERMISSIONS.get(verb)
    if need is None:
        return False
    return need != "admin" or role == "admin"
