"""``make test`` on a fresh machine: ``tools/system_deps.sh`` and the Makefile targets that use it.

The script is run with a PATH of stubs, so these tests never install anything: a stub
``apt-get`` records what would have been run, a stub ``id`` decides whether we are root.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "system_deps.sh"
POPPLER = ("pdftotext", "pdftoppm", "pdffonts", "pdfsig")
ALL_TOOLS = (*POPPLER, "certutil")  # certutil: libnss3-tools, for the pdfsig trust tests


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _run(
    tmp_path: Path, *, uid: int, tools: tuple[str, ...]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    stubs = tmp_path / "bin"
    stubs.mkdir()
    log = tmp_path / "apt.log"
    _stub(stubs, "id", f"echo {uid}")
    _stub(stubs, "uname", "echo Linux")
    _stub(stubs, "apt-get", f'echo "$*" >> "{log}"')
    for tool in tools:
        _stub(stubs, tool, "exit 0")
    proc = subprocess.run(
        ["/bin/bash", str(SCRIPT)],
        env={"PATH": str(stubs)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, log


def test_root_with_apt_installs_poppler_when_a_tool_is_missing(tmp_path: Path) -> None:
    proc, log = _run(tmp_path, uid=0, tools=("pdftotext", "pdftoppm", "pdffonts", "certutil"))
    assert proc.returncode == 0, proc.stderr
    assert "missing: pdfsig" in proc.stdout
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq poppler-utils"]


def test_root_with_apt_installs_nss_tools_when_certutil_is_missing(tmp_path: Path) -> None:
    proc, log = _run(tmp_path, uid=0, tools=POPPLER)
    assert proc.returncode == 0, proc.stderr
    assert "missing: certutil" in proc.stdout
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq libnss3-tools"]


def test_root_installs_both_packages_once_each(tmp_path: Path) -> None:
    proc, log = _run(tmp_path, uid=0, tools=())
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines() == [
        "update -qq",
        "install -y -qq poppler-utils libnss3-tools",
    ]


def test_without_root_it_says_how_in_one_line_and_does_not_fail(tmp_path: Path) -> None:
    proc, log = _run(tmp_path, uid=1000, tools=())
    assert proc.returncode == 0 and not log.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install poppler-utils" in lines[0]
    assert all(tool in lines[0] for tool in ALL_TOOLS) and "libnss3-tools" in lines[0]


@pytest.mark.parametrize("uid", [0, 1000])
def test_nothing_happens_when_every_tool_is_there(tmp_path: Path, uid: int) -> None:
    proc, log = _run(tmp_path, uid=uid, tools=ALL_TOOLS)
    assert proc.returncode == 0 and proc.stdout == proc.stderr == "" and not log.exists()


def test_make_test_installs_system_deps_and_lint_checks_formatting() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    test_recipe = re.search(r"^test: .*\n((?:\t.*\n)+)", makefile, re.M)
    assert test_recipe, "no test target"
    steps = test_recipe.group(1).splitlines()
    assert "tools/system_deps.sh" in steps[0] and "pytest" in steps[-1]
    lint_recipe = re.search(r"^lint: .*\n((?:\t.*\n)+)", makefile, re.M)
    assert lint_recipe and "ruff format --check app ui tests installer tools" in lint_recipe.group(
        1
    )
