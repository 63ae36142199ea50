"""Issue 13's re-consent, the remaining gaps: compliance counts consents waiting for re-consent
apart from active ones (as ``desk.stats()`` does); a kept photo survives a renewal only with the
photo consent given again; a minor renews with a guardian."""

from __future__ import annotations

from app.compliance.facts import purpose_counts
from app.desk import Desk
from app.models import Purpose
from tests.core.vaultkit import enroll, sign_necessity


def test_compliance_counts_reconsent_apart_from_active(desk: Desk, purpose: Purpose) -> None:
    enroll(desk, purpose, "Ada Waiting", seed=1)
    enroll(desk, purpose, "Bo Waiting", seed=2)
    desk.edit_purpose(purpose.id, material=True, retention_days=200)
    enroll(desk, sign_necessity(desk, desk.get_purpose(purpose.id)), "Cy Current", seed=3)
    counts = desk.session.read(lambda c: purpose_counts(c, purpose.id))
    assert counts["consents_active"] == 1 == desk.stats().active_consents
    assert counts["consents_reconsent"] == 2
    assert counts["people_stored"] == 3  # their templates are still held until the grace ends
