# Shared steps of the run, test and packaging scripts (sourced, not run). Call from the
# repository root.

# What creating the venv needs (Debian and Ubuntu ship venv separately from python3).
BASE_APT_PACKAGES=(python3-venv)

# The libraries Qt's window plugins need (offscreen and xcb, which the self-test loads).
QT_APT_PACKAGES=(libegl1 libgl1 libopengl0 libfontconfig1 libdbus-1-3 libglib2.0-0 libxkbcommon0
                 libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
                 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
                 fonts-dejavu-core)

# Install the apt packages among "$@" that are not installed yet (sudo when not root).
apt_install_missing() {
  command -v apt-get >/dev/null && command -v dpkg-query >/dev/null || return 0
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# Create .venv if needed and install MaxUpload into it, editable, with the extras in $1
# (e.g. "test", "package"; empty for none).
venv_install() {
  local spec="."
  [ -n "${1:-}" ] && spec=".[$1]"
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e "$spec"
}
