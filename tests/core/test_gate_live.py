"""The gate's live camera mode (issue 17): the shared video stands in for a door camera; a person
enrolled from a still photo is allowed (by pseudonym) while in view, and denied once their
withdrawal's revocation list was imported. No camera: one line, no traceback."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from app.desk import Desk, EnrollmentRequest, PersonDetails
from app.devices.format import generate_device_keys
from app.devices.registry import Devices
from app.gate.cli import run
from app.gate.device import Gate
from app.models import Purpose
from tests.core.test_bio_support import analysis_of, shared_engine
from tests.core.vaultkit import make_signature


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _live(door: Path, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(
        ["--home", str(door), "live", "--json", *extra],
        stdout=out,
        stderr=err,
        clock=_now,
        engine=shared_engine(),
    )
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_live_video_allows_the_enrolled_person_then_denies_after_withdrawal(
    desk: Desk, purpose: Purpose, faces: Path, testdata: Path, tmp_path: Path
) -> None:
    door = tmp_path / "door"
    devices = Devices(desk)
    devices.add("Stage door", purpose.id, generate_device_keys(door))
    purpose = desk.get_purpose(purpose.id)
    disclosure = desk.disclosure(purpose.id, "en")
    lin = desk.enroll(
        EnrollmentRequest(
            person=PersonDetails(
                "Lin-Manuel Miranda", None, None, "en", age_basis="id_document_seen"
            ),
            purpose_id=purpose.id,
            disclosure_sha256=disclosure.sha256,
            signature=make_signature(1),
            embeddings=[analysis_of(faces / "lin_manuel_miranda_1.png").single_encoding()],
            acknowledged_warnings=True,
        )
    ).person.id
    gate = Gate(door, clock=_now)
    gate.import_file(devices.handoff("Stage door").data)
    video = testdata / "video" / "short_hamilton_clip.mp4"

    code, lines, err = _live(door, "--camera", str(video), "--frames", "200", "--stride", "10")
    assert code == 0, err
    allowed = [line for line in lines if line["decision"] == "allow"]
    assert allowed and {line["person_id"] for line in allowed} == {
        devices.person_ref("Stage door", lin)
    }
    assert all(set(line) <= {"frame", "time", "decision", "person_id"} for line in lines)
    assert "200 frames" in err

    desk.withdraw(lin, "asked")
    gate.import_file(devices.revocations("Stage door").data)
    code, lines, _ = _live(door, "--camera", str(video), "--frames", "200", "--stride", "10")
    assert code == 0 and lines and {line["decision"] for line in lines} == {"deny"}


def test_no_camera_is_one_line(tmp_path: Path) -> None:
    door = tmp_path / "door"
    generate_device_keys(door)
    code, lines, err = _live(door, "--camera", "7")  # no camera 7 on a test machine
    assert code != 0 and lines == []
    assert err.count("\n") == 1 and "No camera found" in err and "Traceback" not in err
    code, _, err = _live(door, "--camera", str(tmp_path / "missing.mp4"))
    assert code != 0 and err.strip() == "consentdesk-gate: The video file could not be opened."
