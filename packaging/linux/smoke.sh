#!/usr/bin/env bash
# Prove a built MaxUpload .deb works on this machine, without installing it system-wide:
#   1. unpack it into a temporary root (dpkg-deb -x) and check its layout (launcher, desktop
#      entry, icons, control fields, every bundled library resolves);
#   2. run the unpacked `maxupload --self-test` offscreen in a private D-Bus session with an
#      unlocked gnome-keyring: it must report the Secret Service backend and HEIC support;
#   3. start the bundled sandbox (`maxupload sandbox`), upload a generated photo with the bundled
#      command line (`maxupload upload`) and check it arrived via GET /_sandbox/uploads;
#   4. open the window (`maxupload --sandbox`) on an Xvfb X server and find it by its title
#      (skipped, with the reason, when this machine lacks a library the package Depends on).
#
#     bash packaging/linux/smoke.sh [path/to/maxupload_<version>_<arch>.deb]
#
# Without a path it uses the newest dist/maxupload_*.deb, building one first if there is none.
# Needs: dpkg-deb, dbus-run-session, gnome-keyring-daemon, xvfb-run, xwininfo (apt packages
# dbus, gnome-keyring, xvfb, xauth, x11-utils; installed when missing unless SKIP_APT=1) and
# the build's .venv (Pillow draws the photo).
set -euo pipefail
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.."
ROOT=$(pwd)

if [ "${MAXUPLOAD_SMOKE_INNER:-}" = 1 ]; then
  # --- inside the private D-Bus session --------------------------------------------------------
  TREE=$1; WORK=$2
  BIN="$TREE/usr/bin/maxupload"
  export QT_QPA_PLATFORM=offscreen MAXUPLOAD_HOME="$WORK/home"
  unset MAXUPLOAD_API_KEY
  eval "$(printf 'maxupload-smoke' | gnome-keyring-daemon --unlock --components=secrets \
          | sed 's/^/export /')"

  echo "== self-test of the unpacked package"
  set +e
  "$BIN" --self-test > "$WORK/selftest.txt" 2>&1
  rc=$?
  set -e
  sed 's/^/   /' "$WORK/selftest.txt"
  [ $rc -eq 0 ] || { echo "FAIL: self-test exited $rc" >&2; exit 1; }
  grep -q '^  \[ok  \] Keyring: Secret Service' "$WORK/selftest.txt" \
    || { echo "FAIL: self-test did not report the Secret Service backend" >&2; exit 1; }
  grep -E '^  \[ok  \] Images: .*HEIC' "$WORK/selftest.txt" >/dev/null \
    || { echo "FAIL: self-test did not report HEIC support" >&2; exit 1; }
  grep -q '^  \[ok  \] Labels: zxing-cpp' "$WORK/selftest.txt" \
    || { echo "FAIL: self-test did not read a patient label (zxing-cpp missing?)" >&2; exit 1; }
  grep -q 'frozen bundle' "$WORK/selftest.txt" \
    || { echo "FAIL: the self-test did not run from the frozen bundle" >&2; exit 1; }

  echo "== bundled sandbox and command-line upload"
  if ! "$BIN" sandbox --help >/dev/null 2>&1 || ! "$BIN" upload --help >/dev/null 2>&1; then
    echo "FAIL: this build has no 'maxupload sandbox' or 'maxupload upload' command" >&2
    exit 1
  fi
  "$SMOKE_PY" "$ROOT/packaging/smoke_upload.py" "$BIN" --work "$WORK/upload"

  echo "== the window on a real X server (Xvfb)"
  if [ -n "${SMOKE_GUI_SKIP:-}" ]; then
    echo "   skipped: $SMOKE_GUI_SKIP"
    exit 0
  fi
  # xvfb-run gives the app its own X server; the app opens its demo window there and we look
  # for it by title in the X window tree, then close it.
  xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    QT_QPA_PLATFORM=xcb MAXUPLOAD_HOME="$2/gui-home" "$1" --sandbox > "$2/gui.log" 2>&1 &
    pid=$!
    title="MaxUpload $3 (demo mode)"
    for _ in $(seq 1 150); do
      if xwininfo -root -tree 2>/dev/null | grep -qF "\"$title\""; then
        echo "   window \"$title\" is up on X11 (xcb platform plugin)"
        kill "$pid"; wait "$pid" 2>/dev/null
        exit 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill "$pid" 2>/dev/null; cat "$2/gui.log" >&2
    echo "FAIL: the window did not appear on the X server" >&2
    exit 1
  ' sh "$BIN" "$WORK" "$SMOKE_VERSION"
  exit 0
fi

# --- outside: find or build the package, unpack it, check its layout -------------------------
source scripts/setup-lib.sh
[ "${SKIP_APT:-0}" = 1 ] || apt_install_missing dbus gnome-keyring xvfb xauth x11-utils

DEB=${1:-}
if [ -z "$DEB" ]; then
  DEB=$(ls -t dist/maxupload_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$DEB" ]; then
    bash packaging/linux/build.sh
    DEB=$(ls -t dist/maxupload_*.deb | head -n1)
  fi
fi
[ -f "$DEB" ] || { echo "error: no such package: $DEB" >&2; exit 2; }
DEB=$(readlink -f "$DEB")
# Python with Pillow to draw the test photo and read JSON (the build's .venv has it).
SMOKE_PY=${SMOKE_PY:-$ROOT/.venv/bin/python}
"$SMOKE_PY" -c 'import PIL' 2>/dev/null \
  || { echo "error: $SMOKE_PY has no Pillow; run packaging/linux/build.sh first" >&2; exit 2; }
export SMOKE_PY

WORK=$(mktemp -d -t maxupload-smoke.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TREE="$WORK/root"
echo "== unpacking $(basename "$DEB") into a temporary root"
dpkg-deb -x "$DEB" "$TREE"

fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(dpkg-deb -f "$DEB" Package)" = maxupload ] || fail "control: Package is not maxupload"
VERSION=$(dpkg-deb -f "$DEB" Version)
dpkg-deb -f "$DEB" Depends | grep -q 'libxkbcommon-x11-0' || fail "control: Depends lacks Qt's libraries"
[ -L "$TREE/usr/bin/maxupload" ] || fail "no launcher /usr/bin/maxupload"
[ -x "$TREE/usr/bin/maxupload" ] || fail "launcher /usr/bin/maxupload does not resolve"
[ -x "$TREE/opt/maxupload/maxupload" ] || fail "no /opt/maxupload/maxupload"
[ -f "$TREE/usr/share/applications/maxupload.desktop" ] || fail "no desktop entry"
grep -q '^Exec=maxupload' "$TREE/usr/share/applications/maxupload.desktop" || fail "desktop Exec"
grep -q '^Icon=maxupload$' "$TREE/usr/share/applications/maxupload.desktop" || fail "desktop Icon"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$TREE/usr/share/applications/maxupload.desktop" || fail "desktop entry invalid"
fi
[ -f "$TREE/usr/share/icons/hicolor/scalable/apps/maxupload.svg" ] || fail "no scalable icon"
for size in 16 24 32 48 64 128 256 512; do
  [ -f "$TREE/usr/share/icons/hicolor/${size}x${size}/apps/maxupload.png" ] || fail "no ${size}px icon"
done
echo "   launcher, desktop entry, icons and control fields are in place (version $VERSION)"
# apt must be able to satisfy Depends here (catches misspelt or renamed package names).
if command -v apt-get >/dev/null && ! apt-get install -s -qq --no-install-recommends "$DEB" \
     > "$WORK/apt-sim.txt" 2>&1; then
  cat "$WORK/apt-sim.txt" >&2
  fail "apt cannot satisfy the package's Depends on this system"
fi
needs=$(awk '/^Inst / && $2 != "maxupload" {print $2}' "$WORK/apt-sim.txt" | tr '\n' ' ')
echo "   apt can install it${needs:+ (it would add: $needs)}"

# Every bundled library must find its dependencies: in the bundle, or on the system through the
# package's Depends. Ones this machine lacks are listed against Depends.
missing_libs=$(find "$TREE/opt/maxupload" -type f \( -name '*.so' -o -name '*.so.*' \) \
  -exec sh -c 'LD_LIBRARY_PATH="$0" ldd "$1" 2>/dev/null' "$TREE/opt/maxupload/_internal" {} \; \
  | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
SMOKE_GUI_SKIP=""
if [ -n "$missing_libs" ]; then
  echo "   not on this machine (the package Depends on them): $missing_libs"
  SMOKE_GUI_SKIP="this machine lacks $missing_libs (apt-get install the package's Depends)"
elif ! command -v xvfb-run >/dev/null || ! command -v xwininfo >/dev/null; then
  SMOKE_GUI_SKIP="xvfb-run or xwininfo missing (apt packages xvfb, x11-utils)"
fi
export SMOKE_GUI_SKIP SMOKE_VERSION="$(dpkg-deb -f "$DEB" Version)"

echo "== running checks in a private D-Bus session with gnome-keyring"
KEYRING_HOME="$WORK/keyring"
mkdir -p "$KEYRING_HOME/data" "$WORK/home"
dbus-run-session -- env XDG_DATA_HOME="$KEYRING_HOME/data" MAXUPLOAD_SMOKE_INNER=1 \
  bash "$SELF" "$TREE" "$WORK" 2> >(grep -v 'Failed to set fd limit' >&2)

echo
printf 'Smoke test passed: %s\n' "$(basename "$DEB")"
printf '  installer  %s\n' "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$DEB")")"
printf '  installed  %s under /opt/maxupload\n' \
  "$(numfmt --to=iec-i --suffix=B "$(du -sb "$TREE/opt/maxupload" | cut -f1)")"
