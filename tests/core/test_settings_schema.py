"""The settings schema is the one source of ranges: the core refuses anything outside it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.desk import DEFAULT_SETTINGS, Desk, DeskOptions
from app.errors import InvalidInput, PermissionDenied
from app.models import Purpose
from app.settings_schema import GUARDIAN_FLOORS, SCHEMA, guardian_floor, parse
from tests.core.vaultkit import ADMIN, FAST_KDF, PASSWORD, FakeClock, enroll, sign_necessity

NUMERIC = [s for s in SCHEMA if s.type in ("int", "float")]


def test_schema_covers_every_setting_and_its_defaults_pass_it(desk: Desk) -> None:
    specs = desk.settings_schema()
    assert [s.name for s in specs] == list(DEFAULT_SETTINGS) == list(desk.settings())
    for spec in specs:
        assert parse(spec, spec.default) == spec.default, spec.name
        assert spec.who in ("admin", "operator") and spec.why
        if spec.type in ("int", "float"):
            assert spec.minimum is not None and spec.maximum is not None
            assert spec.minimum <= float(spec.default) <= spec.maximum, spec.name


@pytest.mark.parametrize("spec", NUMERIC, ids=lambda s: s.name)
def test_each_out_of_range_value_is_refused_and_nothing_changes(desk: Desk, spec) -> None:
    live = {s.name: s for s in desk.settings_schema()}[spec.name]
    assert live.minimum is not None and live.maximum is not None
    step = 1 if spec.type == "int" else 0.01
    before = desk.get_setting(spec.name)
    for bad in (live.minimum - step, live.maximum + step):
        with pytest.raises(InvalidInput) as info:
            desk.set_setting(spec.name, bad)
        assert info.value.code == "setting_range"
        assert info.value.params["setting"] == spec.name
        assert {"min", "max", "unit"} <= set(info.value.params)
        assert spec.name in str(info.value)
    for bad_type in ("abc", "", "nan", True):
        with pytest.raises(InvalidInput) as info:
            desk.set_setting(spec.name, bad_type)  # type: ignore[arg-type]
        assert info.value.code == "setting_type", bad_type
    if spec.type == "int":
        with pytest.raises(InvalidInput) as info:
            desk.set_setting(spec.name, live.minimum + 0.5)
        assert info.value.code == "setting_type"
    assert desk.get_setting(spec.name) == before
    # The bounds themselves are accepted.
    desk.set_setting(spec.name, live.maximum)
    desk.set_setting(spec.name, live.minimum)
    assert float(desk.get_setting(spec.name)) == live.minimum


def test_the_settings_that_would_disarm_or_erase_cannot_be_zero(desk: Desk) -> None:
    for name in ("autolock_minutes", "max_inactivity_days"):
        with pytest.raises(InvalidInput, match=name) as info:
            desk.set_setting(name, 0)
        assert info.value.code == "setting_range"
    with pytest.raises(InvalidInput):
        desk.set_setting("max_inactivity_days", 29)
    desk.set_setting("autolock_minutes", 7)
    assert desk.get_setting("autolock_minutes") == "7"
    assert [e.action for e in desk.audit_events()][-1] == "settings.set"


def test_unknown_settings_and_choices_are_refused(desk: Desk) -> None:
    with pytest.raises(InvalidInput) as info:
        desk.set_setting("no_such_setting", 1)
    assert info.value.code == "setting_unknown"
    with pytest.raises(InvalidInput) as info:
        desk.get_setting("no_such_setting")
    assert info.value.code == "setting_unknown"
    with pytest.raises(InvalidInput) as info:
        desk.set_setting("jurisdiction", "Atlantis")
    assert info.value.code == "setting_choice" and "CN" in info.value.params["choices"]  # type: ignore[operator]


def test_guardian_age_never_goes_below_the_jurisdictions_floor(desk: Desk) -> None:
    assert desk.get_setting("jurisdiction") == "CN" and guardian_floor("CN") == 14
    spec = {s.name: s for s in desk.settings_schema()}["guardian_age"]
    assert spec.minimum == 14
    with pytest.raises(InvalidInput) as info:
        desk.set_setting("guardian_age", 13)
    assert info.value.code == "setting_range" and info.value.params["min"] == "14"
    # Germany's GDPR floor is 16: the age must be raised before the jurisdiction can change.
    with pytest.raises(InvalidInput) as info:
        desk.set_setting("jurisdiction", "DE")
    assert info.value.code == "setting_guardian_floor" and info.value.params["min"] == 16
    assert desk.get_setting("jurisdiction") == "CN"
    desk.set_setting("guardian_age", 16)
    desk.set_setting("jurisdiction", "DE")
    with pytest.raises(InvalidInput):
        desk.set_setting("guardian_age", 15)
    # Under COPPA the floor is 13.
    desk.set_setting("jurisdiction", "US")
    desk.set_setting("guardian_age", 13)
    assert {s.name: s for s in desk.settings_schema()}["guardian_age"].minimum == 13
    assert all(13 <= floor <= 16 for floor in GUARDIAN_FLOORS.values())


def test_a_stored_age_below_the_floor_still_protects_minors(desk: Desk) -> None:
    """A vault written before the schema may hold a lower age: the floor wins."""
    with desk._conn:
        desk._conn.execute("INSERT INTO settings (key, value) VALUES ('guardian_age', '10')")
    thirteen = dt.date.today() - dt.timedelta(days=365 * 13 + 30)
    assert desk.needs_guardian(thirteen)


def test_an_operator_cannot_change_admin_settings(desk: Desk, home: Path, options) -> None:
    desk.add_user("frontdesk", PASSWORD, "operator")
    desk.lock()
    op = Desk.unlock(home, "frontdesk", PASSWORD, options=options)
    try:
        for spec in SCHEMA:
            if spec.who != "admin":
                continue
            with pytest.raises(PermissionDenied) as info:
                op.set_setting(spec.name, spec.default)
            assert info.value.code == "setting_admin_only"
            assert info.value.params == {"setting": spec.name}
        # The camera is the operator's to choose; its range still applies.
        op.set_setting("camera_index", 1)
        assert op.get_setting("camera_index") == "1"
        with pytest.raises(InvalidInput):
            op.set_setting("camera_index", 10)
    finally:
        op.lock()


def test_inactivity_limit_on_a_fake_clock(home: Path, purpose_values: dict[str, object]) -> None:
    """Nobody is erased a day early or kept a day late: the clock is moved, not waited for."""
    clock = FakeClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    desk, _ = Desk.initialise(
        home, "Org", ADMIN, PASSWORD, options=DeskOptions(kdf=FAST_KDF, clock=clock)
    )
    try:
        purpose: Purpose = desk.add_purpose(**purpose_values)  # type: ignore[arg-type]
        purpose = sign_necessity(desk, purpose)
        desk.set_setting("max_inactivity_days", 30)
        # Every audit entry is stamped by the injected clock, not the machine's.
        assert desk.audit_events()[-1].at == clock.now
        seen = enroll(desk, purpose, name="Seen Once", seed=3)
        assert seen.consent.expires_at == clock.now + dt.timedelta(days=30)
        clock.advance(days=29)
        assert desk.purge_expired().erased_people == ()
        clock.advance(days=1)
        result = desk.purge_expired()
        assert result.expired_consents == (seen.consent.id,)
        assert result.erased_people == (seen.person.id,)
        assert desk.stats().people == 0 and desk.audit_verify().ok
    finally:
        desk.lock()


@pytest.fixture
def purpose_values() -> dict[str, object]:
    return {
        "title": "Gym",
        "controller": "Org",
        "contact": "x@y",
        "retention_days": 365,
        "alternative": "card",
    }
