#!/usr/bin/env bash
# Qt's X11 platform plugin needs system libraries that a minimal Linux install may lack (Qt 6.5+
# wants libxcb-cursor0, for one). `make run` calls this before starting the window: it lists
# what the plugin cannot find and, where it can (root with apt-get), installs the Debian/Ubuntu
# packages; otherwise it prints the command. Offscreen use (tests) needs none of this.
set -u
[ "$(uname -s)" = "Linux" ] || exit 0
py="${1:-.venv/bin/python}"
plugin=$("$py" -c 'import pathlib, PySide6; print(pathlib.Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so")' 2>/dev/null)
[ -n "$plugin" ] && [ -f "$plugin" ] || exit 0
missing=$(ldd "$plugin" 2>/dev/null | awk '/not found/ {print $1}')
[ -z "$missing" ] && exit 0
packages="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxcb-xinerama0 libxkbcommon-x11-0 libegl1 libgl1 \
libfontconfig1 libdbus-1-3"
echo "Qt's X11 plugin is missing: $(echo $missing | tr '\n' ' ')"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
else
    echo "Install them with: sudo apt-get install $packages" >&2
fi
exit 0
