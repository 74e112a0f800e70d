#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them all.
# System packages (apt): a private D-Bus session with gnome-keyring for the real OS keyring,
# secret-tool to look inside it, and the libraries Qt needs to run offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(dbus dbus-x11 gnome-keyring libsecret-tools libegl1 libgl1 libxkbcommon0
              libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

# A keyring with a fresh data folder: one left by an earlier run under another password stays locked.
KEYRING_HOME=$(mktemp -d)
trap 'rm -rf "$KEYRING_HOME"' EXIT
export MAXUPLOAD_TEST_KEYRING_HOME="$KEYRING_HOME"
export QT_QPA_PLATFORM=offscreen
exec dbus-run-session -- env XDG_DATA_HOME="$KEYRING_HOME/data" sh -c '
  mkdir -p "$XDG_DATA_HOME"
  eval "$(printf "maxupload-test" | gnome-keyring-daemon --unlock --components=secrets | sed "s/^/export /")"
  exec .venv/bin/python -m pytest "$@"
' sh "$@"
