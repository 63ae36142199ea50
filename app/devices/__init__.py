"""Handoff of templates to recognition devices, with revocation (issue 17)."""
