"""The face models' cache folder (the user's, read at every start of the face engine) with
something odd at the kept graph's name: ``identify`` still answers, with the same result, and
leaves no 22 MB temporary copy behind."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.desk import Desk
from app.models import Purpose
from tests.core.vaultkit import ADMIN, PASSWORD

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 2 * 1024**3  # well above what identify needs, far below /dev/zero read whole


def _small_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _identify(home: Path, cache: Path, photo: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CONSENTDESK_HOME": str(home),
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
        "XDG_CACHE_HOME": str(cache),
        "CONSENTDESK_ENCODER": "onnxruntime",
    }
    env.pop("CONSENTDESK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "app", "--json", "identify", str(photo)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        preexec_fn=_small_memory,
    )


def test_odd_files_in_the_model_cache_neither_hang_nor_end_identify(
    desk: Desk, purpose: Purpose, home: Path, tmp_path: Path, faces: Path
) -> None:
    pytest.importorskip("onnxruntime")
    desk.lock()
    cache = tmp_path / "cache"
    photo = faces / "obama_1.jpg"
    first = _identify(home, cache, photo)
    assert first.returncode == 0, first.stderr
    expected = json.loads(first.stdout)
    assert expected["decision"] == "no_match"
    (graph,) = cache.rglob("dlib-resnet-*.onnx")
    models = graph.parent
    kept = tmp_path / "kept.onnx"
    shutil.move(graph, kept)

    def odd(make: str) -> None:
        if os.path.lexists(graph):
            graph.rmdir() if graph.is_dir() and not graph.is_symlink() else graph.unlink()
        if make == "fifo":
            os.mkfifo(graph)
        elif make == "dev_zero":
            graph.symlink_to("/dev/zero")
        else:
            graph.mkdir()

    # Before: a FIFO blocked identify forever; /dev/zero ended it with "unexpected
    # MemoryError"; a folder left a 22 MB *.tmp behind at every start.
    for make in ("fifo", "dev_zero", "folder"):
        odd(make)
        proc = _identify(home, cache, photo)
        assert proc.returncode == 0, (make, proc.stderr)
        assert json.loads(proc.stdout) == expected, make
        assert "Traceback" not in proc.stderr
        assert [p.name for p in models.iterdir() if p.name.endswith(".tmp")] == [], make
