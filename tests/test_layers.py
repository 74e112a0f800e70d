"""The core never imports Qt: checked in a fresh interpreter so nothing else has loaded it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import maxupload.core

ROOT = Path(__file__).resolve().parents[1]


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


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(tool), "--no-cache", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_import_contracts_hold() -> None:
    """pyproject's import-linter contracts: core alone, its parts layered, gui and commands
    apart, sandbox apart."""
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _reported_broken(tmp_path: Path, contract: str) -> bool:
    """Whether lint-imports reports ``contract`` (one TOML contract table) broken."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["maxupload"]\n\n'
        "[[tool.importlinter.contracts]]\n" + contract
    )
    result = _lint_imports("--config", str(config))
    return result.returncode != 0 and "BROKEN" in result.stdout


def test_import_contracts_see_the_real_graph(tmp_path: Path) -> None:
    """A contract the tree breaks on purpose is reported broken: the check is not vacuous."""
    assert _reported_broken(
        tmp_path,
        'name = "gui without core (false on purpose)"\ntype = "forbidden"\n'
        'source_modules = ["maxupload.gui"]\nforbidden_modules = ["maxupload.core"]\n',
    )


def test_core_layers_contract_sees_the_real_graph(tmp_path: Path) -> None:
    """The core's parts turned upside down are reported broken: the layers are real imports."""
    assert _reported_broken(
        tmp_path,
        'name = "queue above engine (false on purpose)"\ntype = "layers"\n'
        'layers = ["maxupload.core.api", "maxupload.core.queue", "maxupload.core.engine"]\n',
    )
