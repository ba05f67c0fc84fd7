#!/usr/bin/env bash
# build-desktop.sh builds the desktop app from a clean clone: the frontend
# (npm ci, npm run build into frontend/dist) and the Go binary that embeds
# it, into build/bin/qrlogin, or into the path given as $1.
#
# Needs Go, Node 20 with npm, gcc, and libgtk-3-dev libwebkit2gtk-4.0-dev.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/build/bin/qrlogin}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

cd "$root/frontend"
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent

cd "$root"
go build -tags desktop,production -ldflags "-s -w" -o "$out" .
echo "built $out"
