"""``xdg_trash``: the system trash of this test, under a temporary ``XDG_DATA_HOME``.

send2trash reads ``XDG_DATA_HOME`` when it is imported, so its Linux module is loaded again
with the test's folder, and again after the test with the environment restored.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def xdg_trash(tmp_path: Path) -> Iterator[Path]:
    import send2trash.plat_other as xdg

    data = tmp_path / "xdg-data"
    data.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(data))
        importlib.reload(xdg)
        yield data / "Trash"
    importlib.reload(xdg)


def trashed_names(trash: Path) -> list[str]:
    """File names in a trash folder, sorted."""
    files = trash / "files"
    return sorted(p.name for p in files.iterdir()) if files.exists() else []
