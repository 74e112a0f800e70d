"""Helpers for the sandbox's own tests: a demo-key client whose every answer is contract-checked."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from maxupload.sandbox import SandboxServer
from tests.plugins.contract import ContractChecker, ContractViolation

#: Sandbox paths the contract does not describe (their answers are checked by hand in the tests).
_UNDESCRIBED = re.compile(
    r"^/(_sandbox|openapi\.yaml$|$|v[4-9]/|v3/facilities|v3/(providers|patients)/)"
)


@functools.cache
def _checker() -> ContractChecker:
    return ContractChecker()


def _check(response: httpx.Response) -> None:
    """Every API, /v1 and signed-URL answer must match the contract (shared checker)."""
    if _UNDESCRIBED.match(response.request.url.path):
        return
    response.read()
    problems = _checker().response_errors(response.request, response)
    if problems:
        where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        raise ContractViolation(f"{where} breaks the API contract:\n  " + "\n  ".join(problems))


_HOOKS: dict[str, list[Callable[..., Any]]] = {"response": [_check]}


def make_client(srv: SandboxServer, key: str | None = None, org: str | None = None) -> httpx.Client:
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if org is not None:
        headers["X-Organization-Id"] = org
    # Plain http on loopback: skip loading the CA bundle (it costs ~0.1 s per client).
    return httpx.Client(
        base_url=srv.base_url,
        headers=headers,
        event_hooks=_HOOKS,
        timeout=10,
        verify=False,
    )


class _Plain:
    """One-off requests with no API headers (signed URLs, control endpoints)."""

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(verify=False, timeout=10, event_hooks=_HOOKS) as client:
            return client.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(verify=False, timeout=10, event_hooks=_HOOKS) as client:
            return client.post(url, **kwargs)


plain = _Plain()


@pytest.fixture
def client_for(
    sandbox: SandboxServer,
) -> Iterator[Callable[..., httpx.Client]]:
    """``client_for(key, org)``: a contract-checking client for the ``sandbox`` fixture."""
    clients: list[httpx.Client] = []

    def factory(key: str | None = None, org: str | None = None, srv: SandboxServer | None = None):
        client = make_client(srv or sandbox, key, org)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def api(sandbox: SandboxServer, client_for: Callable[..., httpx.Client]) -> httpx.Client:
    """The demo key and demo clinic."""
    return client_for(sandbox.demo.api_key, sandbox.demo.org_id)


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 255, 200)).save(buf, "PNG")
    return buf.getvalue()


def upload(
    client: httpx.Client,
    note_id: str,
    provider_id: str | None,
    data: bytes,
    *,
    name: str = "photo.jpg",
    mime: str = "image/jpeg",
) -> httpx.Response:
    params = {"providerId": provider_id} if provider_id is not None else {}
    return client.post(
        f"/notes/{note_id}/images", params=params, files={"file": (name, data, mime)}
    )
