"""The sandbox ships with the standard library and Pillow only: no Qt, no HTTP client."""

from __future__ import annotations

import subprocess
import sys


def test_sandbox_imports_without_qt_or_httpx() -> None:
    code = (
        "import sys\n"
        "import maxupload.sandbox, maxupload.commands.sandbox\n"
        "bad = sorted(m for m, module in sys.modules.items() if module is not None "
        "and m.split('.')[0] in ('PySide6', 'shiboken6', 'httpx', 'httpcore'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
