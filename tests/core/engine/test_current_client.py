"""A worker's client sends with the key saved last: rebuilt, with the key read again, as soon
as the connection changed (real ApiClient against the sandbox)."""

from __future__ import annotations

import pytest

from maxupload.core.api.client import ApiClient, RetryPolicy
from maxupload.core.api.errors import AuthError
from maxupload.core.engine.current_client import CurrentClient, Generation
from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import jpeg_bytes

FAST = RetryPolicy(base_delay=0.05, max_delay=0.2)


def test_a_new_key_is_used_from_the_next_call_and_the_old_client_is_closed(
    sandbox: SandboxServer,
) -> None:
    demo = sandbox.demo
    saved = {"key": demo.api_key}  # what the key store holds
    built: list[ApiClient] = []

    def build() -> ApiClient:
        built.append(ApiClient(sandbox.base_url, saved["key"], demo.org_id, retry_policy=FAST))
        return built[-1]

    generation = Generation()
    client = CurrentClient(build, generation)

    def send(seed: str) -> None:
        client.upload_image(
            demo.open_note_id, demo.provider_id, jpeg_bytes(color=seed), "a.jpg", "image/jpeg"
        )

    send("red")
    send("blue")
    assert len(built) == 1  # one client while nothing changes

    new_key = "max_dev_ak_" + "k" * 40
    sandbox.add_key(new_key)
    saved["key"] = new_key
    with sandbox.keyring.lock:
        del sandbox.keyring.keys[demo.api_key]
    with pytest.raises(AuthError):
        send("green")  # the old client still carries the revoked key
    generation.bump()  # the key was saved: the next call builds a client with it
    send("white")
    assert len(built) == 2
    assert built[0]._http.is_closed  # type: ignore[attr-defined]
    client.close()
    assert [u["status"] for u in sandbox.uploads()] == ["synced"] * 3
