"""The typed schema of the workstation's settings: the one source of names, types and ranges.

The core refuses a value outside its range before anything is stored, and the UI's widgets and
the CLI read their ranges from here, so a screen can never offer a value the core would refuse
(or, worse, that the core would accept and that then erases people at the next sign-in).

Guardian age and jurisdiction: under the law of the organisation's jurisdiction, below a certain
age a parent or guardian must consent for the person. ``GUARDIAN_FLOORS`` lists that floor per
jurisdiction, and ``guardian_age`` can be set at or above it, never below:

* ``CN`` (the default): 14, PIPL art. 31 (personal information of minors under 14).
* ``US``: 13, COPPA (children under 13).
* ``GB``: 13, UK GDPR / Data Protection Act 2018 s. 9.
* ``EU``: 16, GDPR art. 8(1) where a member state set no lower age; each member state's own
  floor (13 to 16) is listed under its ISO code, as set in its national law.

Face templates are special-category (biometric) data, so an organisation's counsel may well want
a higher age than the floor: ``guardian_age`` may go above it, up to 25.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from app.errors import InvalidInput

SettingType = Literal["int", "float", "choice", "text"]
Who = Literal["admin", "operator"]

GUARDIAN_FLOORS: Mapping[str, int] = {
    "CN": 14,
    "US": 13,
    "GB": 13,
    "EU": 16,
    # GDPR art. 8 as set by each member state
    "AT": 14,
    "BE": 13,
    "BG": 14,
    "CY": 14,
    "CZ": 15,
    "DE": 16,
    "DK": 13,
    "EE": 13,
    "ES": 14,
    "FI": 13,
    "FR": 15,
    "GR": 15,
    "HR": 16,
    "HU": 16,
    "IE": 16,
    "IT": 14,
    "LT": 14,
    "LU": 16,
    "LV": 13,
    "MT": 13,
    "NL": 16,
    "PL": 16,
    "PT": 13,
    "RO": 16,
    "SE": 13,
    "SI": 15,
    "SK": 16,
}
DEFAULT_JURISDICTION = "CN"

#: What a "video or photo file" standing in for the camera may be (OpenCV reads these).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: A training video of a few minutes is far below this; a disk image renamed .mp4 is not.
CAMERA_FILE_MAX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class SettingSpec:
    """One setting: what it holds, its range, who may change it and why it exists.

    ``minimum``/``maximum`` are inclusive (``None`` for a choice); ``choices`` lists the allowed
    values of a choice. ``default`` is the stored text form."""

    name: str
    type: SettingType
    default: str
    minimum: float | None
    maximum: float | None
    unit: str
    who: Who
    why: str
    choices: tuple[str, ...] = ()


SCHEMA: tuple[SettingSpec, ...] = (
    SettingSpec(
        "match_threshold",
        "float",
        "0.6",
        0.3,
        0.8,
        "distance",
        "admin",
        "Largest face distance counted as the same person; dlib's models are tuned for 0.6, "
        "above 0.8 strangers match each other.",
    ),
    SettingSpec(
        "lookalike_margin",
        "float",
        "0.05",
        0.0,
        0.3,
        "distance",
        "admin",
        "How far beyond the match threshold enrollment still warns of a lookalike (twins).",
    ),
    SettingSpec(
        "autolock_minutes",
        "int",
        "5",
        1,
        240,
        "minutes",
        "admin",
        "An unattended desk locks itself; 0 would mean never, so it is not allowed.",
    ),
    SettingSpec(
        "camera_index",
        "int",
        "0",
        0,
        9,
        "",
        "operator",
        "Which camera of this workstation to use; the person at the desk may switch it.",
    ),
    SettingSpec(
        "camera_file",
        "text",
        "",
        None,
        None,
        "",
        "operator",
        "A video (looped) or photo played instead of the camera: a desk without a webcam, a "
        "demo or a training session. Empty: the camera device above.",
    ),
    SettingSpec(
        "guardian_age",
        "int",
        "14",
        min(GUARDIAN_FLOORS.values()),
        25,
        "years",
        "admin",
        "Below this age a parent or guardian must sign too; never below the legal floor of the "
        "organisation's jurisdiction.",
    ),
    SettingSpec(
        "max_inactivity_days",
        "int",
        "1095",
        30,
        3650,
        "days",
        "admin",
        "People nobody has seen for this long are erased at the next sign-in, whatever the "
        "purpose says; under 30 days one slip of the keyboard would erase regular visitors.",
    ),
    SettingSpec(  # issue-13
        "reconsent_grace_days",
        "int",
        "30",
        1,
        365,
        "days",
        "admin",
        "After a material purpose change, how long the templates of people who consented to an "
        "older version are kept (matching nothing) for them to sign again without a new capture; "
        "then they are destroyed like a withdrawal.",
    ),
    SettingSpec(
        "backup_keep",
        "int",
        "10",
        1,
        1000,
        "backups",
        "admin",
        "Backups kept in <home>/backups (newest first): each one is brought up to date with every "
        "withdrawal and erasure, so fewer copies mean fewer places a person's data waits in.",
    ),
    SettingSpec(
        "backup_retention_days",
        "int",
        "90",
        1,
        3650,
        "days",
        "admin",
        "Backups in <home>/backups older than this are deleted: what a backup holds must not "
        "outlive what the people in it agreed to by much.",
    ),
    SettingSpec(
        "clock_jump_days",
        "int",
        "7",
        1,
        3650,
        "days",
        "admin",
        "A system clock this far ahead of the last time the vault saw (or behind it) holds "
        "automatic purging until an admin confirms the date, so a wrong clock cannot erase "
        "everyone at once.",
    ),
    SettingSpec(
        "filing_threshold",
        "int",
        "100000",
        1,
        10_000_000,
        "people",
        "admin",
        "People with stored face data above which the regulator must be told (CAC 2025 "
        "measures: 100,000); the compliance overview warns at 80 % and at 100 %.",
    ),
    SettingSpec(
        "device_overdue_hours",
        "int",
        "24",
        1,
        24 * 30,
        "hours",
        "admin",
        "A recognition device counts as overdue when a revocation (a withdrawal, an erasure, an "
        "expiry) has waited this long without being written to its revocation list; the "
        "disclosure promises people this delay.",
    ),
    SettingSpec(
        "deadline_pipl_working_days",
        "int",
        "15",
        1,
        30,
        "working days",
        "admin",
        "Time to answer a person's request under PIPL (15 working days); shorter is allowed, "
        "longer than the law is not offered.",
    ),
    SettingSpec(
        "deadline_gdpr_months",
        "int",
        "1",
        1,
        3,
        "months",
        "admin",
        "Time to answer a request under GDPR Art. 12(3): one month, extendable to three.",
    ),
    SettingSpec(
        "liveness_skip_needs_admin",
        "int",
        "0",
        0,
        1,
        "",
        "admin",
        "1: an operator who skips the liveness check (capture now, photo file) needs an "
        "administrator's name and password as well as a typed reason; 0: the reason is enough.",
    ),
    SettingSpec(
        "jurisdiction",
        "choice",
        DEFAULT_JURISDICTION,
        None,
        None,
        "",
        "admin",
        "The law the organisation follows; it sets the lowest allowed guardian age, the legal "
        "basis and rights the disclosure states, and which of its fields are required.",
        tuple(GUARDIAN_FLOORS),
    ),
    # issue-15 point 7: printed in every disclosure (see app/disclosure_law.py)
    SettingSpec(
        "dpo_contact",
        "text",
        "",
        None,
        None,
        "",
        "admin",
        "The data protection officer (PIPL: personal information protection officer) and how to "
        "reach them. Required under GDPR and UK GDPR (Art. 13(1)(b); biometric data at scale "
        "needs one, Art. 37): no disclosure is shown or printed without it there.",
    ),
    SettingSpec(
        "regulator",
        "text",
        "",
        None,
        None,
        "",
        "admin",
        "The supervisory authority people may complain to, unless a purpose names its own. Empty: "
        "the jurisdiction's default (CN: the cyberspace administration; GB: the ICO). Required "
        "in EU jurisdictions (the member state's authority): no disclosure is issued without it.",
    ),
)

_BY_NAME: Mapping[str, SettingSpec] = {s.name: s for s in SCHEMA}
DEFAULT_SETTINGS: Mapping[str, str] = {s.name: s.default for s in SCHEMA}


def spec_of(name: str) -> SettingSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InvalidInput(
            f"Unknown setting: {name}", code="setting_unknown", params={"setting": name}
        ) from None


def guardian_floor(jurisdiction: str) -> int:
    """The legal floor of the guardian age; an unknown code falls back to the highest floor
    (the safe side: more people need a guardian, nobody needs one less)."""
    return GUARDIAN_FLOORS.get(jurisdiction, max(GUARDIAN_FLOORS.values()))


def effective(spec: SettingSpec, jurisdiction: str) -> SettingSpec:
    """The spec with its range as it applies under ``jurisdiction`` (guardian age's floor)."""
    if spec.name == "guardian_age":
        return replace(spec, minimum=float(guardian_floor(jurisdiction)))
    return spec


def parse(spec: SettingSpec, value: str | float | int) -> str:
    """Check ``value`` against ``spec`` and return its stored text form.

    Refusals are ``InvalidInput`` with a stable code (``setting_type``, ``setting_range``,
    ``setting_choice``) and the setting's name and range as params, so the UI can say it in the
    operator's language."""
    if isinstance(value, bool):
        raise _type_error(spec)
    text = str(value).strip()
    if spec.type == "text":
        return _camera_file(spec, text) if spec.name == "camera_file" else text
    if spec.type == "choice":
        if text not in spec.choices:
            raise InvalidInput(
                f"The setting {spec.name} must be one of: {', '.join(spec.choices)}.",
                code="setting_choice",
                params={"setting": spec.name, "choices": list(spec.choices)},
            )
        return text
    try:
        number = float(text)
    except ValueError:
        raise _type_error(spec) from None
    if not math.isfinite(number):
        raise _type_error(spec)
    if spec.type == "int":
        if number != int(number):
            raise _type_error(spec)
        number = int(number)
    lo, hi = spec.minimum, spec.maximum
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise InvalidInput(
            f"The setting {spec.name} must be between {_fmt(spec, lo)} and {_fmt(spec, hi)}"
            f"{' ' + spec.unit if spec.unit else ''}.",
            code="setting_range",
            params={
                "setting": spec.name,
                "min": _fmt(spec, lo),
                "max": _fmt(spec, hi),
                "unit": spec.unit,
            },
        )
    return str(number)


def _camera_file(spec: SettingSpec, text: str) -> str:
    """Empty, or the absolute path of an existing regular file (not a device or a directory)
    with a video or image extension, under the size cap: the frame reader is then never
    pointed at something that blocks (a FIFO) or fills memory."""
    if not text:
        return ""

    def refuse(*, code: str, why: str) -> InvalidInput:
        return InvalidInput(
            f"The camera file {text} cannot be used: {why}.",
            code=code,
            params={"setting": spec.name, "path": text},
        )

    path = os.path.abspath(os.path.expanduser(text))
    if not path.lower().endswith(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS):
        raise refuse(code="camera_file_extension", why="it is not a video or photo file")
    try:
        info = os.stat(path)
    except OSError:
        raise refuse(code="camera_file_missing", why="it does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise refuse(code="camera_file_missing", why="it is not a regular file")
    if info.st_size > CAMERA_FILE_MAX_BYTES or info.st_size == 0:
        raise refuse(code="camera_file_size", why="it is empty or larger than 2 GiB")
    return path


def is_video_file(path: str) -> bool:
    return path.lower().endswith(VIDEO_EXTENSIONS)


def _fmt(spec: SettingSpec, bound: float | None) -> str:
    if bound is None:
        return ""
    return str(int(bound)) if spec.type == "int" else str(bound)


def _type_error(spec: SettingSpec) -> InvalidInput:
    kind = "a whole number" if spec.type == "int" else "a number"
    return InvalidInput(
        f"The setting {spec.name} must be {kind}.",
        code="setting_type",
        params={"setting": spec.name, "type": spec.type},
    )
