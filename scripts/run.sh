#!/usr/bin/env bash
# Install MaxUpload into .venv and start it in sandbox (demo) mode.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
exec .venv/bin/maxupload --sandbox "$@"
