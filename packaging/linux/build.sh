#!/usr/bin/env bash
# Build MaxUpload for Linux from a clean clone: the one-folder bundle (dist/MaxUpload/) and a
# Debian package (dist/maxupload_<version>_<arch>.deb), then print their sizes.
#
#     bash packaging/linux/build.sh            # build
#     bash packaging/linux/smoke.sh            # then prove the .deb works (self-test + upload)
#
# Environment: PYTHON (interpreter for a new .venv, default python3), MAXUPLOAD_LEAN=0 (build
# without trimming Qt, to measure what trimming saves), SKIP_APT=1 (do not touch apt).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

# --- tools and the libraries PyInstaller must find to bundle Qt -------------------------------
# (Qt's X11 and Wayland plugins link to these; the self-test loads both plugins.)
APT_PACKAGES=(binutils dpkg-dev python3-venv libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0
              libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
              libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
              libwayland-client0 libwayland-cursor0 libwayland-egl1)
source scripts/setup-lib.sh
[ "${SKIP_APT:-0}" = 1 ] || apt_install_missing "${APT_PACKAGES[@]}"
venv_install package

VERSION=$(.venv/bin/python -c 'import maxupload; print(maxupload.__version__)')
# PEP 440 pre-releases sort before the release in Debian only with a tilde: 1.0rc1 -> 1.0~rc1.
DEB_VERSION=$(printf '%s' "$VERSION" | sed -E 's/\.?(dev|a|b|rc)([0-9]*)/~\1\2/')
ARCH=$(dpkg --print-architecture)
DEB="dist/maxupload_${DEB_VERSION}_${ARCH}.deb"

# --- the one-folder bundle ---------------------------------------------------------------------
echo "Building the MaxUpload $VERSION bundle (PyInstaller, takes a few minutes)..."
rm -rf dist/MaxUpload "$DEB"
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/maxupload.spec
BUNDLE=dist/MaxUpload
[ -x "$BUNDLE/maxupload" ] || { echo "error: $BUNDLE/maxupload was not built" >&2; exit 1; }

# Python's own libraries may carry debug symbols (pyenv, CI); strip only those, nothing that
# auditwheel patched (Qt, Pillow, pillow-heif ship stripped already).
find "$BUNDLE/_internal" -maxdepth 1 -name 'libpython3*.so*' -type f \
  -exec strip --strip-debug {} +
find "$BUNDLE/_internal" -path '*/lib-dynload/*.so' -type f -exec strip --strip-debug {} +

# --- the Debian package ------------------------------------------------------------------------
STAGE=build/deb/root
rm -rf build/deb
umask 022
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
         "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/maxupload"
cp -a "$BUNDLE" "$STAGE/opt/maxupload"
# The launcher on PATH: a relative symlink, so the package also runs from an unpacked tree.
ln -s ../../opt/maxupload/maxupload "$STAGE/usr/bin/maxupload"
install -m 0644 resources/maxupload.desktop "$STAGE/usr/share/applications/maxupload.desktop"
install -m 0644 resources/icons/maxupload.svg \
  "$STAGE/usr/share/icons/hicolor/scalable/apps/maxupload.svg"
for png in resources/icons/*x*/maxupload.png; do
  size=$(basename "$(dirname "$png")")
  install -D -m 0644 "$png" "$STAGE/usr/share/icons/hicolor/$size/apps/maxupload.png"
done
cat > "$STAGE/usr/share/doc/maxupload/copyright" <<EOF
MaxUpload $VERSION
Copyright Max AI. All rights reserved.
Bundled third-party components (Python, Qt for Python, Pillow, pillow-heif, httpx, keyring and
their dependencies) keep their own licenses; see /opt/maxupload/_internal.
EOF
# An example of the managed settings file IT copies to /etc/maxupload/config.toml.
install -m 0644 packaging/config.example.toml "$STAGE/usr/share/doc/maxupload/config.toml.example"
chmod -R u+rwX,go+rX,go-w "$STAGE"

INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
# The newest glibc symbol version any bundled file needs is the oldest libc6 it runs on.
GLIBC_MIN=$(find "$BUNDLE" -type f \( -name '*.so*' -o -name maxupload \) \
  -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' \
  | sort -u -V | tail -n1)
# System libraries Qt loads that the bundle leaves to the distribution (X11/xcb, Wayland, EGL/GL,
# fonts, D-Bus), plus the Secret Service provider for the API key.
DEPENDS="libc6 (>= ${GLIBC_MIN:-2.31}), libegl1, libgl1, libopengl0, libfontconfig1, libfreetype6, \
libdbus-1-3, libglib2.0-0t64 | libglib2.0-0, libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcb1, \
libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, \
libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0, libxcb-xkb1, \
libwayland-client0, libwayland-cursor0, libwayland-egl1"
cat > "$STAGE/DEBIAN/control" <<EOF
Package: maxupload
Version: $DEB_VERSION
Architecture: $ARCH
Maintainer: MaxUpload <support@maxcare.ai>
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Recommends: gnome-keyring | kwalletmanager, xdg-desktop-portal
Section: science
Priority: optional
Homepage: https://docs.maxcare.ai
Description: attach clinical photos to patients' visit notes in the EHR
 MaxUpload sends clinical photos to the right patient's visit note through
 the Max AI Public API: drag photos in, check the patient and note, and
 follow each photo until the EHR has it. The API key stays in the system
 keyring (Secret Service).
EOF
# Refresh the menu and icon caches when the tools are there (they are optional).
cat > "$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
EOF
cat > "$STAGE/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
EOF
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"

dpkg-deb --build --root-owner-group -Zxz "$STAGE" "$DEB" >/dev/null
dpkg-deb --info "$DEB" >/dev/null

human() { numfmt --to=iec-i --suffix=B "$1"; }
BUNDLE_BYTES=$(du -sb "$BUNDLE" | cut -f1)
DEB_BYTES=$(stat -c %s "$DEB")
echo
echo "MaxUpload $VERSION built:"
printf '  bundle     %-40s %s (%d files)\n' "$BUNDLE/" "$(human "$BUNDLE_BYTES")" \
  "$(find "$BUNDLE" -type f | wc -l)"
printf '  installer  %-40s %s\n' "$DEB" "$(human "$DEB_BYTES")"
echo "Check it with: bash packaging/linux/smoke.sh $DEB"
