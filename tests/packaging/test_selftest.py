"""``maxupload --self-test`` run as a process, the way installers and CI run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from maxupload.selftest import _PROBE_SERVICE


def run_self_test(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "MAXUPLOAD_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "maxupload", "--self-test"],
        capture_output=True,
        text=True,
        timeout=90,
        env=environment,
        check=False,
    )


def line(output: str, check: str) -> str:
    """The report line of one check, e.g. ``[ok  ] Images: ...``."""
    found = [ln.strip() for ln in output.splitlines() if f"] {check}:" in ln]
    assert len(found) == 1, f"no single '{check}' line in:\n{output}"
    return found[0]


@pytest.mark.keyring
def test_self_test_passes_with_secret_service_and_heic(app_home: Path, real_keyring: Any) -> None:
    result = run_self_test(app_home)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert line(out, "Keyring").startswith("[ok  ] Keyring: Secret Service")
    assert "keyring.backends.SecretService.Keyring" in line(out, "Keyring")
    images = line(out, "Images")
    assert images.startswith("[ok  ]")
    for fmt in ("JPEG", "PNG", "HEIC", "WebP"):
        assert fmt in images
    assert line(out, "libvips").startswith("[ok  ] libvips: libvips 8.")
    assert line(out, "Labels").startswith("[ok  ] Labels: zxing-cpp ")
    assert "reads a generated label" in line(out, "Labels")
    assert line(out, "TLS").startswith("[ok  ] TLS:")
    assert line(out, "Platform") == "[ok  ] Platform: window-system plugins load: xcb, wayland"
    assert line(out, "Window").startswith("[ok  ] Window:")
    assert "demo sandbox" in line(out, "Window")
    assert out.rstrip().endswith("Self-test passed.")
    # The throwaway secret it proved the keyring with is gone again.
    assert "probe-" not in real_keyring.search(_PROBE_SERVICE)


@pytest.mark.parametrize(
    "backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"]
)
def test_self_test_fails_without_a_secure_keyring(app_home: Path, backend: str) -> None:
    result = run_self_test(app_home, PYTHON_KEYRING_BACKEND=backend)
    assert result.returncode == 1, result.stdout + result.stderr
    keyring_line = line(result.stdout, "Keyring")
    assert keyring_line.startswith("[FAIL] Keyring: no secure keyring backend")
    assert backend in keyring_line
    assert "next step: install and unlock the system keyring" in result.stdout
    last = result.stdout.rstrip().splitlines()[-1]
    assert last.startswith("Self-test FAILED: Keyring: no secure keyring backend")
    # The other checks still ran and passed: one broken part does not hide the rest.
    assert line(result.stdout, "Images").startswith("[ok  ]")


def test_the_libvips_line_fails_where_libvips_cannot_load() -> None:
    """A bundle that lost pyvips or its library still prepares PNGs (through Pillow), so only
    the self-test can tell: it fails with the reason."""
    script = (
        "import sys\n"
        "sys.modules['pyvips'] = None  # importing it now fails, as in a bundle without it\n"
        "from maxupload.selftest import check_libvips\n"
        "result = check_libvips()\n"
        "print(result.ok, result.detail, '|', result.next_step)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    expected = "False libvips cannot be loaded (ModuleNotFoundError:"
    assert done.stdout.startswith(expected), done.stdout
    assert "pyvips-binary" in done.stdout
