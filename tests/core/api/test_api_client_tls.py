"""TLS is verified: an untrusted certificate is refused (and not retried); a trusted CA works."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

trustme = pytest.importorskip("trustme")

from maxupload.core.api.client import ApiClient  # noqa: E402
from maxupload.core.api.errors import NetworkError  # noqa: E402
from tests.plugins.contract import FAST_RETRIES, LeakGuard  # noqa: E402
from tests.plugins.tls import TlsServer  # noqa: E402

KEY = "max_dev_ak_" + "7e5" * 10 + "ab"


def test_untrusted_certificate_is_refused_and_not_retried(
    tls_server: TlsServer, leak_guard: LeakGuard
) -> None:
    leak_guard.watch(KEY)
    url = f"https://127.0.0.1:{tls_server.server_address[1]}/v3"
    client = ApiClient(url, KEY, "org", retry_policy=FAST_RETRIES)
    with client, pytest.raises(NetworkError) as caught:
        client.get_note("nte_1")
    assert "certificate could not be verified" in str(caught.value)
    assert caught.value.request_sent is False
    assert tls_server.requests == 0
    assert tls_server.connections == 1  # a certificate problem does not pass by retrying
    leak_guard.check_exception(caught.value)


def test_a_trusted_ca_bundle_is_accepted(tls_server: TlsServer, ca: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "clinic-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    url = f"https://127.0.0.1:{tls_server.server_address[1]}/v3"
    with ApiClient(url, KEY, "org", verify=str(bundle)) as client:
        assert client.get_note("nte_1").id == "nte_1"
    assert tls_server.requests == 1


def test_a_context_that_does_not_verify_is_refused() -> None:
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="verify"):
        ApiClient("https://api.maxcare.ai/v3", KEY, "org", verify=lax)
