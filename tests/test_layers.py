"""The core never imports Qt: checked in a fresh interpreter so nothing else has loaded it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import maxupload.core


def test_core_imports_without_qt() -> None:
    modules = [m.name for m in pkgutil.walk_packages(maxupload.core.__path__, "maxupload.core.")]
    assert modules, "no core modules found"
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "maxupload", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().startswith("MaxUpload ")
