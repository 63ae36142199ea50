#!/bin/sh
# Register ConsentDesk with the desktop (application menu entry and icon) from wherever this
# folder was unpacked, e.g. /opt/ConsentDesk-0.1.0 or ~/.local/opt/ConsentDesk-0.1.0.
#
#   ./install-desktop-entry.sh            for the current user (~/.local/share)
#   sudo ./install-desktop-entry.sh --system   for everyone (/usr/local/share)
#   ./install-desktop-entry.sh --remove   take the entry away again (the vault is never touched)
#
# The workstation's data (vault, backups) lives in the user's data folder, never here, so an
# upgrade is: unpack the new version next to the old one, run this script from it, delete the
# old folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
share="${XDG_DATA_HOME:-$HOME/.local/share}"
mode=user
for arg in "$@"; do
    case "$arg" in
        --system) share=/usr/local/share; mode=system ;;
        --remove) mode="remove-$mode" ;;
        *) echo "usage: $0 [--system] [--remove]" >&2; exit 2 ;;
    esac
done
apps="$share/applications"
icons="$share/icons/hicolor/256x256/apps"
case "$mode" in
    remove-*)
        rm -f "$apps/consentdesk.desktop" "$icons/consentdesk.png"
        echo "removed the ConsentDesk menu entry from $apps"
        exit 0 ;;
esac
mkdir -p "$apps" "$icons"
cp "$here/consentdesk.png" "$icons/consentdesk.png"
sed -e "s|^Exec=.*|Exec=\"$here/ConsentDesk\"|" -e "s|^TryExec=.*||" \
    "$here/consentdesk.desktop" > "$apps/consentdesk.desktop"
chmod 644 "$apps/consentdesk.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 \
    && gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true
echo "ConsentDesk added to the application menu ($apps/consentdesk.desktop)"
