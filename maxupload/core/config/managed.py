"""Settings managed by the clinic's IT: a system-wide TOML file read before the user's settings.

Where: Linux ``/etc/maxupload/config.toml``, Windows ``%ProgramData%\\MaxUpload\\config.toml``,
macOS ``/Library/Application Support/MaxUpload/config.toml``; ``MAXUPLOAD_MANAGED_CONFIG`` names
another file (portable installs, tests). Example::

    base_url = "production"        # or "staging", or an https URL
    org_id = "org_123"
    preset = "standard"
    confirm_idle_minutes = 5
    history_retention_days = 365
    locked = ["base_url", "org_id"]

An unlocked value is where a new user starts (their own saved choice wins); a locked value
always wins, over the user's file and over command-line flags. A file that cannot be read or
understood is an error naming it: MaxUpload never falls back to guesses about a clinic's setup.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maxupload.core.config.settings import (
    _CHECKS,
    Settings,
    SettingsError,
    load_settings,
    settings_path,
)
from maxupload.core.errors import MaxUploadError

ENV_VAR = "MAXUPLOAD_MANAGED_CONFIG"


def _check_whole(name: str, low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{name} must be a whole number")
        if not low <= value <= high:
            raise SettingsError(f"{name} must be {low} to {high}")
        return value

    return check


#: Checks for keys the user's settings file may not know (yet); the settings' own check wins.
def _check_idle_minutes(value: Any) -> int:
    """Whole minutes; where the user's settings keep the idle time in seconds, their own
    check of ``minutes * 60`` applies too (one rule for both files)."""
    minutes = _check_whole("confirm_idle_minutes", 1, 24 * 60)(value)
    seconds_check = _CHECKS.get("confirm_idle_seconds")
    if seconds_check is not None:
        seconds_check(minutes * 60)
    return minutes


_EXTRA_CHECKS: dict[str, Callable[[Any], Any]] = {
    "confirm_idle_minutes": _check_idle_minutes,
}

#: Managed names that the user's settings hold under another name and unit.
_SETTINGS_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "confirm_idle_minutes": ("confirm_idle_seconds", lambda minutes: int(minutes) * 60),
}


def settings_field(name: str, value: Any) -> tuple[str, Any]:
    """The ``Settings`` attribute a managed value goes to, and the value in its unit."""
    attr, convert = _SETTINGS_FIELDS.get(name, (name, lambda v: v))
    return attr, convert(value)


#: What a managed file may set (and lock).
MANAGED_KEYS = (
    "base_url",
    "org_id",
    "preset",
    "confirm_idle_minutes",
    "history_retention_days",
)

#: How each key is named to a person (the dialog, the command line's messages).
KEY_LABELS = {
    "base_url": "environment",
    "org_id": "organization",
    "preset": "default size",
    "confirm_idle_minutes": "idle time for the patient confirmation",
    "history_retention_days": "history retention",
}


class ManagedConfigError(MaxUploadError):
    """The managed settings file exists but cannot be used; the message names the file."""

    default_next_step = (
        "Ask your IT department to fix the file; MaxUpload does not start without it."
    )


class LockedSetting(MaxUploadError):
    """A flag or an edit tried to change a value that the managed file locks."""

    default_next_step = "Leave the option out, or ask your IT department to change the file."


@dataclass(frozen=True)
class ManagedSettings:
    """The values of the managed file (checked), which of them are locked, and the file."""

    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()

    def is_locked(self, name: str) -> bool:
        return name in self.locked

    def value(self, name: str, default: Any) -> Any:
        return self.values.get(name, default)

    def lock_message(self, name: str, flag: str | None = None) -> str:
        what = KEY_LABELS.get(name, name)
        head = f"The {what} is set by your IT department in {self.path}"
        return f"{head}; {flag} cannot change it." if flag else f"{head}."


def enforce_locks(settings: Settings, managed: ManagedSettings) -> Settings:
    """``settings`` with every locked value of ``managed`` in (whatever else they came from)."""
    for name in managed.locked:
        attr, value = settings_field(name, managed.values[name])
        if hasattr(settings, attr):
            setattr(settings, attr, value)
    return settings


def default_managed_path() -> Path:
    """The system-wide file of this platform (``MAXUPLOAD_MANAGED_CONFIG`` overrides it)."""
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named)
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA") or r"C:\ProgramData"
        return Path(base) / "MaxUpload" / "config.toml"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/MaxUpload/config.toml")
    return Path("/etc/maxupload/config.toml")


def _check(name: str, value: Any) -> Any:
    check = _CHECKS.get(name) or _EXTRA_CHECKS[name]
    return check(value)


def parse_managed(text: str, path: Path) -> ManagedSettings:
    """The managed settings in ``text``; raises ``ManagedConfigError`` naming ``path``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManagedConfigError(f"The managed settings file {path} is damaged: {exc}.") from exc
    locked_raw = data.pop("locked", [])
    if not isinstance(locked_raw, list) or not all(isinstance(n, str) for n in locked_raw):
        raise ManagedConfigError(
            f"The managed settings file {path}: 'locked' must be a list of setting names."
        )
    unknown = sorted((set(data) | set(locked_raw)) - set(MANAGED_KEYS))
    if unknown:
        raise ManagedConfigError(
            f"The managed settings file {path} has unknown settings: {', '.join(unknown)} "
            f"(known: {', '.join(MANAGED_KEYS)})."
        )
    values: dict[str, Any] = {}
    for name, raw in data.items():
        try:
            values[name] = _check(name, raw)
        except SettingsError as exc:
            raise ManagedConfigError(
                f"The managed settings file {path}: {name} is not usable ({exc})."
            ) from exc
    missing = sorted(set(locked_raw) - set(values))
    if missing:
        raise ManagedConfigError(
            f"The managed settings file {path} locks {', '.join(missing)} without a value."
        )
    return ManagedSettings(path=path, values=values, locked=frozenset(locked_raw))


def load_managed(path: Path | None = None) -> ManagedSettings:
    """The managed settings, or none when there is no file; a bad file raises, naming it."""
    file = path or default_managed_path()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return ManagedSettings(path=file)
    except OSError as exc:
        raise ManagedConfigError(
            f"The managed settings file {file} cannot be read ({exc.strerror or exc})."
        ) from exc
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Notepad) is fine
    except UnicodeDecodeError as exc:
        raise ManagedConfigError(f"The managed settings file {file} is not UTF-8 text.") from exc
    return parse_managed(text, file)


def _user_keys(path: Path) -> set[str]:
    """The names the user's settings file holds (empty when it is missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data) if isinstance(data, dict) else set()


def apply_managed(settings: Settings, managed: ManagedSettings, user_keys: set[str]) -> Settings:
    """``settings`` with the managed values in: locked ones always, others where the user's
    file has no value of its own. Keys ``Settings`` does not hold stay in ``managed``."""
    for name, raw in managed.values.items():
        attr, value = settings_field(name, raw)
        if hasattr(settings, attr) and attr not in user_keys:
            setattr(settings, attr, value)
    return enforce_locks(settings, managed)


def load_effective(
    settings_file: Path | None = None, managed_file: Path | None = None
) -> tuple[Settings, ManagedSettings]:
    """The settings MaxUpload runs with (managed > user > defaults) and the managed part."""
    managed = load_managed(managed_file)
    file = settings_file or settings_path()
    settings = apply_managed(load_settings(file), managed, _user_keys(file))
    return settings, managed


def check_overrides(managed: ManagedSettings, wanted: Mapping[str, tuple[str, Any]]) -> None:
    """Refuse a flag that would change a locked value: ``wanted`` maps a setting to
    (flag, value given or None). The same value as the managed one is allowed."""
    for name, (flag, value) in wanted.items():
        if value is None or not managed.is_locked(name):
            continue
        try:
            same = _check(name, value) == managed.values[name]
        except SettingsError:
            same = False
        if not same:
            raise LockedSetting(managed.lock_message(name, flag))
