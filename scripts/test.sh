#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them all.
# System packages (apt): a private D-Bus session with gnome-keyring for the real OS keyring,
# secret-tool to look inside it, and the libraries Qt needs to run offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup-lib.sh
APT_PACKAGES=(dbus dbus-x11 gnome-keyring libsecret-tools "${BASE_APT_PACKAGES[@]}"
              "${QT_APT_PACKAGES[@]}")
apt_install_missing "${APT_PACKAGES[@]}"
venv_install test

# A keyring with a fresh data folder: one left by an earlier run under another password stays locked.
KEYRING_HOME=$(mktemp -d)
trap 'rm -rf "$KEYRING_HOME"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
export MAXUPLOAD_TEST_KEYRING_HOME="$KEYRING_HOME"
export QT_QPA_PLATFORM=offscreen
# Not exec: the EXIT trap above must still run to remove the keyring folder.
set +e
dbus-run-session -- env XDG_DATA_HOME="$KEYRING_HOME/data" sh -c '
  mkdir -p "$XDG_DATA_HOME"
  eval "$(printf "maxupload-test" | gnome-keyring-daemon --unlock --components=secrets | sed "s/^/export /")"
  exec .venv/bin/python -m pytest "$@"
' sh "$@"
exit $?
