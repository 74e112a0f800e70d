#!/usr/bin/env bash
# Install MaxUpload into .venv and start the window in sandbox (demo) mode.
# System packages (apt): the libraries Qt's window plugins need, and Xvfb for a machine
# without a screen, where the window then runs on a virtual screen.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libegl1 libgl1 libopengl0 libfontconfig1 libdbus-1-3 libglib2.0-0 libxkbcommon0
              libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
              libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
              fonts-dejavu-core)
HAS_SCREEN=""
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && HAS_SCREEN=1
[ -z "$HAS_SCREEN" ] && APT_PACKAGES+=(xvfb xauth)
source scripts/setup-lib.sh
apt_install_missing "${APT_PACKAGES[@]}"
venv_install ""

if [ -n "$HAS_SCREEN" ]; then
  exec .venv/bin/maxupload --sandbox "$@"
fi
echo "No screen on this computer: MaxUpload's window runs on a virtual screen (Xvfb)."
echo "Stop it with Ctrl+C. On a desktop the same command opens the window for you;"
echo "'.venv/bin/maxupload sandbox' starts the demo API for the command line instead."
exec xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/maxupload --sandbox "$@"
