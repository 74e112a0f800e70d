"""SecretStore against the real OS keyring: keyring's SecretService backend and gnome-keyring in
the private D-Bus session that ``scripts/test.sh`` starts. ``secret-tool`` (libsecret) looks
into the store from outside Python to prove where the key is, and that it is gone.

Run: ``bash scripts/test.sh tests/core/config/test_secrets.py``
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import uuid
import warnings

import keyring.backends.SecretService as secret_service
import pytest

from maxupload.core.api.environments import PRODUCTION_URL, STAGING_URL
from maxupload.core.config.secrets import SecretStore
from maxupload.core.system import logsetup
from tests.plugins.keyring_env import RealKeyring

pytestmark = pytest.mark.keyring


def _key(prefix: str = "max_prd_ak_") -> str:
    return prefix + uuid.uuid4().hex + uuid.uuid4().hex[:6]


@pytest.fixture(autouse=True)
def _forget_secrets() -> None:
    logsetup.forget_secrets()


def test_set_get_delete_in_the_os_store(real_keyring: RealKeyring) -> None:
    store = SecretStore(real_keyring.backend, service=real_keyring.service)
    org = f"org_{uuid.uuid4().hex}"
    account = f"{PRODUCTION_URL}|{org}"
    key = _key()
    assert store.set(PRODUCTION_URL, org, key) is True
    assert not store.in_memory_only(PRODUCTION_URL, org)
    # The OS store holds it, under our service and account names (seen by libsecret's tool).
    assert real_keyring.lookup(account) == key
    listing = real_keyring.search()
    assert f"attribute.service = {real_keyring.service}" in listing
    assert f"attribute.username = {account}" in listing
    # A fresh store (a new run) reads it back from the OS store.
    assert (
        SecretStore(real_keyring.backend, service=real_keyring.service).get("production", org)
        == key
    )
    assert store.delete(PRODUCTION_URL, org) is True
    assert real_keyring.lookup(account) is None
    assert real_keyring.service not in real_keyring.search()
    assert store.get(PRODUCTION_URL, org) is None
    assert store.delete(PRODUCTION_URL, org) is False


def test_replacing_a_key_keeps_one_item(real_keyring: RealKeyring) -> None:
    store = SecretStore(real_keyring.backend, service=real_keyring.service)
    org = f"org_{uuid.uuid4().hex}"
    first, second = _key(), _key()
    store.set(PRODUCTION_URL, org, first)
    store.set(PRODUCTION_URL, org, second)
    assert real_keyring.lookup(f"{PRODUCTION_URL}|{org}") == second
    assert real_keyring.search().count("attribute.username") == 1
    assert first not in real_keyring.search()


def test_environments_and_organizations_are_separate_items(real_keyring: RealKeyring) -> None:
    store = SecretStore(real_keyring.backend, service=real_keyring.service)
    org = f"org_{uuid.uuid4().hex}"
    prd, dev = _key(), _key("max_dev_ak_")
    store.set(PRODUCTION_URL, org, prd)
    store.set(STAGING_URL, org, dev)
    assert real_keyring.lookup(f"{PRODUCTION_URL}|{org}") == prd
    assert real_keyring.lookup(f"{STAGING_URL}|{org}") == dev
    store.delete(STAGING_URL, org)
    assert real_keyring.lookup(f"{STAGING_URL}|{org}") is None
    assert store.get(PRODUCTION_URL, org) == prd


def test_health_ready(real_keyring: RealKeyring) -> None:
    health = SecretStore(real_keyring.backend, service=real_keyring.service).health()
    assert health.state == "ready", health.message
    assert health.backend == "SecretService Keyring"
    assert "Secure key store ready" in health.message


def test_default_backend_of_a_new_process_is_the_secret_service(real_keyring: RealKeyring) -> None:
    code = (
        "from maxupload.core.config.secrets import SecretStore\n"
        "s = SecretStore(); print(type(s.backend).__module__, s.health().state)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["keyring.backends.SecretService", "ready"]


def test_locked_store(real_keyring: RealKeyring) -> None:
    path = real_keyring.make_locked_collection()
    backend = secret_service.Keyring()
    backend.preferred_collection = path  # type: ignore[attr-defined]
    store = SecretStore(backend, service=real_keyring.service)
    org = f"org_{uuid.uuid4().hex}"
    key = _key()

    health = store.health()
    assert health.state == "locked"
    assert "is locked" in health.message and "Unlock it" in health.message
    assert store.persistent is False
    # The unlock prompt cannot be answered here, so the key stays in memory for this run.
    assert store.set(PRODUCTION_URL, org, key) is False
    assert store.in_memory_only(PRODUCTION_URL, org)
    assert store.get(PRODUCTION_URL, org) == key
    assert real_keyring.lookup(f"{PRODUCTION_URL}|{org}") is None

    # keyring's SecretService backend leaves its D-Bus connection open when the unlock fails;
    # collect it here so the warning does not land on a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()

    real_keyring.unlock_collection(path)
    assert store.health().state == "ready"
    fresh = SecretStore(backend, service=real_keyring.service)
    assert fresh.get(PRODUCTION_URL, org) is None  # nothing reached the store while locked
    assert fresh.set(PRODUCTION_URL, org, key) is True
    assert fresh.get(PRODUCTION_URL, org) == key


def _run_without_secret_service(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=environment,
    )


def test_missing_store_when_dbus_is_unavailable(
    real_keyring: RealKeyring, tmp_path: object
) -> None:
    code = (
        "import keyring.backends.SecretService as ss\n"
        "from maxupload.core.config.secrets import SecretStore\n"
        "for store in (SecretStore(), SecretStore(ss.Keyring())):\n"
        "    h = store.health()\n"
        "    print(h.state, '|', h.message)\n"
        "    assert store.set('production', 'org_x', 'max_prd_ak_' + 'a' * 30) is False\n"
        "    assert store.get('production', 'org_x') == 'max_prd_ak_' + 'a' * 30\n"
    )
    out = _run_without_secret_service(
        code, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/maxupload-test-bus"
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        state, message = line.split(" | ", 1)
        assert state == "missing"
        assert "No secure key store on this computer" in message
        assert "memory for this run only" in message
    assert "no keyring backend was found" in lines[0]
    assert "D-Bus is not available" in lines[1]


def test_missing_store_when_keyring_is_switched_to_the_fail_backend(
    real_keyring: RealKeyring,
) -> None:
    service = real_keyring.service
    code = (
        "from maxupload.core.config.secrets import SecretStore\n"
        f"s = SecretStore(service={service!r})\n"
        "print(s.health().state)\n"
        "print(s.set('production', 'org_y', 'max_prd_ak_' + 'b' * 30))\n"
    )
    out = _run_without_secret_service(code, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert out.stdout.split() == ["missing", "False"]
    assert real_keyring.service not in real_keyring.search()  # nothing reached the OS store
