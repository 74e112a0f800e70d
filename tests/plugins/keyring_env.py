"""Test fixtures: the real OS keyring (Secret Service in the test D-Bus session) and an
in-memory keyring backend for unit tests.

``real_keyring``: keyring's SecretService backend talking to the gnome-keyring that
``scripts/test.sh`` starts in a private D-Bus session. Gives a :class:`RealKeyring` with a
service name unique to the test, ``secret-tool`` helpers to look inside the OS store, and a way
to make a separate locked collection. In CI (``CI=true``) a missing Secret Service fails the
test; elsewhere it is skipped with the reason.

``memory_keyring``: a :class:`MemoryKeyring` installed as keyring's default backend for the
test (and restored after), so code that calls ``keyring.get_keyring()`` uses it.

``run_maxupload``: the command line in a fresh process with a private home and no
``MAXUPLOAD_API_KEY``, so only the keyring under test can hold a key.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

TEST_KEYRING_PASSWORD = "maxupload-test"  # the password scripts/test.sh unlocks the keyring with
_GNOME_INTERNAL = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"


def run_maxupload(
    home: Path,
    *args: str,
    stdin: str = "",
    runner: str | None = None,
    timeout: float = 60,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``python -m maxupload ARGS`` with MAXUPLOAD_HOME=home, no MAXUPLOAD_API_KEY, plus ``env``.

    ``runner``: Python source run with ``-c`` instead (e.g. one that sets up logging first).
    """
    environment = {k: v for k, v in os.environ.items() if k != "MAXUPLOAD_API_KEY"}
    environment.update(MAXUPLOAD_HOME=str(home), **env)
    command = ["-c", runner] if runner is not None else ["-m", "maxupload"]
    return subprocess.run(
        [sys.executable, *command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict: for unit tests only."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


class LockedKeyring(KeyringBackend):
    """A backend whose store is locked and stays locked (the user dismissed the unlock prompt).

    The real locked Secret Service is tested with ``real_keyring.make_locked_collection()``.
    """

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


@pytest.fixture
def locked_keyring() -> Iterator[LockedKeyring]:
    """keyring's default backend is a locked store for this test."""
    previous = keyring.get_keyring()
    backend = LockedKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    message = (
        f"the real OS keyring is not available: {reason}. Run the keyring tests through "
        "'bash scripts/test.sh <tests>' (private D-Bus session with gnome-keyring)."
    )
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class RealKeyring:
    """The SecretService backend plus helpers to inspect the OS store from outside Python."""

    backend: KeyringBackend
    service: str
    created_collections: list[str] = field(default_factory=list)

    def secret_tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``secret-tool`` against the test session's Secret Service."""
        return subprocess.run(
            ["secret-tool", *args], capture_output=True, text=True, timeout=30, check=False
        )

    def lookup(self, username: str, service: str | None = None) -> str | None:
        """The secret stored for (service, username), read by ``secret-tool lookup``."""
        out = self.secret_tool("lookup", "service", service or self.service, "username", username)
        return out.stdout if out.returncode == 0 and out.stdout else None

    def search(self, service: str | None = None) -> str:
        """``secret-tool search --all service <service>``: attributes (stderr) and secrets."""
        out = self.secret_tool("search", "--all", "service", service or self.service)
        return out.stdout + out.stderr

    def _connection(self) -> Any:
        import secretstorage

        return secretstorage.dbus_init()

    def make_locked_collection(self) -> str:
        """Create a separate collection (gnome-keyring's password API, no prompt) and lock it.

        Returns its D-Bus path; set it as the backend's ``preferred_collection`` to use it.
        """
        import secretstorage
        from secretstorage.defines import SS_PATH, SS_PREFIX
        from secretstorage.util import DBusAddressWrapper, format_secret, open_session

        connection = self._connection()
        try:
            session = open_session(connection)
            internal = DBusAddressWrapper(SS_PATH, _GNOME_INTERNAL, connection)
            label = f"maxupload-locked-{uuid.uuid4().hex[:8]}"
            props = {SS_PREFIX + "Collection.Label": ("s", label)}
            secret = format_secret(session, TEST_KEYRING_PASSWORD.encode(), "text/plain")
            (path,) = internal.call("CreateWithMasterPassword", "a{sv}(oayays)", props, secret)
            self.created_collections.append(path)
            collection = secretstorage.Collection(connection, path, session)
            collection.lock()
            assert collection.is_locked(), "could not lock the test collection"
            return str(path)
        finally:
            connection.close()

    def unlock_collection(self, path: str) -> None:
        """Unlock a collection with the test password (gnome-keyring's API, no prompt)."""
        from secretstorage.defines import SS_PATH
        from secretstorage.util import DBusAddressWrapper, format_secret, open_session

        connection = self._connection()
        try:
            session = open_session(connection)
            internal = DBusAddressWrapper(SS_PATH, _GNOME_INTERNAL, connection)
            secret = format_secret(session, TEST_KEYRING_PASSWORD.encode(), "text/plain")
            internal.call("UnlockWithMasterPassword", "o(oayays)", path, secret)
        finally:
            connection.close()

    def cleanup(self) -> None:
        """Delete every item of this test's service and the collections the test made."""
        import secretstorage

        with contextlib.closing(self._connection()) as connection:
            for path in self.created_collections:
                with contextlib.suppress(Exception):
                    self.unlock_collection(path)
                    secretstorage.Collection(connection, path).delete()
            with contextlib.suppress(Exception):
                for item in secretstorage.search_items(connection, {"service": self.service}):
                    item.delete()


def _check_secret_service() -> KeyringBackend:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        _unavailable("no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)")
    if not os.environ.get("MAXUPLOAD_TEST_KEYRING_HOME"):
        _unavailable("not running under scripts/test.sh (MAXUPLOAD_TEST_KEYRING_HOME not set)")
    if shutil.which("secret-tool") is None:
        _unavailable("secret-tool is not installed (package libsecret-tools)")
    try:
        import keyring.backends.SecretService as secret_service

        backend = secret_service.Keyring()
        backend.priority  # noqa: B018  (raises when the Secret Service is unreachable)
    except Exception as exc:
        _unavailable(f"the Secret Service did not answer ({exc})")
    import secretstorage

    with contextlib.closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        if collection.is_locked():
            _unavailable("the test keyring's default collection is locked")
    return backend


@pytest.fixture
def real_keyring() -> Iterator[RealKeyring]:
    """The OS keyring via SecretService, with a service name no other test uses."""
    backend = _check_secret_service()
    real = RealKeyring(backend=backend, service=f"MaxUpload-test-{uuid.uuid4().hex}")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield real
    finally:
        keyring.set_keyring(previous)
        real.cleanup()
