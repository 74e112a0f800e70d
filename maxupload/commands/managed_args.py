"""The settings a command runs with: the managed file's, then the user's, then the flags.

A flag that would change a value the managed file locks is refused with the file's name
(``LockedSetting``); ``maxupload.cli`` prints it and exits with 2, like a damaged managed file.
"""

from __future__ import annotations

import argparse

from maxupload.core.config.managed import check_overrides, load_effective
from maxupload.core.config.settings import Settings


def effective_settings(args: argparse.Namespace) -> Settings:
    """The effective settings; raises ``LockedSetting`` for a flag against a locked value."""
    settings, managed = load_effective()
    base_flag = "--base-url" if getattr(args, "base_url", None) else "--env"
    check_overrides(
        managed,
        {
            "org_id": ("--org", getattr(args, "org", None)),
            "base_url": (base_flag, getattr(args, "base_url", None) or getattr(args, "env", None)),
            "preset": ("--preset", getattr(args, "preset", None)),
        },
    )
    return settings
