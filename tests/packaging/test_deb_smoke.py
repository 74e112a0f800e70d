"""The built .deb, end to end: ``packaging/linux/smoke.sh`` on the package named by MAXUPLOAD_DEB.

Building takes minutes, so this runs only when a package is given:
``MAXUPLOAD_DEB=dist/maxupload_0.1.0_amd64.deb bash scripts/test.sh tests/packaging``.
The smoke script starts its own private D-Bus session with gnome-keyring.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEB = os.environ.get("MAXUPLOAD_DEB", "")

pytestmark = pytest.mark.skipif(
    not DEB, reason="set MAXUPLOAD_DEB to a built .deb (bash packaging/linux/build.sh) to run"
)


@pytest.mark.timeout(600)
def test_deb_passes_self_test_and_uploads_through_its_sandbox(tmp_path: Path) -> None:
    deb = Path(DEB).resolve()
    assert deb.is_file(), f"MAXUPLOAD_DEB={DEB} is not a file"
    env = {k: v for k, v in os.environ.items() if k != "MAXUPLOAD_API_KEY"}
    env["SKIP_APT"] = "1"
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "linux" / "smoke.sh"), str(deb)],
        capture_output=True,
        text=True,
        timeout=590,
        env=env,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "[ok  ] Keyring: Secret Service" in out
    assert any("[ok  ] Images:" in ln and "HEIC" in ln for ln in out.splitlines()), out
    assert "frozen bundle" in out
    assert "sandbox has it: photo-" in out
    assert "Smoke test passed" in out
