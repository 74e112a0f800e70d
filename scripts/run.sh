#!/usr/bin/env bash
# Install MaxUpload into .venv and start the window in sandbox (demo) mode.
# System packages (apt): the libraries Qt's window plugins need, and Xvfb for a machine
# without a screen, where the window then runs on a virtual screen.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup-lib.sh
APT_PACKAGES=("${BASE_APT_PACKAGES[@]}" "${QT_APT_PACKAGES[@]}")
HAS_SCREEN=""
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && HAS_SCREEN=1
[ -z "$HAS_SCREEN" ] && APT_PACKAGES+=(xvfb x11-utils)
apt_install_missing "${APT_PACKAGES[@]}"
venv_install ""

if [ -n "$HAS_SCREEN" ]; then
  exec .venv/bin/maxupload --sandbox "$@"
fi
echo "No screen on this computer: MaxUpload's window runs on a virtual screen (Xvfb)."
echo "Stop it with Ctrl+C. On a desktop the same command opens the window for you;"
echo "'.venv/bin/maxupload sandbox' starts the demo API for the command line instead."
exec bash scripts/headless.sh .venv/bin/maxupload --sandbox "$@"
