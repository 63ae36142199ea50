"""Errors the operator sees.

Every error raised on purpose by the core is a :class:`ConsentDeskError` whose ``str()`` is one
clear sentence fit for a dialog or a CLI line. Messages never contain personal data or key
material: they may be shown on a shared screen or end up in a log.
"""

from __future__ import annotations


class ConsentDeskError(Exception):
    """Base of all expected failures; the CLI prints ``str(e)`` and exits non-zero.

    ``code`` is a stable key (and ``params`` its values) so a UI can say the same thing in the
    operator's language; ``str(e)`` stays the English sentence for the CLI and logs.
    """

    exit_code = 1
    code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, params: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params: dict[str, object] = dict(params or {})


class VaultError(ConsentDeskError):
    """The vault cannot be opened or used (missing, damaged, tampered, wrong key)."""

    code = "vault_error"

    exit_code = 3


class VaultNotFound(VaultError):
    """No vault at the given home; the fix is ``consentdesk init``."""

    code = "vault_not_found"


class VaultExists(VaultError):
    """Refusing to initialise over an existing vault."""

    code = "vault_exists"


class VaultCorrupt(VaultError):
    """Integrity checks failed: the file was damaged or changed outside ConsentDesk."""

    code = "vault_corrupt"


class KeyslotError(VaultError):
    """The keyslot file is missing or damaged, so no key can be unwrapped."""

    code = "keyslot_damaged"


class AuthError(ConsentDeskError):
    """Login refused."""

    code = "auth_error"

    exit_code = 4


class WrongPassword(AuthError):
    """Unknown user or wrong password (deliberately indistinguishable)."""

    code = "wrong_password"

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message, params={"seconds": retry_after})
        self.retry_after = retry_after


class LockedOut(AuthError):
    """Too many recent failures: wait ``retry_after`` seconds before the next attempt."""

    code = "locked_out"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, params={"seconds": retry_after})
        self.retry_after = retry_after


class PermissionDenied(ConsentDeskError):
    """The signed-in staff member's role does not allow this action."""

    code = "admin_only"

    exit_code = 5


class NotFound(ConsentDeskError):
    """A person, purpose, document or account that does not exist (or no longer exists)."""

    code = "not_found"

    exit_code = 6


class InvalidInput(ConsentDeskError):
    """Input rejected before anything was written."""

    code = "invalid_input"

    exit_code = 2


class StorageError(ConsentDeskError):
    """A write failed (disk full, file too large, I/O error); nothing committed was lost."""

    code = "storage_full"

    exit_code = 7


class VaultReadOnly(StorageError):
    """issue-11: the vault was opened read-only because nothing can be written to its disk;
    reading, exporting and backing up to another disk go on, every change is refused."""

    code = "vault_read_only"

    exit_code = 7


READ_ONLY_NOTICE = (
    "read-only: the disk is full; nothing will be changed or recorded until space is freed"
)
