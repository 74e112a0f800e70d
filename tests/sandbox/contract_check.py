"""Check the sandbox's JSON answers against the copied ``openapi.yaml`` with openapi-core.

The contract's servers point at the real API; here they are swapped for a loopback template so
any sandbox port matches. ``/v2`` signed-URL answers are checked against the ``/v3`` operation
(the same controller method).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


@functools.cache
def contract() -> OpenAPI:
    text = resources.files("maxupload.sandbox").joinpath("contract/openapi.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)
    spec["servers"] = [
        {"url": "http://127.0.0.1:{port}/v3", "variables": {"port": {"default": "80"}}}
    ]
    return OpenAPI.from_dict(spec)


class _Request:
    def __init__(self, request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        path = url.path
        if path.startswith("/v2/"):
            path = "/v3/" + path[len("/v2/") :]
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = path
        self.method = request.method.lower()
        self.body: bytes | None = None
        self.content_type = request.headers.get("Content-Type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("Content-Type", "")
        self.headers = Headers(dict(response.headers))
        self.data = response.content


def assert_matches_contract(response: httpx.Response) -> httpx.Response:
    """Raise when the answer's status, headers or body break the contract; return it."""
    contract().validate_response(_Request(response.request), _Response(response))
    return response
