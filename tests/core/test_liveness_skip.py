"""Skipping the liveness check at the desk needs a typed reason and, per setting, an admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.errors import InvalidInput, PermissionDenied
from app.models import LivenessResult, Purpose
from tests.core.pdftools import pdf_text
from tests.core.vaultkit import ADMIN, PASSWORD, enroll

REASON = "Camera cannot see a blink under the desk lamp"


def _skipped(reason: str = REASON) -> LivenessResult:
    return LivenessResult(passed=False, method="operator-attested", skip_reason=reason)


def _consent_form_text(desk: Desk, person_id: str) -> str:
    docs = [d for d in desk.person_documents(person_id) if d.kind == "consent_form"]
    return pdf_text(desk.document_pdf(docs[0].id))


def test_reason_is_required_and_printed(desk: Desk, purpose: Purpose) -> None:
    for bad in ("", "ok", "         x"):
        with pytest.raises(InvalidInput) as info:
            enroll(desk, purpose, name="No Reason", liveness=_skipped(bad))
        assert info.value.code == "liveness_reason_required"
    result = enroll(desk, purpose, liveness=_skipped())
    stored = result.consent.liveness
    assert stored is not None and stored.skip_reason == REASON
    assert stored.approved_by == ADMIN  # an admin skipping approves it themselves
    text = " ".join(_consent_form_text(desk, result.person.id).split())
    assert REASON in text and "approved by" in text.lower()


def test_operator_needs_an_admins_approval_when_the_setting_asks(
    desk: Desk, purpose: Purpose, home: Path, options: DeskOptions
) -> None:
    desk.add_user("frontdesk", "operator-pass-1", "operator")
    desk.set_setting("liveness_skip_needs_admin", 1)
    op = Desk.unlock(home, "frontdesk", "operator-pass-1", options=options)
    try:
        with pytest.raises(PermissionDenied) as needed:
            enroll(op, purpose, name="Op Skip", liveness=_skipped())
        assert needed.value.code == "liveness_approval_needed"
        # An operator's own password, or a wrong admin password, approves nothing.
        for user, password in (("frontdesk", "operator-pass-1"), (ADMIN, "not it at all")):
            with pytest.raises(PermissionDenied) as refused:
                op.approve_liveness_skip(user, password)
            assert refused.value.code == "liveness_approval_refused"
        token = op.approve_liveness_skip(ADMIN, PASSWORD)
        result = enroll(op, purpose, name="Op Skip", liveness=_skipped(), liveness_approval=token)
        assert result.consent.liveness is not None
        assert result.consent.liveness.approved_by == ADMIN
        # One token, one enrollment.
        with pytest.raises(PermissionDenied):
            enroll(
                op, purpose, name="Op Again", seed=7, liveness=_skipped(), liveness_approval=token
            )
        # A passed check needs neither.
        enroll(op, purpose, name="Live Person", seed=9, liveness=LivenessResult(passed=True))
    finally:
        op.lock()


def test_without_the_setting_an_operator_gives_a_reason_only(
    desk: Desk, purpose: Purpose, home: Path, options: DeskOptions
) -> None:
    desk.add_user("frontdesk", "operator-pass-1", "operator")
    op = Desk.unlock(home, "frontdesk", "operator-pass-1", options=options)
    try:
        result = enroll(op, purpose, name="Op Reason", liveness=_skipped())
        assert result.consent.liveness is not None
        assert result.consent.liveness.approved_by == ""
    finally:
        op.lock()
