"""Settings: defaults, validation that never crashes, atomic owner-only file, never a key."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from maxupload.core.api.environments import PRODUCTION_URL, STAGING_URL
from maxupload.core.config.settings import (
    MAX_RECENT_NOTES,
    SCHEMA_VERSION,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    settings_path,
)
from maxupload.core.system import logsetup

KEY = "max_prd_ak_Zq8pLr2vXw9KfT3mN7bY1cD4"


def test_defaults_when_there_is_no_file(app_home: Path) -> None:
    settings = load_settings()
    assert settings == Settings()
    assert settings.base_url == PRODUCTION_URL
    assert settings.preset == "standard"
    assert settings.concurrency == 2
    assert settings.org_id == "" and settings.recent_notes == []
    assert settings.warnings == []
    assert not settings_path().exists()


def test_round_trip_with_schema_version(app_home: Path) -> None:
    settings = Settings(
        base_url="staging", org_id="org_7e2c8cfeb7a94deb986de7012589e72b", concurrency=3
    )
    settings.provider_id = "prv_d4e5f6a7b8c94d0e1f2a3b4c5d6e7f8a"
    settings.preset = "custom:1600:85"
    settings.add_recent_note("nte_1")
    path = save_settings(settings)
    assert path == settings_path()
    assert path.parent == app_home / "config"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["base_url"] == STAGING_URL  # "staging" is stored as its URL
    loaded = load_settings()
    assert loaded.warnings == []
    assert loaded.base_url == STAGING_URL
    assert loaded.org_id == "org_7e2c8cfeb7a94deb986de7012589e72b"
    assert loaded.provider_id == "prv_d4e5f6a7b8c94d0e1f2a3b4c5d6e7f8a"
    assert loaded.preset == "custom:1600:85"
    assert loaded.concurrency == 3
    assert loaded.recent_for(STAGING_URL, "org_7e2c8cfeb7a94deb986de7012589e72b") == ["nte_1"]


def test_file_and_folder_are_owner_only_and_no_temp_files_stay(app_home: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX permissions")
    old_umask = os.umask(0o022)
    try:
        path = save_settings(Settings(org_id="org_1"))
        save_settings(Settings(org_id="org_2"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]
    assert load_settings().org_id == "org_2"


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("concurrency", 0),
        ("concurrency", 5),
        ("concurrency", "2"),
        ("concurrency", True),
        ("base_url", "http://api.example.com/v3"),  # plain http to another computer
        ("base_url", "ftp://api.maxcare.ai/v3"),
        ("base_url", 42),
        ("org_id", "org with spaces"),
        ("org_id", ["org_1"]),
        ("preset", "../../etc"),
        ("recent_notes", "nte_1"),
        ("recent_notes", [{"note_id": ""}]),
    ],
)
def test_bad_values_fall_back_to_defaults_with_a_warning(
    app_home: Path, field: str, bad: object
) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    good = {"schema_version": 1, "org_id": "org_keep", "concurrency": 3, "preset": "web"}
    good[field] = bad
    path.write_text(json.dumps(good), encoding="utf-8")
    settings = load_settings()
    assert getattr(settings, field) == getattr(Settings(), field)
    assert any(field in w for w in settings.warnings), settings.warnings
    for name, value in (("org_id", "org_keep"), ("concurrency", 3), ("preset", "web")):
        if name != field:
            assert getattr(settings, name) == value  # the other settings survive


def test_loopback_http_is_allowed_for_a_local_sandbox(app_home: Path) -> None:
    save_settings(Settings(base_url="http://127.0.0.1:8765/v3/"))
    assert load_settings().base_url == "http://127.0.0.1:8765/v3"


def test_damaged_file_gives_defaults_and_keeps_a_masked_copy(app_home: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"org_id": "org_1", "note": "' + KEY + '", oops', encoding="utf-8")
    settings = load_settings()
    assert settings == Settings()
    assert any("damaged" in w for w in settings.warnings)
    kept = [p for p in path.parent.iterdir() if p.name.startswith("settings.json.bad-")]
    assert len(kept) == 1
    text = kept[0].read_text(encoding="utf-8")
    assert '"org_id": "org_1"' in text  # what the user had is kept...
    assert KEY[11:] not in text  # ...but never a key
    assert path.exists()  # the damaged file stays: every start says so until it is fixed
    assert settings.damaged


@pytest.mark.parametrize("data", ["[1, 2]", '"text"', "null"])
def test_file_that_is_not_an_object_gives_defaults(app_home: Path, data: str) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(data, encoding="utf-8")
    settings = load_settings()
    assert settings == Settings()
    assert settings.warnings


def test_newer_schema_is_read_with_a_warning(app_home: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    data = {"schema_version": SCHEMA_VERSION + 1, "org_id": "org_9", "future_thing": True}
    path.write_text(json.dumps(data), encoding="utf-8")
    settings = load_settings()
    assert settings.org_id == "org_9"
    assert any("newer" in w for w in settings.warnings)


@pytest.mark.parametrize("field", ["org_id", "provider_id"])
def test_refuses_to_save_a_key_in_any_field(app_home: Path, field: str) -> None:
    settings = Settings()
    setattr(settings, field, KEY)
    with pytest.raises(SettingsError) as info:
        save_settings(settings)
    assert KEY not in str(info.value) and KEY[11:] not in str(info.value)
    assert not settings_path().exists()


def test_refuses_a_registered_key_of_any_format(app_home: Path) -> None:
    custom = "sandboxkey7f3a9c2e11b4"
    logsetup.register_secret(custom)
    try:
        with pytest.raises(SettingsError):
            save_settings(Settings(org_id=custom))
        settings = Settings()
        settings.add_recent_note(custom)
        with pytest.raises(SettingsError):
            save_settings(settings)
    finally:
        logsetup.forget_secrets()
    assert not settings_path().exists()


def test_key_in_the_file_is_not_loaded(app_home: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema_version": 1, "org_id": KEY}), encoding="utf-8")
    settings = load_settings()
    assert settings.org_id == ""
    assert all(KEY[11:] not in w for w in settings.warnings)


def test_recent_notes_are_bounded_newest_first_without_duplicates() -> None:
    settings = Settings(org_id="org_1")
    for i in range(MAX_RECENT_NOTES + 5):
        settings.add_recent_note(f"nte_{i}")
    settings.add_recent_note("nte_10")
    recent = settings.recent_for(PRODUCTION_URL, "org_1")
    assert len(recent) == MAX_RECENT_NOTES
    assert recent[0] == "nte_10"
    assert recent.count("nte_10") == 1
    assert settings.recent_for(PRODUCTION_URL, "org_other") == []


def test_failed_write_leaves_the_old_file(app_home: Path) -> None:
    save_settings(Settings(org_id="org_old"))
    settings = Settings(org_id="org_new", concurrency=9)
    with pytest.raises(SettingsError):
        save_settings(settings)
    assert load_settings().org_id == "org_old"
