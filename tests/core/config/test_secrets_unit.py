"""SecretStore logic with keyring backends other than the OS store (in-memory, missing,
locked, file-based), key checks, and the connection test against the sandbox.

The same store against the real Secret Service is in ``test_secrets.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend

from maxupload.core.api.environments import PRODUCTION_URL, STAGING_URL
from maxupload.core.api.errors import AuthError
from maxupload.core.config.secrets import (
    SERVICE_NAME,
    KeyFormatError,
    SecretStore,
    account_name,
    check_connection,
    check_key_prefix,
    mask_key,
    normalize_key,
    resolve_api_key,
)
from maxupload.core.system import logsetup
from maxupload.sandbox import SandboxServer
from tests.plugins.keyring_env import LockedKeyring, MemoryKeyring

PRD_KEY = "max_prd_ak_Zq8pLr2vXw9KfT3mN7bY1cD4"
DEV_KEY = "max_dev_ak_H5jK9mQ2wE7rT1yU3iO8pA6s"


class FileKeyring(KeyringBackend):
    """Stands for keyrings.alt's file backends: it really writes secrets to a file."""

    priority = 2  # type: ignore[assignment]

    def __init__(self, file_path: Path) -> None:
        super().__init__()
        self.file_path = file_path

    def _load(self) -> dict[str, str]:
        if self.file_path.exists():
            data: dict[str, str] = json.loads(self.file_path.read_text())
            return data
        return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self.file_path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("no")


def _chain(*backends: KeyringBackend) -> ChainerBackend:
    class Chain(ChainerBackend):
        pass

    Chain.backends = list(backends)  # type: ignore[misc]
    return Chain()


@pytest.fixture(autouse=True)
def _forget_secrets() -> None:
    logsetup.forget_secrets()


def test_memory_backend_round_trip_one_key_per_environment_and_org(
    memory_keyring: MemoryKeyring,
) -> None:
    store = SecretStore()  # picks up keyring's default backend
    assert store.backend is memory_keyring
    assert store.health().state == "ready"
    assert store.persistent
    assert store.set(PRODUCTION_URL, "org_1", f"  {PRD_KEY}\n") is True
    assert store.set("staging", "org_1", DEV_KEY) is True
    assert store.set(PRODUCTION_URL, "org_2", PRD_KEY + "x") is True
    assert memory_keyring.passwords[(SERVICE_NAME, f"{PRODUCTION_URL}|org_1")] == PRD_KEY
    assert memory_keyring.passwords[(SERVICE_NAME, f"{STAGING_URL}|org_1")] == DEV_KEY
    assert store.get("production", "org_1") == PRD_KEY
    assert store.get(STAGING_URL + "/", "org_1") == DEV_KEY
    assert store.get(PRODUCTION_URL, "org_3") is None
    assert store.delete(PRODUCTION_URL, "org_1") is True
    assert store.delete(PRODUCTION_URL, "org_1") is False
    assert store.get(PRODUCTION_URL, "org_1") is None
    assert store.get(STAGING_URL, "org_1") == DEV_KEY  # the other environment is untouched


def test_account_name_needs_both_parts() -> None:
    assert account_name("staging", " org_1 ") == f"{STAGING_URL}|org_1"
    with pytest.raises(ValueError):
        account_name(PRODUCTION_URL, "")


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (fail.Keyring(), "no keyring backend was found"),
        (null.Keyring(), "null backend"),
        (_chain(), "no keyring backend was found"),
    ],
)
def test_no_secure_store_keeps_the_key_in_memory_for_this_run(
    backend: KeyringBackend, reason: str
) -> None:
    store = SecretStore(backend)
    health = store.health()
    assert health.state == "missing"
    assert reason in health.message
    assert "No secure key store on this computer" in health.message
    assert "memory for this run only" in health.message
    assert store.persistent is False
    assert store.set(PRODUCTION_URL, "org_1", PRD_KEY) is False
    assert store.in_memory_only(PRODUCTION_URL, "org_1")
    assert store.get(PRODUCTION_URL, "org_1") == PRD_KEY
    assert SecretStore(backend).get(PRODUCTION_URL, "org_1") is None  # gone with this run
    assert store.delete(PRODUCTION_URL, "org_1") is True
    assert store.get(PRODUCTION_URL, "org_1") is None


def test_file_based_keyring_is_never_used(tmp_path: Path) -> None:
    secrets_file = tmp_path / "keyring_pass.cfg"
    store = SecretStore(FileKeyring(secrets_file))
    assert store.backend is None
    health = store.health()
    assert health.state == "missing"
    assert "file-based keyring" in health.message
    assert store.set(PRODUCTION_URL, "org_1", PRD_KEY) is False
    assert not secrets_file.exists()
    assert store.get(PRODUCTION_URL, "org_1") == PRD_KEY


def test_chainer_uses_the_secure_backend_and_skips_file_ones(tmp_path: Path) -> None:
    secrets_file = tmp_path / "keyring_pass.cfg"
    memory = MemoryKeyring()
    store = SecretStore(_chain(FileKeyring(secrets_file), memory))
    assert store.backend is memory
    assert store.set(PRODUCTION_URL, "org_1", PRD_KEY) is True
    assert not secrets_file.exists()
    only_files = SecretStore(_chain(FileKeyring(secrets_file)))
    assert only_files.health().state == "missing"


def test_locked_store_is_told_apart_and_the_key_is_kept_in_memory() -> None:
    store = SecretStore(LockedKeyring())
    health = store.health()
    assert health.state == "locked"
    assert "is locked" in health.message and "Unlock it" in health.message
    assert store.persistent is False
    assert store.set(PRODUCTION_URL, "org_1", PRD_KEY) is False
    assert store.get(PRODUCTION_URL, "org_1") == PRD_KEY
    assert SecretStore(LockedKeyring()).get(PRODUCTION_URL, "org_1") is None


class LockedItemKeyring(MemoryKeyring):
    """The store answers, but the item is locked (SecretStorage's LockedException)."""

    def get_password(self, service: str, username: str) -> str | None:
        from secretstorage.exceptions import LockedException

        raise LockedException("Item is locked!")


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise OSError("backend exploded")


def test_locked_item_counts_as_locked_and_other_failures_as_missing() -> None:
    assert SecretStore(LockedItemKeyring()).health().state == "locked"
    broken = SecretStore(BrokenKeyring()).health()
    assert broken.state == "missing"
    assert "failed: OSError" in broken.message
    assert SecretStore(BrokenKeyring()).get(PRODUCTION_URL, "org_1") is None


def test_health_messages_differ_and_say_what_to_do(memory_keyring: MemoryKeyring) -> None:
    ready = SecretStore().health()
    locked = SecretStore(LockedKeyring()).health()
    missing = SecretStore(fail.Keyring()).health()
    assert len({ready.message, locked.message, missing.message}) == 3
    assert "ready" in ready.message
    assert "Passwords and Keys" in locked.message
    assert "Secret Service" in missing.message and "MAXUPLOAD_API_KEY" in missing.message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "No API key"),
        ("   \n", "No API key"),
        ("max_prd_ak_abc def", "spaces"),
        (PRD_KEY + "\n" + DEV_KEY, "spaces"),
        ("max_prd_ak_\x00abcdefgh", "characters"),
        ("max_prd_ak_ümlautkey", "characters"),
        ("short", "too short"),
        ("max_prd_ak_" + "a" * 5000, "too long"),
    ],
)
def test_bad_key_text_is_refused_without_echoing_it(text: str, problem: str) -> None:
    with pytest.raises(KeyFormatError) as info:
        normalize_key(text)
    assert problem in str(info.value)
    secret_part = text.strip()[11:20]
    if secret_part:
        assert secret_part not in str(info.value)


def test_set_refuses_bad_key_and_stores_nothing(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(KeyFormatError):
        SecretStore().set(PRODUCTION_URL, "org_1", "two words")
    assert memory_keyring.passwords == {}


def test_mask_key_shows_first_11_and_last_3() -> None:
    assert mask_key(PRD_KEY) == "max_prd_ak_...cD4"
    assert mask_key(f" {DEV_KEY} ") == "max_dev_ak_...A6s"
    assert mask_key("abcdefghijklmnop") == "abcd..."
    assert mask_key("abcdefgh") == "..."


@pytest.mark.parametrize(
    ("key", "env", "expect"),
    [
        (PRD_KEY, "production", None),
        (DEV_KEY, "staging", None),
        (DEV_KEY, "production", "This is a staging key"),
        (PRD_KEY, STAGING_URL, "This is a production key"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "production", "old 'sk_' form"),
        ("abcdefghijklmnopqrstuvwxyz", "production", "Production keys start with max_prd_ak_"),
        (DEV_KEY, "http://127.0.0.1:8080/v3", None),  # sandbox: any key
        ("whatever-key-123", "https://api.example.org/v3", None),
    ],
)
def test_check_key_prefix(key: str, env: str, expect: str | None) -> None:
    warning = check_key_prefix(key, env)
    if expect is None:
        assert warning is None
    else:
        assert warning is not None and expect in warning
        assert key[11:] not in warning


def test_resolve_api_key_prefers_the_environment_variable(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SecretStore()
    store.set(PRODUCTION_URL, "org_1", PRD_KEY)
    assert resolve_api_key(PRODUCTION_URL, "org_1", store) == PRD_KEY
    assert resolve_api_key(PRODUCTION_URL, "org_1") == PRD_KEY  # a new store reads the keyring
    assert resolve_api_key(PRODUCTION_URL, "", store) is None
    custom = "env-key-0123456789"
    monkeypatch.setenv("MAXUPLOAD_API_KEY", f" {custom} ")
    assert resolve_api_key(PRODUCTION_URL, "org_1", store) == custom
    assert custom not in logsetup.redact(f"using {custom}")  # a key in any format is masked


def test_connection_test_reports_org_and_scopes(sandbox: SandboxServer) -> None:
    demo = sandbox.demo
    report = check_connection(sandbox.base_url, demo.api_key, demo.org_id)
    assert report.ok, report.warnings
    assert report.info.organization_id == demo.org_id
    assert {"write:notes", "read:notes"} <= set(report.info.scopes)
    assert report.missing_required == ()


def test_connection_test_warns_about_missing_write_permission(sandbox: SandboxServer) -> None:
    demo = sandbox.demo
    report = check_connection(sandbox.base_url, demo.readonly_key, demo.org_id)
    assert not report.ok
    assert report.missing_required == ("write:notes",)
    assert any("'write:notes'" in w and "cannot upload" in w for w in report.warnings)


def test_connection_test_warns_when_read_notes_is_missing(sandbox: SandboxServer) -> None:
    key = "max_dev_ak_writeonly0123456789abcdef"
    sandbox.add_key(key, scopes=("write:notes", "read:patients"))
    report = check_connection(sandbox.base_url, key, sandbox.demo.org_id)
    assert report.missing_required == ("read:notes",)
    assert "read:providers" in report.missing_helpful


def test_connection_test_with_a_rejected_key(sandbox: SandboxServer) -> None:
    bad = "max_dev_ak_notarealkey0000000000000000"
    with pytest.raises(AuthError) as info:
        check_connection(sandbox.base_url, bad, sandbox.demo.org_id)
    assert bad not in str(info.value) and bad[11:] not in info.value.next_step
