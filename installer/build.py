"""Build the standalone ConsentDesk for the platform this runs on (``make package`` calls it).

    .venv/bin/python installer/build.py [--dist DIR] [--work DIR] [--no-archive]

Steps: draw the icon (``installer/make_icon.py``), run PyInstaller on
``installer/consentdesk.spec`` (one-folder bundle), then per platform:

* Linux: add the ``.desktop`` entry, the icon and ``install-desktop-entry.sh`` to the folder and
  pack ``DIST/ConsentDesk-<version>-linux-<arch>.tar.gz`` plus a ``.sha256`` file.
* Windows: run Inno Setup's ``iscc`` on ``installer/windows/consentdesk.iss`` when it is on PATH
  (otherwise print the command).
* macOS: PyInstaller already made ``DIST/ConsentDesk.app``; signing and notarising are manual
  steps (``installer/README.md``).

Prints the bundle's size at the end. Run the result's self-test with
``DIST/ConsentDesk/ConsentDesk --self-test``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
NAME = "ConsentDesk"


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from app import __version__

    return str(__version__)


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def folder_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def run_pyinstaller(dist: Path, work: Path, clean: bool) -> None:
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(INSTALLER / "consentdesk.spec"),
    ]
    if clean:
        cmd.insert(3, "--clean")
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def strip_linux_binaries(bundle: Path) -> int:
    """``strip --strip-unneeded`` the bundle's ELF files; returns the bytes saved.

    Not done by PyInstaller (``strip=True`` in the spec) because GNU strip corrupts libraries
    that auditwheel rewrote with patchelf: numpy's OpenBLAS then fails with "ELF load command
    address/offset not page-aligned". Those live in ``<package>.libs/`` folders and are
    already stripped, so they are skipped; everything else (libpython, the sqlcipher3,
    cryptography and numpy extensions ...) loses its symbol tables, about 50 MB.
    """
    strip = shutil.which("strip")
    if strip is None:
        print("strip not found: the bundle stays unstripped (about 50 MB larger)")
        return 0
    saved = 0
    # Only the libraries: the executable carries PyInstaller's archive of Python modules.
    for path in sorted((bundle / "_internal").rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if any(part.endswith(".libs") for part in path.relative_to(bundle).parts):
            continue
        with path.open("rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        before = path.stat().st_size
        subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
        saved += before - path.stat().st_size
    return saved


# Debian/Ubuntu packages to install on the build machine so PyInstaller can bundle what Qt's
# platform plugins link against (a minimal system lacks them; a customer's desktop may too).
LINUX_BUILD_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}


def unresolved_libraries(bundle: Path) -> dict[str, list[str]]:
    """Shared libraries that bundled ELF files need and neither the bundle nor this machine
    has, as ``{library: [files that need it]}``: what a customer's machine would miss too."""
    internal = bundle / "_internal"
    folders = {str(p.parent) for p in internal.rglob("*.so*")} | {str(internal)}
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(sorted(folders)))
    missing: dict[str, list[str]] = {}
    for path in sorted(internal.rglob("*.so*")):
        if path.is_symlink() or not path.is_file():
            continue
        out = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, env=env, check=False
        ).stdout
        for line in out.splitlines():
            if "=> not found" in line:
                name = line.split("=>")[0].strip()
                missing.setdefault(name, []).append(str(path.relative_to(internal)))
    return missing


def report_unresolved(bundle: Path) -> None:
    missing = unresolved_libraries(bundle)
    if not missing:
        print("every bundled library's dependencies resolve")
        return
    print("WARNING: bundled libraries need libraries this build machine lacks; they are NOT in")
    print("the bundle, so customers' machines must provide them:")
    for name, users in missing.items():
        print(f"  {name} (needed by {', '.join(users[:3])}{' ...' if len(users) > 3 else ''})")
    packages = sorted({LINUX_BUILD_PACKAGES[n] for n in missing if n in LINUX_BUILD_PACKAGES})
    if packages:
        print(f"  install them and rebuild: sudo apt-get install {' '.join(packages)}")


def add_linux_files(bundle: Path, icon: Path) -> None:
    """The desktop entry, the icon and a helper that registers both for the current user."""
    shutil.copy2(INSTALLER / "linux" / "consentdesk.desktop", bundle / "consentdesk.desktop")
    shutil.copy2(icon, bundle / "consentdesk.png")
    helper = bundle / "install-desktop-entry.sh"
    shutil.copy2(INSTALLER / "linux" / "install-desktop-entry.sh", helper)
    helper.chmod(0o755)


def make_tarball(bundle: Path, dist: Path, ver: str) -> Path:
    """``ConsentDesk-<ver>-linux-<arch>.tar.gz`` with one top folder, symlinks kept, owner
    and group reset (the archive must not carry the build machine's user names)."""
    base = f"{NAME}-{ver}-linux-{arch()}"
    target = dist / f"{base}.tar.gz"

    def reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    tmp = target.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=base, filter=reset)
    os.replace(tmp, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (dist / f"{base}.tar.gz.sha256").write_text(f"{digest}  {target.name}\n", encoding="ascii")
    return target


def run_inno_setup(ver: str) -> None:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    script = INSTALLER / "windows" / "consentdesk.iss"
    cmd = [iscc or "iscc", f"/DMyAppVersion={ver}", str(script)]
    if iscc is None:
        print("Inno Setup (iscc) is not on PATH; to make the installer run:\n  " + " ".join(cmd))
        return
    subprocess.run(cmd, check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--clean", action="store_true", help="ignore PyInstaller's cache")
    parser.add_argument("--no-archive", action="store_true", help="skip the tarball/installer")
    args = parser.parse_args(argv)
    dist, ver = args.dist.resolve(), version()
    started = time.perf_counter()

    sys.path.insert(0, str(INSTALLER))
    from make_icon import write_icons

    icons = write_icons(ROOT / "build" / "icon")
    run_pyinstaller(dist, args.work.resolve(), args.clean)

    bundle = dist / (f"{NAME}.app" if sys.platform == "darwin" else NAME)
    if sys.platform.startswith("linux"):
        saved = strip_linux_binaries(bundle)
        print(f"stripped {saved / 2**20:.0f} MiB of symbols")
        report_unresolved(bundle)
        add_linux_files(bundle, icons["png"])
    size = folder_size(bundle)
    print(f"bundle: {bundle} ({size / 2**20:.0f} MiB)")
    if not args.no_archive:
        if sys.platform.startswith("linux"):
            tarball = make_tarball(bundle, dist, ver)
            print(f"tarball: {tarball} ({tarball.stat().st_size / 2**20:.0f} MiB)")
        elif sys.platform == "win32":
            run_inno_setup(ver)
        elif sys.platform == "darwin":
            print("macOS: sign and notarise dist/ConsentDesk.app as installer/README.md describes")
    print(
        f"built in {time.perf_counter() - started:.0f} s; check it with: "
        f"{bundle / NAME if sys.platform != 'darwin' else bundle / 'Contents/MacOS' / NAME}"
        " --self-test"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
