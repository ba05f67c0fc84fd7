#!/usr/bin/env bash
# install.sh installs the built app for one user (or under PREFIX, $1):
# the binary, the desktop entry and the icon, so that it shows in the
# desktop's app menu. Run make desktop first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${1:-$HOME/.local}"
bin="$here/../bin/qrlogin"
[ -x "$bin" ] || { echo "install.sh: $bin is missing: run make desktop first" >&2; exit 1; }

install -Dm755 "$bin" "$prefix/bin/qrlogin"
install -Dm644 "$here/qrlogin.desktop" "$prefix/share/applications/qrlogin.desktop"
install -Dm644 "$here/../appicon.png" "$prefix/share/icons/hicolor/512x512/apps/qrlogin.png"
echo "installed qrlogin under $prefix"
