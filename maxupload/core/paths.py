"""Where MaxUpload keeps its files: the platform's per-user folders (platformdirs).

``MAXUPLOAD_HOME`` puts all four under one folder (portable installs, tests).
"""

from __future__ import annotations

import os
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
