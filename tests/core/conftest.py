"""Fixtures for core tests: a real SQLCipher vault in a temporary folder, no Qt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.desk import Desk, DeskOptions
from app.models import Purpose
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, PURPOSE_ZH, sign_necessity


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def options() -> DeskOptions:
    return DeskOptions(kdf=FAST_KDF)


@pytest.fixture
def desk(home: Path, options: DeskOptions) -> Iterator[Desk]:
    d, _ = Desk.initialise(home, "Acme Property Management", ADMIN, PASSWORD, options=options)
    yield d
    if not d.locked:
        d.lock()


@pytest.fixture
def purpose(desk: Desk) -> Purpose:
    added = desk.add_purpose(
        title="Building entrance",
        controller="Acme Property Management",
        contact="privacy@acme.example",
        retention_days=365,
        alternative="Access card from the front desk",
        recipients="Front-desk staff only",
        regulator="The data protection authority",
        **PURPOSE_ZH,
    )
    return sign_necessity(desk, added)  # issue-16: enrolment needs a signed necessity test
