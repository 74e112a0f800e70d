"""The Max AI environments, their base URLs and API key prefixes.

The API version lives in one setting (``API_VERSION``); the base URL carries it (``.../v3``).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

API_VERSION = "v3"
PRODUCTION_URL = f"https://api.maxcare.ai/{API_VERSION}"
STAGING_URL = f"https://api.maxcare.dev/{API_VERSION}"
PRODUCTION_KEY_PREFIX = "max_prd_ak_"
STAGING_KEY_PREFIX = "max_dev_ak_"

ENVIRONMENTS = {"production": PRODUCTION_URL, "staging": STAGING_URL}


def resolve_base_url(name_or_url: str) -> str:
    """``production``, ``staging`` or a full URL (kept as given, without a trailing slash)."""
    value = name_or_url.strip()
    if value.lower() in ENVIRONMENTS:
        return ENVIRONMENTS[value.lower()]
    return value.rstrip("/")


def api_root(base_url: str) -> str:
    """The host root of a versioned base URL: ``https://h/v3`` -> ``https://h``."""
    parts = urlsplit(base_url.rstrip("/"))
    path = parts.path
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1].startswith("v") and segments[-1][1:].isdigit():
        segments = segments[:-1]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(["", *segments]), "", ""))


def with_version(base_url: str, version: str) -> str:
    """The same host at another API version (``/v3`` -> ``/v2``)."""
    return f"{api_root(base_url)}/{version}"


def expected_key_prefix(base_url: str) -> str | None:
    """The key prefix the environment expects, or None for a host we do not know."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.maxcare.ai":
        return PRODUCTION_KEY_PREFIX
    if host == "api.maxcare.dev":
        return STAGING_KEY_PREFIX
    return None


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def environment_words(base_url: str) -> str:
    """The environment in plain words: ``Production``, ``Staging``, ``Local sandbox`` (a server
    on this computer) or ``Custom server``."""
    from urllib.parse import urlparse

    env = environment_name(base_url)
    if env != "custom":
        return env.capitalize()
    host = urlparse(base_url).hostname or ""
    return "Local sandbox" if host in LOOPBACK_HOSTS else "Custom server"


def environment_name(base_url: str) -> str:
    """``production``, ``staging`` or ``custom`` (for a sandbox or other URL)."""
    for name, url in ENVIRONMENTS.items():
        if base_url.rstrip("/") == url:
            return name
    return "custom"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (brackets and an IPv6 zone allowed)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
