"""Enrollments whose liveness check did not pass: a typed reason and, per setting, an admin.

Why this exists: "Capture now" and "Use a photo file" skip the active liveness check. Any operator
could once do so silently, which makes the check decorative. Now the operator types why, and
where the organisation asks for it (``liveness_skip_needs_admin``) an administrator signs off with
their own password, checked here against their keyslot. Both are stored with the consent and
printed on the consent form, so the record says plainly how the face was captured.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from app.authority import grant_valid
from app.errors import InvalidInput, PermissionDenied, WrongPassword
from app.models import LivenessResult
from app.rooms.settings import Settings
from app.rooms.staff import find_staff
from app.session import Session
from app.validation import clean_text

MIN_SKIP_REASON = 10  # characters: "camera broken" passes, "x" or "ok" does not


class LivenessSkips:
    """One-use approvals for this session, and the check applied at enrollment."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self._s = session
        self._settings = settings
        self._approvals: dict[str, str] = {}  # token -> approving admin

    def approve(self, admin_username: str, admin_password: str) -> str:
        """A token naming the admin whose password was given; refused for anyone else."""
        s = self._s
        row = s.read(lambda c: find_staff(c, admin_username))
        try:
            s.vault.keyslots.unlock_user(admin_username, admin_password)
        except WrongPassword:
            row = None
        auth = s.authority  # issue-11: a role counts only with an administrator's signature
        if (
            row is not None
            and auth is not None
            and not grant_valid(auth.public, auth.vault_id, row)
        ):
            row = None
        if row is None or row["role"] != "admin":
            raise PermissionDenied(
                "Only an administrator's own name and password can approve skipping the "
                "liveness check.",
                code="liveness_approval_refused",
            )
        token = secrets.token_urlsafe(16)
        self._approvals[token] = str(row["username"])
        return token

    def checked(self, liveness: LivenessResult, approval: str | None) -> LivenessResult:
        """``liveness`` with the reason cleaned and the approver named; raises when either is
        missing."""
        reason = (
            clean_text(liveness.skip_reason, "reason for skipping the liveness check", limit=500)
            or ""
        ).strip()
        if len(reason) < MIN_SKIP_REASON:
            raise InvalidInput(
                "Say why the liveness check was skipped (at least 10 characters).",
                code="liveness_reason_required",
                params={"min": MIN_SKIP_REASON},
            )
        user = self._s.user
        approver = user.username if user.role == "admin" else ""
        if not approver and self._settings.get("liveness_skip_needs_admin") not in ("0", "0.0"):
            approver = self._approvals.pop(approval or "", "")
            if not approver:
                raise PermissionDenied(
                    "Skipping the liveness check needs an administrator's approval.",
                    code="liveness_approval_needed",
                )
        return replace(liveness, skip_reason=reason, approved_by=approver)
