"""The API key: kept in the operating system's keyring, checked, masked, and tested.

One key per environment (base URL) and organization. Keyring entry: service ``MaxUpload``,
username ``<base URL>|<organization id>`` (e.g. ``https://api.maxcare.ai/v3|org_123``), so a
production and a staging key for the same clinic live side by side.

There is no plaintext fallback. File-based keyrings (``keyrings.alt``, encrypted files) are
treated as "no secure store": the key is then kept in this process's memory for this run only.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Literal, Protocol

import keyring
import keyring.backend
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from maxupload.core.api.environments import (
    PRODUCTION_KEY_PREFIX,
    STAGING_KEY_PREFIX,
    environment_name,
    expected_key_prefix,
    resolve_base_url,
)
from maxupload.core.api.models import KeyInfo
from maxupload.core.errors import MaxUploadError
from maxupload.core.system.logsetup import register_secret

log = logging.getLogger(__name__)

SERVICE_NAME = "MaxUpload"
ENV_API_KEY = "MAXUPLOAD_API_KEY"

#: Scopes without which MaxUpload cannot do its job (upload; read notes and signed URLs).
REQUIRED_SCOPES = ("write:notes", "read:notes")
#: Scopes that make picking a note easier; missing ones get a softer note.
HELPFUL_SCOPES = ("read:patients", "read:providers")

KEY_MIN_LENGTH = 8
KEY_MAX_LENGTH = 4096
MASK = "..."

HealthState = Literal["ready", "locked", "missing"]


class KeyFormatError(MaxUploadError, ValueError):
    """The text given as a key cannot be a key (empty, spaces inside, too long...)."""

    next_step = "Copy the whole key again from app.maxcare.ai (Marketplace, Your App, API Keys)."


class KeyStoreError(MaxUploadError):
    """The keyring could not do what was asked (locked, missing, or failed)."""

    def __init__(self, message: str, health: StoreHealth) -> None:
        super().__init__(message)
        self.health = health

    @property
    def next_step(self) -> str:
        return self.health.message


@dataclass(frozen=True)
class StoreHealth:
    """What the key store can do right now, and what the user should do about it."""

    state: HealthState
    backend: str
    message: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"


_MSG_READY = "Secure key store ready ({backend}). Keys are kept there and nowhere else."
_MSG_LOCKED = (
    "The key store ({backend}) is locked. Unlock it, then try again: on Linux open "
    "'Passwords and Keys' and unlock the 'Login' keyring (or log out and back in); on macOS "
    "unlock the login keychain in Keychain Access. Until then MaxUpload keeps a key you enter "
    "in memory for this run only."
)
_MSG_MISSING = (
    "No secure key store on this computer ({reason}). MaxUpload never writes the key to a "
    "file: a key you enter is kept in memory for this run only, and you will be asked again "
    "next time. To keep it, use a computer with a keyring (Windows Credential Manager, macOS "
    "Keychain, or on Linux a Secret Service such as GNOME Keyring or KWallet, running and "
    "unlocked); for the command line you can also set MAXUPLOAD_API_KEY for one session."
)


def backend_label(backend: KeyringBackend | None) -> str:
    """A readable name of a keyring backend, e.g. ``SecretService Keyring``."""
    if backend is None:
        return "none"
    try:
        return str(backend.name)
    except Exception:
        return type(backend).__name__


def _insecure_reason(backend: KeyringBackend) -> str | None:
    """Why this backend is not a secure OS store, or None when it is one."""
    module = type(backend).__module__
    if module.startswith("keyring.backends.fail"):
        return "no keyring backend was found"
    if module.startswith("keyring.backends.null"):
        return "the keyring is switched off (null backend)"
    if isinstance(backend, ChainerBackend):
        return "no keyring backend was found"
    if (
        module.startswith(("keyrings.alt", "keyrings.cryptfile"))
        or hasattr(backend, "file_path")
        or hasattr(backend, "filename")
    ):
        return f"only a file-based keyring ({backend_label(backend)}) is available"
    return None


def pick_backend(candidate: KeyringBackend) -> tuple[KeyringBackend | None, str]:
    """The secure OS backend to use (a chainer is unwrapped), or None with the reason."""
    options: list[KeyringBackend]
    options = list(candidate.backends) if isinstance(candidate, ChainerBackend) else [candidate]
    reasons = []
    for option in options:
        reason = _insecure_reason(option)
        if reason is None:
            return option, ""
        reasons.append(reason)
    return None, "; ".join(dict.fromkeys(reasons)) or "no keyring backend was found"


def _is_secret_service(backend: KeyringBackend) -> bool:
    return type(backend).__module__ == "keyring.backends.SecretService"


def _secret_service_state(backend: KeyringBackend) -> tuple[HealthState, str]:
    """Ask the Secret Service over D-Bus whether the collection is there and unlocked.

    Never triggers an unlock prompt: health checks must not pop up dialogs.
    """
    try:
        import secretstorage
        from secretstorage.defines import SS_PATH, SS_PREFIX
        from secretstorage.util import DBusAddressWrapper
    except ImportError:
        return "missing", "the SecretStorage library is not installed"
    try:
        connection = secretstorage.dbus_init()
    except Exception as exc:  # no session bus, bad address, ...
        return "missing", f"D-Bus is not available: {type(exc).__name__}"
    with closing(connection):
        try:
            if not secretstorage.check_service_availability(connection):
                return "missing", "no Secret Service is running or can be started"
            path = getattr(backend, "preferred_collection", None)
            if not path:
                service = DBusAddressWrapper(SS_PATH, SS_PREFIX + "Service", connection)
                (path,) = service.call("ReadAlias", "s", "default")
                if not path or path == "/":
                    return "locked", "the keyring has no default collection yet"
            collection = secretstorage.Collection(connection, path)
            if collection.is_locked():
                return "locked", ""
        except Exception as exc:
            return "missing", f"the Secret Service did not answer: {type(exc).__name__}"
    return "ready", ""


def is_locked_error(exc: BaseException) -> bool:
    """keyring's ``KeyringLocked`` or SecretStorage's ``LockedException`` (an item is locked)."""
    if isinstance(exc, keyring.errors.KeyringLocked):
        return True
    try:
        from secretstorage.exceptions import LockedException
    except ImportError:
        return False
    return isinstance(exc, LockedException)


def account_name(base_url: str, org_id: str) -> str:
    """The keyring username for one environment and organization: ``<base URL>|<org id>``."""
    url = resolve_base_url(base_url)
    org = org_id.strip()
    if not url or not org:
        raise ValueError("an environment (base URL) and an organization id are both required")
    return f"{url}|{org}"


def normalize_key(key: str) -> str:
    """The key without surrounding whitespace; raises ``KeyFormatError`` if it cannot be a key.

    Messages never repeat the key.
    """
    text = key.strip()
    if not text:
        raise KeyFormatError("No API key was given.")
    if any(ch.isspace() for ch in text):
        raise KeyFormatError("The API key contains spaces or line breaks; a key has none.")
    if not text.isprintable() or not text.isascii():
        raise KeyFormatError("The API key contains characters a key never has.")
    if len(text) < KEY_MIN_LENGTH:
        raise KeyFormatError(f"The API key is too short ({len(text)} characters).")
    if len(text) > KEY_MAX_LENGTH:
        raise KeyFormatError(f"The API key is too long ({len(text)} characters).")
    return text


class SecretStore:
    """API keys in the OS keyring, one per environment and organization.

    Without a secure store (or while it is locked) keys given to ``set`` are kept in this
    object's memory for this run only; ``persistent`` then is False and ``health()`` says why.
    Reads and writes may show the system's unlock dialog: call them off the GUI thread.
    """

    def __init__(
        self, backend: KeyringBackend | None = None, *, service: str = SERVICE_NAME
    ) -> None:
        chosen = backend if backend is not None else keyring.get_keyring()
        self._backend, self._missing_reason = pick_backend(chosen)
        self._detected = chosen
        self.service = service
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> KeyringBackend | None:
        """The secure backend in use, or None when there is none."""
        return self._backend

    @property
    def backend_name(self) -> str:
        """The backend in use, or ``none (<what keyring offered>)`` when none is secure."""
        if self._backend is None:
            return f"none ({backend_label(self._detected)})"
        return backend_label(self._backend)

    def health(self) -> StoreHealth:
        """Ready, locked or missing, with a message that says what to do. Never prompts."""
        backend = self._backend
        if backend is None:
            return StoreHealth(
                "missing", self.backend_name, _MSG_MISSING.format(reason=self._missing_reason)
            )
        label = backend_label(backend)
        if _is_secret_service(backend):
            state, reason = _secret_service_state(backend)
        else:
            state, reason = self._probe(backend)
        if state == "ready":
            return StoreHealth("ready", label, _MSG_READY.format(backend=label))
        if state == "locked":
            message = _MSG_LOCKED.format(backend=label)
            if reason:
                message = f"{message} ({reason})"
            return StoreHealth("locked", label, message)
        return StoreHealth("missing", label, _MSG_MISSING.format(reason=reason))

    def _probe(self, backend: KeyringBackend) -> tuple[HealthState, str]:
        try:
            backend.get_password(self.service, "health-check")
        except Exception as exc:
            if is_locked_error(exc):
                return "locked", ""
            return "missing", f"{backend_label(backend)} failed: {type(exc).__name__}"
        return "ready", ""

    @property
    def persistent(self) -> bool:
        """True when a key given to ``set`` now would be kept in the OS store."""
        return self.health().ready

    def get(self, base_url: str, org_id: str) -> str | None:
        """The key for this environment and organization, or None when none is known.

        A key kept in memory this run wins (it is the one the user entered last).
        """
        account = account_name(base_url, org_id)
        with self._lock:
            remembered = self._memory.get(account)
        if remembered is not None:
            return remembered
        if self._backend is None:
            return None
        try:
            value = self._backend.get_password(self.service, account)
        except keyring.errors.KeyringError as exc:
            log.warning("could not read the key store (%s): %s", self.backend_name, exc)
            return None
        except Exception as exc:  # D-Bus and platform errors surface as their own types
            log.warning("could not read the key store (%s): %s", self.backend_name, type(exc))
            return None
        if value:
            register_secret(value)
        return value or None

    def set(self, base_url: str, org_id: str, key: str) -> bool:
        """Keep ``key``; True when it went to the OS store, False when kept in memory only.

        The key is read back from the store to prove it was saved.
        """
        account = account_name(base_url, org_id)
        value = normalize_key(key)
        register_secret(value)
        if self._backend is not None:
            try:
                self._backend.set_password(self.service, account, value)
                saved = self._backend.get_password(self.service, account) == value
            except Exception as exc:
                log.warning(
                    "the key store (%s) refused the key: %s", self.backend_name, type(exc).__name__
                )
                saved = False
            if saved:
                with self._lock:
                    self._memory.pop(account, None)
                log.info("API key saved in %s for %s", self.backend_name, account)
                return True
        with self._lock:
            self._memory[account] = value
        log.warning("API key for %s kept in memory for this run only", account)
        return False

    def delete(self, base_url: str, org_id: str) -> bool:
        """Forget the key (memory and OS store); True when there was one.

        Raises ``KeyStoreError`` when the store holds it but cannot delete it (e.g. locked).
        """
        account = account_name(base_url, org_id)
        with self._lock:
            found = self._memory.pop(account, None) is not None
        if self._backend is None:
            return found
        try:
            self._backend.delete_password(self.service, account)
        except keyring.errors.PasswordDeleteError:
            return found
        except Exception as exc:
            health = self.health()
            raise KeyStoreError(
                f"Could not delete the key from {self.backend_name} ({type(exc).__name__}).",
                health,
            ) from None
        log.info("API key deleted from %s for %s", self.backend_name, account)
        return True

    def in_memory_only(self, base_url: str, org_id: str) -> bool:
        """True when the key for this account lives only in memory (not saved)."""
        with self._lock:
            return account_name(base_url, org_id) in self._memory


def resolve_api_key(base_url: str, org_id: str, store: SecretStore | None = None) -> str | None:
    """The key to use: ``MAXUPLOAD_API_KEY`` from the environment first, then the keyring."""
    from_env = os.environ.get(ENV_API_KEY, "").strip()
    if from_env:
        register_secret(from_env)
        return from_env
    if not org_id.strip():
        return None
    return (store or SecretStore()).get(base_url, org_id)


def mask_key(key: str) -> str:
    """The key with its middle hidden: first 11 and last 3 characters (``max_prd_ak_...x9Z``).

    Short values show less, so that at least half of the key stays hidden.
    """
    text = key.strip()
    if len(text) >= 22:
        return f"{text[:11]}{MASK}{text[-3:]}"
    if len(text) >= 12:
        return f"{text[:4]}{MASK}"
    return MASK


def check_key_prefix(key: str, base_url: str) -> str | None:
    """A warning when the key's prefix does not fit the environment, else None."""
    expected = expected_key_prefix(resolve_base_url(base_url))
    if expected is None:
        return None  # a sandbox or other host: any key format
    text = key.strip()
    if text.startswith(expected):
        return None
    env = environment_name(resolve_base_url(base_url))
    other = STAGING_KEY_PREFIX if expected == PRODUCTION_KEY_PREFIX else PRODUCTION_KEY_PREFIX
    other_env = "staging" if other == STAGING_KEY_PREFIX else "production"
    if text.startswith(other):
        return (
            f"This is a {other_env} key ({other}...) but the environment is {env}. "
            f"Choose --env {other_env}, or use a {env} key (they start with {expected})."
        )
    if text.startswith(("sk_live_", "sk_test_")):
        return (
            f"This key has the old 'sk_' form; {env} keys start with {expected}. "
            "It will probably be refused: generate a new key at app.maxcare.ai."
        )
    return (
        f"{env.capitalize()} keys start with {expected}; this one does not. Check that you "
        "copied the whole key (app.maxcare.ai: Marketplace, Your App, Settings, API Keys)."
    )


class _MeClient(Protocol):
    def me(self) -> KeyInfo: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ConnectionReport:
    """What ``GET /v1/marketplace/me`` says about a key, and what the user should know."""

    info: KeyInfo
    org_id: str
    missing_required: tuple[str, ...] = ()
    missing_helpful: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.warnings


def _default_client(base_url: str, api_key: str, org_id: str) -> _MeClient:
    from maxupload.core.api.client import ApiClient

    client: _MeClient = ApiClient(base_url, api_key, org_id)
    return client


def check_connection(
    base_url: str,
    api_key: str,
    org_id: str,
    *,
    client_factory: Callable[[str, str, str], _MeClient] | None = None,
) -> ConnectionReport:
    """Call ``GET /v1/marketplace/me`` with this key; report organization, scopes, warnings.

    API errors (``AuthError``, ``NetworkError``, ...) propagate: they carry their own message
    and next step.
    """
    register_secret(api_key)
    factory = client_factory or _default_client
    client = factory(resolve_base_url(base_url), api_key, org_id)
    try:
        info: KeyInfo = client.me()
    finally:
        client.close()
    warnings: list[str] = []
    missing = tuple(info.missing(*REQUIRED_SCOPES))
    for scope in missing:
        what = "upload photos" if scope.startswith("write") else "find notes or check uploads"
        warnings.append(
            f"This key lacks the '{scope}' permission, so MaxUpload cannot {what}: ask your "
            f"Max AI administrator for a key that includes '{scope}'."
        )
    if info.organization_id and info.organization_id != org_id.strip():
        warnings.append(
            f"The server answered for organization {info.organization_id}, not {org_id}: "
            "check the organization id."
        )
    return ConnectionReport(
        info=info,
        org_id=org_id,
        missing_required=missing,
        missing_helpful=tuple(info.missing(*HELPFUL_SCOPES)),
        warnings=tuple(warnings),
    )
