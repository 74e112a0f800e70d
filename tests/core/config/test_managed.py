"""Managed settings: precedence, locking (settings and command-line flags), damaged files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.config.managed import (
    LockedSetting,
    ManagedConfigError,
    check_overrides,
    load_effective,
    load_managed,
)
from maxupload.core.config.settings import Settings, save_settings, settings_path
from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg


def managed_file(text: str) -> Path:
    path = Path(os.environ["MAXUPLOAD_MANAGED_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_the_users_settings() -> None:
    save_settings(Settings(org_id="org_user", preset="small"))
    settings, managed = load_effective()
    assert (settings.org_id, settings.preset) == ("org_user", "small")
    assert not managed.values and not managed.locked


def test_unlocked_values_are_a_starting_point_and_locked_ones_win() -> None:
    managed_file(
        'org_id = "org_it"\npreset = "high"\nbase_url = "staging"\n'
        'history_retention_days = 30\nlocked = ["org_id", "history_retention_days"]\n'
    )
    # A new user: every managed value applies.
    settings, managed = load_effective()
    assert settings.org_id == "org_it"
    assert settings.preset == "high"
    assert settings.base_url == "https://api.maxcare.dev/v3"
    assert settings.history_retention_days == 30
    assert managed.is_locked("org_id") and not managed.is_locked("preset")
    # The user's own choices win where the file does not lock them.
    save_settings(Settings(org_id="org_user", preset="small", history_retention_days=900))
    settings, _ = load_effective()
    assert settings.org_id == "org_it"  # locked
    assert settings.history_retention_days == 30  # locked
    assert settings.preset == "small"  # the user's
    assert settings.base_url == "https://api.maxcare.ai/v3"  # the user's file holds one


def test_confirm_idle_minutes_can_be_preset_and_locked() -> None:
    managed_file('confirm_idle_minutes = 10\nlocked = ["confirm_idle_minutes"]\n')
    save_settings(Settings())  # the user's file has its own idle time (if it keeps one)
    settings, managed = load_effective()
    assert managed.value("confirm_idle_minutes", 5) == 10
    # Where the user's settings keep the idle time (in seconds), the locked value is in them.
    if hasattr(settings, "confirm_idle_seconds"):
        assert settings.confirm_idle_seconds == 600


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('org_id = "org_1\n', "is damaged"),
        ('organisation = "org_1"\n', "unknown settings: organisation"),
        ('org_id = "max_prd_ak_0123456789abcdef"\n', "org_id is not usable"),
        ('base_url = "http://example.org/v3"\n', "base_url is not usable"),
        ("confirm_idle_minutes = 0\n", "confirm_idle_minutes is not usable"),
        ('locked = ["org_id"]\n', "locks org_id without a value"),
        ('locked = "org_id"\n', "'locked' must be a list"),
    ],
)
def test_a_damaged_managed_file_is_an_error_naming_it(text: str, needle: str) -> None:
    path = managed_file(text)
    with pytest.raises(ManagedConfigError) as caught:
        load_effective()
    assert str(path) in str(caught.value)
    assert needle in str(caught.value)


def test_an_unreadable_managed_file_is_an_error_too(tmp_path: Path) -> None:
    path = managed_file('org_id = "org_it"\n')
    path.write_bytes(b"\xff\xfe org")
    with pytest.raises(ManagedConfigError, match="not UTF-8"):
        load_managed()
    folder = tmp_path / "a-folder.toml"
    folder.mkdir()
    with pytest.raises(ManagedConfigError, match="cannot be read"):
        load_managed(folder)


def test_flags_against_locked_values_are_refused_naming_the_file() -> None:
    path = managed_file(
        'org_id = "org_it"\nbase_url = "staging"\nlocked = ["org_id", "base_url"]\n'
    )
    _, managed = load_effective()
    check_overrides(managed, {"org_id": ("--org", "org_it"), "preset": ("--preset", "small")})
    check_overrides(managed, {"base_url": ("--env", "staging")})  # the same value: allowed
    with pytest.raises(LockedSetting) as caught:
        check_overrides(managed, {"org_id": ("--org", "org_other")})
    assert str(path) in str(caught.value) and "--org cannot change it" in str(caught.value)
    with pytest.raises(LockedSetting, match="--env cannot change it"):
        check_overrides(managed, {"base_url": ("--env", "production")})


def test_cli_upload_obeys_a_locked_organization(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    path = managed_file(
        f'org_id = "{sandbox.demo.org_id}"\nbase_url = "{sandbox.base_url}"\n'
        'locked = ["org_id", "base_url"]\n'
    )
    image = write_jpeg(tmp_path / "a.jpg", photo(120, 90, seed=1))
    base = ["upload", "--note", sandbox.demo.open_note_id, "--provider", sandbox.demo.provider_id]
    # Another organization on the command line: refused, nothing sent, the file is named.
    code = main([*base, "--org", "org_elsewhere", "--yes", str(image)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and "--org cannot change it" in err
    assert sandbox.uploads() == []
    # Without flags the locked organization and server are used.
    code = main([*base, "--yes", str(image)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(sandbox.uploads()) == 1
    # key commands obey the lock too.
    assert main(["key", "status", "--org", "org_elsewhere"]) == 2
    assert str(path) in capsys.readouterr().err


def test_cli_stops_on_a_damaged_managed_file(
    sandbox: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = managed_file("org_id = [\n")
    image = write_jpeg(tmp_path / "a.jpg", photo(120, 90, seed=1))
    code = main(["upload", "--note", "nte_x", "--provider", "prv_x", "--yes", str(image)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and "damaged" in err
    assert sandbox.uploads() == []
    assert not settings_path().exists()


ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_example_file_is_valid_and_the_installer_knows_every_key() -> None:
    from maxupload.core.config.managed import MANAGED_KEYS

    example = load_managed(ROOT / "packaging" / "config.example.toml")
    assert set(example.values) == set(MANAGED_KEYS)
    assert example.is_locked("org_id")
    installer = (ROOT / "packaging" / "windows" / "maxupload.iss").read_text(encoding="utf-8")
    for name in MANAGED_KEYS:
        assert f"ManagedLine('{name}'" in installer
    build = (ROOT / "packaging" / "linux" / "build.sh").read_text(encoding="utf-8")
    assert "packaging/config.example.toml" in build and "/usr/share/doc/maxupload/" in build


def test_a_byte_order_mark_is_accepted() -> None:
    path = managed_file("")
    path.write_bytes(b'\xef\xbb\xbforg_id = "org_it"\r\nlocked = ["org_id"]\r\n')
    assert load_managed().values == {"org_id": "org_it"}
