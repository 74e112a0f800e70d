"""Run ``packaging/maxupload.spec`` for another system without building; record what it asks for.

``python tests/packaging/spec_dry_run.py linux|win32|darwin OUT.json`` executes the spec with
recording stand-ins for PyInstaller's build steps (Analysis, PYZ, EXE, COLLECT, BUNDLE) and
``sys.platform`` set to the given system, then writes their arguments to OUT.json. The Windows
and macOS branches cannot build on Linux; this at least runs them. A separate process, so the
patched platform never leaks into the test run.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BINARIES = [
    ("PySide6/Qt/plugins/platforms/libqxcb.so", "/nonexistent/libqxcb.so", "BINARY"),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/nonexistent/libqgtk3.so", "BINARY"),
    ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", "/nonexistent/libqsqlite.so", "BINARY"),
    ("PySide6/Qt/lib/libQt6Quick.so.6", "/nonexistent/libQt6Quick.so.6", "BINARY"),
    ("PySide6/Qt/lib/libQt6Widgets.so.6", "/nonexistent/libQt6Widgets.so.6", "BINARY"),
]
SAMPLE_DATAS = [
    ("PySide6/Qt/translations/qtbase_de.qm", "/nonexistent/qtbase_de.qm", "DATA"),
    ("PySide6/Qt/qml/QtQuick/qmldir", "/nonexistent/qmldir", "DATA"),
]

calls: list[dict[str, Any]] = []


def recorder(kind: str) -> type:
    class Step:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.scripts: list[Any] = []
            self.pure: list[Any] = []
            self.binaries = list(SAMPLE_BINARIES)
            self.datas = list(SAMPLE_DATAS)
            calls.append({"kind": kind, "nargs": len(args), "kwargs": kwargs, "obj": self})

    Step.__name__ = kind
    return Step


def plain(value: Any) -> Any:
    """JSON-friendly copy of the recorded arguments."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def main() -> int:
    platform = sys.argv[1]
    # Imports that must happen on the real platform before sys.platform changes.
    import urllib.request  # noqa: F401

    import PyInstaller.depend.bindepend as bindepend
    import PyInstaller.depend.imphookapi
    import PyInstaller.utils.hooks  # noqa: F401
    import PyInstaller.utils.win32 as win32

    # Windows version resources need pefile (Windows only): record them instead.
    versioninfo = types.ModuleType("PyInstaller.utils.win32.versioninfo")
    for name in (
        "StringStruct",
        "VSVersionInfo",
        "FixedFileInfo",
        "StringFileInfo",
        "StringTable",
        "VarFileInfo",
        "VarStruct",
    ):
        setattr(versioninfo, name, lambda *a, _n=name, **k: {"type": _n, "args": a, **k})
    sys.modules["PyInstaller.utils.win32.versioninfo"] = versioninfo
    win32.versioninfo = versioninfo  # type: ignore[attr-defined]
    # The sample libraries do not exist: nothing links to anything.
    bindepend.get_imports = lambda *a, **k: set()

    spec = ROOT / "packaging" / "maxupload.spec"
    namespace: dict[str, Any] = {
        "SPECPATH": str(spec.parent),
        "__file__": str(spec),
        **{k: recorder(k) for k in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
    }
    real_platform = sys.platform
    sys.platform = platform
    try:
        exec(compile(spec.read_text(), str(spec), "exec"), namespace)
    finally:
        sys.platform = real_platform
    analysis = namespace["a"]
    out = {
        "calls": [{"kind": c["kind"], "kwargs": plain(c["kwargs"])} for c in calls],
        "kept_binaries": [b[0] for b in analysis.binaries],
        "kept_datas": [d[0] for d in analysis.datas],
    }
    Path(sys.argv[2]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
