#!/usr/bin/env bash
# Build MaxUpload for macOS: dist/MaxUpload.app (PyInstaller BUNDLE with Info.plist from the spec)
# and dist/MaxUpload-<version>.dmg (drag-to-Applications disk image), self-test the app, print
# the sizes. Same spec and checks as the Linux build.
#
#     bash packaging/macos/build.sh
#
# Environment: PYTHON (interpreter for a new .venv, default python3), SKIP_SELF_TEST=1,
# MACOS_SIGN_IDENTITY ("Developer ID Application: ...") makes the spec sign with the hardened
# runtime instead of ad hoc, and signs the DMG (notarize it afterwards with notarytool).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
[ "$(uname -s)" = Darwin ] || { echo "error: this script runs on macOS" >&2; exit 2; }

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[package]'
VERSION=$(.venv/bin/python -c 'import maxupload; print(maxupload.__version__)')

# --- the app icon: .icns from the committed PNGs (the spec picks up build/macos/MaxUpload.icns)
ICONSET=build/macos/MaxUpload.iconset
rm -rf build/macos && mkdir -p "$ICONSET"
for size in 16 32 128 256 512; do
  cp "resources/icons/${size}x${size}/maxupload.png" "$ICONSET/icon_${size}x${size}.png"
  double=$((size * 2))
  if [ -f "resources/icons/${double}x${double}/maxupload.png" ]; then
    cp "resources/icons/${double}x${double}/maxupload.png" "$ICONSET/icon_${size}x${size}@2x.png"
  fi
done
iconutil -c icns "$ICONSET" -o build/macos/MaxUpload.icns

# --- the app bundle ----------------------------------------------------------------------------
echo "Building the MaxUpload $VERSION app (PyInstaller, takes a few minutes)..."
rm -rf dist/MaxUpload dist/MaxUpload.app
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/maxupload.spec
APP=dist/MaxUpload.app
[ -x "$APP/Contents/MacOS/MaxUpload" ] || { echo "error: $APP was not built" >&2; exit 1; }
/usr/libexec/PlistBuddy -c 'Print :CFBundleShortVersionString' "$APP/Contents/Info.plist" \
  | grep -qx "$VERSION" || { echo "error: Info.plist does not carry version $VERSION" >&2; exit 1; }

# The spec signs (MACOS_SIGN_IDENTITY, hardened runtime; otherwise ad hoc): check it holds.
codesign --verify --deep --strict "$APP"

if [ "${SKIP_SELF_TEST:-0}" != 1 ]; then
  QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/MaxUpload" --self-test
fi

# --- the disk image ----------------------------------------------------------------------------
DMG="dist/MaxUpload-$VERSION.dmg"
STAGE=build/macos/dmg
rm -rf "$STAGE" "$DMG" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -quiet -volname "MaxUpload $VERSION" -srcfolder "$STAGE" -fs HFS+ \
  -format UDZO -imagekey zlib-level=9 -ov "$DMG"
if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"
fi
hdiutil verify -quiet "$DMG"

human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
APP_BYTES=$(( $(du -sk "$APP" | cut -f1) * 1024 ))
echo
echo "MaxUpload $VERSION built:"
printf '  bundle     %-34s %s (%d files)\n' "$APP" "$(human "$APP_BYTES")" \
  "$(find "$APP" -type f | wc -l | tr -d ' ')"
printf '  installer  %-34s %s\n' "$DMG" "$(human "$(stat -f %z "$DMG")")"
