"""Fast checks of the packaging sources (the slow ``test_package.py`` builds the real thing)."""

from __future__ import annotations

import configparser
import importlib.util
import plistlib
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"


def _load(name: str, path: Path) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_icons_are_drawn_in_every_format(tmp_path: Path) -> None:
    make_icon = _load("make_icon", INSTALLER / "make_icon.py")
    paths = make_icon.write_icons(tmp_path)  # type: ignore[attr-defined]
    with Image.open(paths["png"]) as png:
        assert png.size == (256, 256) and png.mode == "RGBA"
        assert png.getpixel((128, 128))[3] == 255 and png.getpixel((0, 0))[3] == 0
    with Image.open(paths["ico"]) as ico:
        assert ico.format == "ICO"
    with Image.open(paths["icns"]) as icns:
        assert icns.format == "ICNS"


def test_desktop_entry_is_complete() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(INSTALLER / "linux" / "consentdesk.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "ConsentDesk"
    assert entry["Exec"] == "ConsentDesk" and entry["Icon"] == "consentdesk"
    assert entry["Terminal"] == "false" and entry["Categories"].endswith(";")


def test_desktop_entry_helper_writes_an_absolute_exec(tmp_path: Path) -> None:
    folder = tmp_path / "ConsentDesk-9.9"
    folder.mkdir()
    for name, src in (
        ("consentdesk.desktop", INSTALLER / "linux" / "consentdesk.desktop"),
        ("install-desktop-entry.sh", INSTALLER / "linux" / "install-desktop-entry.sh"),
    ):
        (folder / name).write_bytes(src.read_bytes())
    Image.new("RGBA", (8, 8)).save(folder / "consentdesk.png")
    share = tmp_path / "share"
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(share), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["sh", str(folder / "install-desktop-entry.sh")],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )
    written = (share / "applications" / "consentdesk.desktop").read_text(encoding="utf-8")
    assert f'Exec="{folder}/ConsentDesk"' in written
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "consentdesk.png").is_file()
    subprocess.run(
        ["sh", str(folder / "install-desktop-entry.sh"), "--remove"],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert not (share / "applications" / "consentdesk.desktop").exists()


def test_spec_ships_the_models_app_bio_uses_and_not_the_cnn_detector() -> None:
    from app.bio import models

    spec = (INSTALLER / "consentdesk.spec").read_text(encoding="utf-8")
    assert "SHAPE_68, SHAPE_5, RESNET" in spec
    # app.bio runs HOG only: nothing loads the CNN detector, so the bundle leaves it out.
    for path in (REPO / "app").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "cnn_face_detection_model" not in text and "mmod_human" not in text, path
    assert {models.SHAPE_68, models.SHAPE_5, models.RESNET} == {
        "shape_predictor_68_face_landmarks.dat",
        "shape_predictor_5_face_landmarks.dat",
        "dlib_face_recognition_resnet_model_v1.dat",
    }


def test_spec_ships_the_fast_face_encoder_engine() -> None:
    """app.bio.encoder imports onnxruntime inside a function and its providers library is
    opened at run time: the spec must name both, or the bundle silently runs the slow dlib
    encoder (the self-test line would say so)."""
    spec = (INSTALLER / "consentdesk.spec").read_text(encoding="utf-8")
    assert 'collect_dynamic_libs("onnxruntime")' in spec and "binaries=binaries" in spec
    encoder = (REPO / "app" / "bio" / "encoder.py").read_text(encoding="utf-8")
    assert "import onnxruntime" in encoder
    # Every onnxruntime module a real encoder run imports is listed, and none is excluded.
    probe = (
        "import sys, numpy as np\n"
        "from app.bio.encoder import OnnxRuntimeEncoder, sample_chip\n"
        "from app.bio.models import find_model_paths\n"
        "from app.bio.resnet_dat import load_dlib_resnet\n"
        "from app.bio.resnet_onnx import build_onnx\n"
        "net = load_dlib_resnet(find_model_paths().resnet)\n"
        "OnnxRuntimeEncoder(net, build_onnx(net), threads=1).encode_chips([sample_chip()])\n"
        "print('\\n'.join(m for m in sys.modules if m.split('.')[0] == 'onnxruntime'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    hidden = set(
        re.findall(r'"(onnxruntime[\w.]*)"', spec.split("hiddenimports = [")[1].split("]")[0])
    )
    excluded = spec.split("excludes = [")[1].split("\n]")[0]
    # Submodules of a compiled extension (opkernel, schemadef) come with the extension.
    wanted = {m for m in out if not m.startswith("onnxruntime.capi.onnxruntime_pybind11_state.")}
    assert "onnxruntime.capi.onnxruntime_pybind11_state" in wanted
    assert wanted <= hidden, sorted(wanted - hidden)
    assert not any(f'"{m}"' in excluded for m in wanted)


def test_mac_bundle_asks_for_the_camera_and_is_entitled_to_it() -> None:
    spec = (INSTALLER / "consentdesk.spec").read_text(encoding="utf-8")
    assert "BUNDLE(" in spec and "NSCameraUsageDescription" in spec
    with (INSTALLER / "macos" / "entitlements.plist").open("rb") as fh:
        assert plistlib.load(fh) == {"com.apple.security.device.camera": True}


def test_inno_setup_script_has_start_menu_entries_and_keeps_user_data() -> None:
    iss = (INSTALLER / "windows" / "consentdesk.iss").read_text(encoding="utf-8")
    sections = set(re.findall(r"^\[(\w+)\]", iss, re.M))
    assert {"Setup", "Files", "Icons", "Run", "InstallDelete"} <= sections
    assert re.search(
        r'^Name: "\{group\}\\\{#MyAppName\}"; Filename: "\{app\}\\\{#MyAppExe\}"', iss, re.M
    )
    assert "AppId={{" in iss and "--self-test" in iss
    # The vault is in %LOCALAPPDATA%\ConsentDesk: nothing may delete it on uninstall.
    assert "[UninstallDelete]" not in iss and "{localappdata}" not in iss.lower()


def test_makefile_package_targets_install_pyinstaller_themselves() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^package: \$\(PACKAGE_STAMP\)", makefile, re.M)
    assert "pip install -q -e '.[package]'" in makefile
    assert re.search(r"^package-test:.*\n\t.*pytest -m slow tests/installer", makefile, re.M)


def test_build_script_help_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(INSTALLER / "build.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "--dist" in proc.stdout


def test_spec_excludes_nothing_the_self_test_imports(tmp_path: Path) -> None:
    """A bundle built from a spec that excludes a module the app imports at run time builds
    fine and fails only in front of the user (it happened: ``fontTools``, excluded as one of
    pyHanko's extras, is what the documents cut their fonts with, so the bundle could not make
    a PDF). The self-test's checks run the vault, the models, the PDFs and Qt: every module
    they load must survive the spec's excludes. "distutils" must not be named at all:
    PyInstaller 6.22's distutils hook then fails the whole build."""
    probe = (
        "import io, sys\n"
        "from app import selftest\n"
        "code = selftest.run(io.StringIO(), checks=['vault', 'resources', 'models', 'pdf'])\n"
        "print('\\n'.join(sys.modules))\n"
        "raise SystemExit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(proc.stdout.split())
    spec = (INSTALLER / "consentdesk.spec").read_text(encoding="utf-8")
    block = spec.split("excludes = [")[1].split("\n]")[0]
    excluded = set(re.findall(r'^\s*(?:"[^"]+",\s*)+', block, flags=re.M))
    names = {n for line in excluded for n in re.findall(r'"([^"]+)"', line)}
    assert "fontTools" in loaded and "onnxruntime" in loaded  # the probe ran the real paths
    clash = sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))
    assert not clash, clash
    assert '"distutils"' not in block
