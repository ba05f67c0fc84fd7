#!/usr/bin/env bash
# Installs what a bare Debian 12 machine lacks to build, run and test
# qrlogin: the GTK/WebKit headers Wails needs, Xvfb and the X/image tools
# the desktop tests use, ffmpeg for camera-clip tests, PostgreSQL for the
# store tests of several nodes on one database, Chromium for the browser
# tests (driven by playwright-core from npm). Go (1.26) and Node 20
# with npm are expected on the machine. Safe to run again: it installs only
# what is missing. Not root and no sudo: it prints the command to run.
set -euo pipefail

packages=(libgtk-3-dev libwebkit2gtk-4.0-dev pkg-config xvfb xauth imagemagick ffmpeg x11-utils xdotool tesseract-ocr dbus-x11 fonts-dejavu-core postgresql-15 chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "qrlogin needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in go node npm; do
  command -v "$tool" >/dev/null || { echo "qrlogin needs $tool on PATH (Go 1.26, Node 20)" >&2; exit 1; }
done
