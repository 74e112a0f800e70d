"""Where MaxUpload keeps its files: the platform's per-user folders (platformdirs).

``MAXUPLOAD_HOME`` puts all four under one folder (portable installs, tests).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from maxupload import APP_NAME


@dataclass(frozen=True)
class AppPaths:
    config: Path
    data: Path
    cache: Path
    log: Path

    def all(self) -> tuple[Path, ...]:
        return (self.config, self.data, self.cache, self.log)

    def ensure(self) -> AppPaths:
        for folder in self.all():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def app_paths() -> AppPaths:
    home = os.environ.get("MAXUPLOAD_HOME")
    if home:
        root = Path(home)
        return AppPaths(root / "config", root / "data", root / "cache", root / "log")
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return AppPaths(
        Path(dirs.user_config_dir),
        Path(dirs.user_data_dir),
        Path(dirs.user_cache_dir),
        Path(dirs.user_log_dir),
    )


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``data`` atomically and owner-only: a temp file beside it, fsync, ``os.replace``.

    A crash leaves the old file or the new one, never half of either; text is UTF-8.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            if os.name == "posix":
                os.fchmod(handle.fileno(), 0o600)
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
