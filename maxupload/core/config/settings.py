"""The user's settings that are not secret, in a JSON file in the platform's config folder.

Bad or unknown values fall back to defaults with a warning (never a crash). The file is written
atomically (temp file + ``os.replace``) with owner-only permissions, and never holds an API key:
``save_settings`` refuses any value that looks like one.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maxupload.core.api.environments import PRODUCTION_URL, is_loopback_host, resolve_base_url
from maxupload.core.checks.confirmation import DEFAULT_IDLE_SECONDS, idle_problem
from maxupload.core.errors import MaxUploadError
from maxupload.core.system.logsetup import looks_like_secret, redact
from maxupload.core.system.paths import app_paths, write_private

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SETTINGS_FILE_NAME = "settings.json"
DEFAULT_PRESET = "standard"
DEFAULT_CONCURRENCY = 2
MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 4
MAX_RECENT_NOTES = 20
#: How long the upload history keeps a photo's record (a year; the clinic may lock another).
DEFAULT_HISTORY_RETENTION_DAYS = 365
_MAX_ID_LENGTH = 200
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_PRESET_RE = re.compile(r"^(?:[a-z][a-z0-9_-]{0,31}|custom:\d{2,5}:\d{1,3})$")


class SettingsError(ValueError):
    """A value cannot be saved (e.g. it looks like an API key). The message names the field."""


class SettingsDamaged(MaxUploadError):
    """The settings file is damaged: MaxUpload does not guess where to send photos."""


@dataclass(frozen=True)
class RecentNote:
    """A note the user sent photos to, by id only (no patient details in the settings file)."""

    note_id: str
    org_id: str
    base_url: str


@dataclass
class Settings:
    """Everything MaxUpload remembers between runs except the API key (that is in the keyring).

    ``warnings`` lists what was wrong in the file when it was loaded; it is never saved.
    """

    base_url: str = PRODUCTION_URL
    org_id: str = ""
    provider_id: str = ""
    preset: str = DEFAULT_PRESET
    concurrency: int = DEFAULT_CONCURRENCY
    confirm_idle_seconds: int = DEFAULT_IDLE_SECONDS
    recent_notes: list[RecentNote] = field(default_factory=list)
    history_retention_days: int = DEFAULT_HISTORY_RETENTION_DAYS
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)
    #: Why the file could not be used as saved (unreadable, not JSON, a bad server address),
    #: naming the file; empty when it is intact. Never saved.
    damaged: str = field(default="", compare=False, repr=False)

    def add_recent_note(self, note_id: str) -> None:
        """Put a note first in the recent list of the current environment and organization."""
        entry = RecentNote(
            note_id=note_id.strip(), org_id=self.org_id, base_url=resolve_base_url(self.base_url)
        )
        rest = [n for n in self.recent_notes if n != entry]
        self.recent_notes = [entry, *rest][:MAX_RECENT_NOTES]

    def recent_for(self, base_url: str, org_id: str) -> list[str]:
        """Recent note ids of one environment and organization, newest first."""
        url = resolve_base_url(base_url)
        return [n.note_id for n in self.recent_notes if n.base_url == url and n.org_id == org_id]


def settings_path() -> Path:
    return app_paths().config / SETTINGS_FILE_NAME


def is_allowed_base_url(url: str) -> bool:
    """https anywhere; plain http only to this computer (a local sandbox)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return False
    return parts.scheme == "https" or is_loopback_host(parts.hostname)


def id_problem(text: str, name: str = "organization id") -> str | None:
    """Why ``text`` cannot be an id (org, provider, note), or None when it can."""
    try:
        _check_id(text, name, allow_empty=False)
    except SettingsError as exc:
        return str(exc)
    return None


def _check_id(value: Any, name: str, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{name} must be text")
    text = value.strip()
    if not text:
        if allow_empty:
            return ""
        raise SettingsError(f"{name} is empty")
    if len(text) > _MAX_ID_LENGTH or not _ID_RE.match(text):
        raise SettingsError(f"{name} is not a valid id")
    if looks_like_secret(text):
        raise SettingsError(f"{name} looks like an API key; keys belong in the keyring only")
    return text


def _check_base_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError("base_url must be production, staging or a URL")
    url = resolve_base_url(value)
    if not is_allowed_base_url(url):
        raise SettingsError("base_url must be https (plain http only for this computer)")
    if looks_like_secret(url):
        raise SettingsError("base_url looks like it holds an API key")
    return url


def _check_preset(value: Any) -> str:
    if not isinstance(value, str) or not _PRESET_RE.match(value.strip()):
        raise SettingsError("preset is not a preset name")
    return value.strip()


def _check_concurrency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError("concurrency must be a whole number")
    if not MIN_CONCURRENCY <= value <= MAX_CONCURRENCY:
        raise SettingsError(f"concurrency must be {MIN_CONCURRENCY} to {MAX_CONCURRENCY}")
    return value


def _check_retention(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36500:
        raise SettingsError("history_retention_days must be a whole number of days, 1 to 36500")
    return value


def _check_idle(value: Any) -> int:
    problem = idle_problem(value)
    if problem:
        raise SettingsError(problem)
    return int(value)


def _check_recent(value: Any) -> list[RecentNote]:
    if not isinstance(value, list):
        raise SettingsError("recent_notes must be a list")
    notes: list[RecentNote] = []
    for item in value:
        raw = asdict(item) if isinstance(item, RecentNote) else item
        if not isinstance(raw, dict):
            raise SettingsError("recent_notes holds something that is not a note")
        note = RecentNote(
            note_id=_check_id(raw.get("note_id"), "recent note id", allow_empty=False),
            org_id=_check_id(raw.get("org_id", ""), "recent note organization"),
            base_url=_check_base_url(raw.get("base_url", PRODUCTION_URL)),
        )
        if note not in notes:
            notes.append(note)
    return notes[:MAX_RECENT_NOTES]


_CHECKS: dict[str, Any] = {
    "base_url": _check_base_url,
    "org_id": lambda v: _check_id(v, "org_id"),
    "provider_id": lambda v: _check_id(v, "provider_id"),
    "preset": _check_preset,
    "concurrency": _check_concurrency,
    "confirm_idle_seconds": _check_idle,
    "recent_notes": _check_recent,
    "history_retention_days": _check_retention,
}


def validate(settings: Settings) -> Settings:
    """The same settings with every value checked and normalized; raises ``SettingsError``."""
    values = {name: check(getattr(settings, name)) for name, check in _CHECKS.items()}
    return Settings(**values, warnings=list(settings.warnings))


def settings_from_dict(data: Any) -> Settings:
    """Settings from parsed JSON: each bad value is replaced by its default, with a warning."""
    result = Settings()
    if not isinstance(data, dict):
        result.warnings.append("The settings file did not hold settings; defaults are used.")
        return result
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        result.warnings.append("The settings file has no schema version; read as version 1.")
    elif version > SCHEMA_VERSION:
        result.warnings.append(
            f"The settings file was written by a newer MaxUpload (schema {version}); "
            "settings this version does not know are ignored."
        )
    for name, check in _CHECKS.items():
        if name not in data:
            continue
        try:
            setattr(result, name, check(data[name]))
        except SettingsError as exc:
            result.warnings.append(f"Setting '{name}' was reset to its default: {exc}.")
            if name == "base_url":
                result.damaged = f"its server address cannot be used ({exc})"
    unknown = sorted(set(data) - set(_CHECKS) - {"schema_version"})
    if unknown and not (isinstance(version, int) and version > SCHEMA_VERSION):
        names = ", ".join(redact(str(n))[:40] for n in unknown)
        result.warnings.append(f"Unknown settings were ignored: {names}.")
    return result


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    clean = validate(settings)
    return {
        "schema_version": SCHEMA_VERSION,
        "base_url": clean.base_url,
        "org_id": clean.org_id,
        "provider_id": clean.provider_id,
        "preset": clean.preset,
        "concurrency": clean.concurrency,
        "confirm_idle_seconds": clean.confirm_idle_seconds,
        "recent_notes": [
            {"note_id": n.note_id, "org_id": n.org_id, "base_url": n.base_url}
            for n in clean.recent_notes
        ],
        "history_retention_days": clean.history_retention_days,
    }


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, or defaults. Never raises for a missing, unreadable or bad file.

    A file that is not JSON is kept next to the original as ``settings.json.bad-<time>``
    (with anything key-like masked), so nothing the user set is silently lost.
    """
    file = path or settings_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        settings = Settings()
        settings.warnings.append(
            f"The settings file {file} could not be read ({type(exc).__name__}); defaults are used."
        )
        settings.damaged = f"it could not be read ({type(exc).__name__})"
        _log_warnings(settings)
        return settings
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        settings = Settings()
        kept = _keep_bad_copy(file, text)
        settings.warnings.append(
            f"The settings file {file} is damaged; defaults are used."
            + (f" Its text was kept in {kept}." if kept else "")
        )
        settings.damaged = "it is not valid JSON" + (f" (a copy is in {kept})" if kept else "")
        _log_warnings(settings)
        return settings
    settings = settings_from_dict(data)
    if not isinstance(data, dict):
        settings.damaged = "it does not hold settings"
    _log_warnings(settings)
    return settings


def require_intact(settings: Settings, path: Path | None = None) -> Settings:
    """``settings`` when the file was intact; else SettingsDamaged naming the file and the fix
    (never a silent fall back to production)."""
    if settings.damaged:
        file = path or settings_path()
        raise SettingsDamaged(
            f"The settings file {file} is damaged: {settings.damaged}. MaxUpload does not "
            "guess which server to send photos to.",
            next_step=(
                f"Fix or delete {file} (then save your settings again in the window), or give "
                "the server with --env or --base-url."
            ),
        )
    return settings


def _log_warnings(settings: Settings) -> None:
    for warning in settings.warnings:
        log.warning("%s", warning)


def _keep_bad_copy(file: Path, text: str) -> Path | None:
    masked = redact(text)
    for earlier in sorted(file.parent.glob(f"{file.name}.bad-*")):
        try:
            if earlier.read_text(encoding="utf-8") == masked:
                return earlier  # the same damage seen at an earlier start: one copy is enough
        except (OSError, UnicodeDecodeError):
            continue
    target = file.with_name(f"{file.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        write_private(target, redact(text))
    except OSError:
        return None
    return target  # the damaged file stays where it is: every start says so until it is fixed


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically, readable by the owner only; returns the file's path.

    Raises ``SettingsError`` for a value that is invalid or looks like an API key: nothing is
    written then.
    """
    file = path or settings_path()
    data = settings_to_dict(settings)
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if looks_like_secret(text):
        raise SettingsError("refusing to save settings that contain something like an API key")
    write_private(file, text)
    return file
