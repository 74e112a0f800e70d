"""Messages that used to mislead: a TLS failure is not retried by itself (so it must not say
so), and a stored copy that is missing is not a missing note."""

from __future__ import annotations

from typing import Any

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.api.errors import NotFound, TlsNotVerified
from maxupload.core.outcomes import classify

trustme = pytest.importorskip("trustme")

from tests.core.api.test_api_client_tls import KEY  # noqa: E402


def test_a_tls_failure_fails_with_what_to_check(untrusted_tls_server: Any) -> None:
    url = f"https://127.0.0.1:{untrusted_tls_server.server_address[1]}/v3"
    client = ApiClient(url, KEY, "org")
    with client, pytest.raises(TlsNotVerified) as caught:
        client.get_note("nte_1")
    outcome = classify(caught.value, "upload", 7)
    assert outcome.kind == "failed"  # never retried by itself ...
    assert "by itself" not in outcome.next_step and "retries" not in caught.value.next_step
    assert "date and time" in caught.value.next_step  # ... and says what to check
    assert "queue retry 7" in outcome.terminal_step and "maxupload" not in outcome.next_step


def test_a_missing_stored_copy_is_not_called_a_missing_note() -> None:
    outcome = classify(NotFound("Image not found", status=404), "verify", 3)
    assert "stored copy" in outcome.message
    assert "note does not exist" not in outcome.message
