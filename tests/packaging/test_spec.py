"""The PyInstaller spec, run for Linux, Windows and macOS without building (spec_dry_run.py).

Only Linux builds here; these tests at least execute the Windows and macOS branches and check
that all three take the name and version from the package, bundle what the frozen app needs
and leave out what it never uses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import maxupload

HERE = Path(__file__).resolve().parent


def dry_run(platform: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"spec-{platform}.json"
    result = subprocess.run(
        [sys.executable, str(HERE / "spec_dry_run.py"), platform, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def steps(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c["kwargs"] for c in data["calls"] if c["kind"] == kind]


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_every_system_bundles_what_the_frozen_app_needs(platform: str, tmp_path: Path) -> None:
    data = dry_run(platform, tmp_path)
    (analysis,) = steps(data, "Analysis")
    hidden = set(analysis["hiddenimports"])
    # The CLI loads subcommands by name; keyring finds backends by entry point.
    assert {"maxupload.cli", "maxupload.commands.upload", "maxupload.commands.sandbox"} <= hidden
    assert "keyring.backends.SecretService" in hidden
    assert "pillow_heif" in hidden
    assert "zxingcpp" in hidden  # the patient-label check and its self-test line
    assert {"pyvips", "_libvips"} <= hidden  # PNG screenshots' decode and shrink (lazy import)
    targets = {Path(dest).as_posix() for _src, dest in analysis["datas"]}
    assert "resources" in targets
    assert "certifi" in targets
    assert any(t.startswith("keyring-") or "keyring" in t for t in targets)
    excludes = set(analysis["excludes"])
    for unused in (
        "PySide6.QtWebEngineCore",
        "PySide6.QtQml",
        "PySide6.QtQuick",
        "PySide6.Qt3DCore",
        "PySide6.QtMultimedia",
        "PySide6.QtNetwork",
        "tkinter",
    ):
        assert unused in excludes
    for used in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"):
        assert used not in excludes
    (collect,) = steps(data, "COLLECT")
    assert collect["name"] == maxupload.APP_NAME
    # Qt's translations, QML, SQL drivers, the GTK theme and Quick go; xcb and Widgets stay.
    assert data["kept_datas"] == []
    assert data["kept_binaries"] == [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
    ]


def test_linux_has_one_console_executable(tmp_path: Path) -> None:
    data = dry_run("linux", tmp_path)
    (exe,) = steps(data, "EXE")
    assert exe["name"] == "maxupload"
    assert exe["console"] is True
    assert steps(data, "BUNDLE") == []


def test_windows_has_a_windowed_app_and_a_console_twin_with_icon_and_version(
    tmp_path: Path,
) -> None:
    data = dry_run("win32", tmp_path)
    exes = {e["name"]: e for e in steps(data, "EXE")}
    assert set(exes) == {"MaxUpload", "maxupload-cli"}
    assert exes["MaxUpload"]["console"] is False
    assert exes["maxupload-cli"]["console"] is True
    for exe in exes.values():
        assert exe["icon"].endswith("maxupload.ico")
        assert Path(exe["icon"]).is_file()
        assert maxupload.__version__ in json.dumps(exe["version"])


def test_macos_app_has_info_plist_from_the_package(tmp_path: Path) -> None:
    data = dry_run("darwin", tmp_path)
    (bundle,) = steps(data, "BUNDLE")
    assert bundle["name"] == "MaxUpload.app"
    assert bundle["bundle_identifier"] == "ai.maxcare.maxupload"
    assert bundle["version"] == maxupload.__version__
    plist = bundle["info_plist"]
    assert plist["CFBundleShortVersionString"] == maxupload.__version__
    assert plist["NSHighResolutionCapable"] is True
    assert plist["LSMinimumSystemVersion"] == "13.0"
    (exe,) = steps(data, "EXE")
    assert exe["console"] is False
