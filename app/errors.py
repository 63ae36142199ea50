"""Errors the operator sees.

Every error raised on purpose by the core is a :class:`ConsentDeskError` whose ``str()`` is one
clear sentence fit for a dialog or a CLI line. Messages never contain personal data or key
material: they may be shown on a shared screen or end up in a log.
"""

from __future__ import annotations


class ConsentDeskError(Exception):
    """Base of all expected failures; the CLI prints ``str(e)`` and exits non-zero."""

    exit_code = 1


class VaultError(ConsentDeskError):
    """The vault cannot be opened or used (missing, damaged, tampered, wrong key)."""

    exit_code = 3


class VaultNotFound(VaultError):
    """No vault at the given home; the fix is ``consentdesk init``."""


class VaultExists(VaultError):
    """Refusing to initialise over an existing vault."""


class VaultCorrupt(VaultError):
    """Integrity checks failed: the file was damaged or changed outside ConsentDesk."""


class KeyslotError(VaultError):
    """The keyslot file is missing or damaged, so no key can be unwrapped."""


class AuthError(ConsentDeskError):
    """Login refused."""

    exit_code = 4


class WrongPassword(AuthError):
    """Unknown user or wrong password (deliberately indistinguishable)."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LockedOut(AuthError):
    """Too many recent failures: wait ``retry_after`` seconds before the next attempt."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(ConsentDeskError):
    """The signed-in staff member's role does not allow this action."""

    exit_code = 5


class NotFound(ConsentDeskError):
    """A person, purpose, document or account that does not exist (or no longer exists)."""

    exit_code = 6


class InvalidInput(ConsentDeskError):
    """Input rejected before anything was written."""

    exit_code = 2


class StorageError(ConsentDeskError):
    """A write failed (disk full, file too large, I/O error); nothing committed was lost."""

    exit_code = 7
