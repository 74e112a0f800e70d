"""Test fixtures: every API exchange a test makes is checked against the API contract.

``contract``: a :class:`ContractChecker` (openapi-core over ``openapi.yaml``) that records what it
checked and any violation. ``contract_hooks``: httpx ``event_hooks`` that check each request's
parameters and security and each response's status, headers and body, raising at once on a
violation. ``api_client``: an :class:`ApiClient` on the ``sandbox`` with those hooks on (and a
short retry policy, so tests do not sleep through real backoffs); ``sandbox_client``: a factory
of such clients with another key, clinic, timeout or policy. ``leak_guard``: captures
every log record at DEBUG and fails the test if a watched API key shows up there (or, via
``check_exception``, in an error's text); ``api_client`` watches the sandbox's keys.
``settled_log(sandbox)``: the sandbox's request log once its bookkeeping has caught up.

The contract covers ``/v3``; the sandbox's URL is mapped onto the contract's server
(``https://api.maxcare.ai/v3``). ``/v2`` signed-URL calls are checked as the v3 operation (the
same controller method). ``/v1/marketplace/me`` and ``/_s3/`` downloads lie outside the file and
are checked by hand here.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import (
    V30RequestParametersValidator,
    V30RequestSecurityValidator,
    V30RequestValidator,
)
from werkzeug.datastructures import Headers, ImmutableMultiDict

from maxupload.core.api.client import ApiClient, RetryPolicy

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_CONTRACT = REPO_ROOT.parent / "shared" / "api" / "openapi.yaml"
PACKAGED_CONTRACT = REPO_ROOT / "maxupload" / "sandbox" / "contract" / "openapi.yaml"
CONTRACT_HOST = "https://api.maxcare.ai"
CONTRACT_VERSION = "/v3"

#: Retry waits for tests: the same rules, without seconds of real sleeping.
FAST_RETRIES = RetryPolicy(base_delay=0.01, max_delay=0.05, min_rate_limit_wait=0.01)

_ERROR_FIELDS = ("code", "message", "trace_id")
_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def contract_path() -> Path:
    """The shared contract next to the repository, else the copy packaged with the sandbox."""
    for candidate in (SHARED_CONTRACT, PACKAGED_CONTRACT):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("openapi.yaml not found (shared/api or maxupload/sandbox/contract)")


@functools.lru_cache(maxsize=1)
def load_contract() -> OpenAPI:
    return OpenAPI.from_file_path(str(contract_path()))


class ContractViolation(AssertionError):
    """An exchange that does not match the API contract."""


class _OpenApiRequest:
    """An httpx request in openapi-core's request protocol, moved onto the contract's server."""

    def __init__(self, request: httpx.Request, path: str, body: bytes | None) -> None:
        self._request = request
        self._path = path
        self._body = body
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(k, v) for k, vs in query.items() for v in vs]),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return CONTRACT_HOST

    @property
    def path(self) -> str:
        return self._path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._body

    @property
    def content_type(self) -> str:
        # Lowercase the media type only: a multipart boundary is case-sensitive.
        media, sep, params = (self._request.headers.get("content-type") or "").partition(";")
        return media.strip().lower() + sep + params


class _OpenApiResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return (self._response.headers.get("content-type") or "").lower()

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))

    @property
    def data(self) -> bytes:
        return self._response.content


def _contract_path_of(url_path: str) -> str | None:
    """The contract path for a sandbox URL path, or None when the contract does not cover it."""
    if url_path.startswith(CONTRACT_VERSION + "/"):
        return url_path
    if re.fullmatch(r"/v2/notes/[^/]+/images/[^/]+/url", url_path):
        return CONTRACT_VERSION + url_path[3:]
    return None


@dataclass
class ContractChecker:
    """Checks (request, response) pairs; ``checked`` lists what passed, ``problems`` what failed."""

    openapi: OpenAPI = field(default_factory=load_contract)
    checked: list[tuple[str, str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    # -- the checks -----------------------------------------------------------------------

    def request_errors(self, request: httpx.Request) -> list[str]:
        path = _contract_path_of(request.url.path)
        if request.url.path.startswith("/_s3/"):
            return self._download_request_errors(request)
        if path is None:
            return self._outside_request_errors(request)
        streamed = not isinstance(request.stream, httpx.ByteStream)
        body = None if streamed else request.read()
        wrapped = _OpenApiRequest(request, path, body)
        validators: list[Any] = (
            [V30RequestParametersValidator, V30RequestSecurityValidator]
            if streamed
            else [V30RequestValidator]
        )
        problems: list[str] = []
        for cls in validators:
            problems += [_describe(e) for e in cls(self.openapi.spec).iter_errors(wrapped)]
        return problems

    def response_errors(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        url_path = request.url.path
        if url_path.startswith("/_s3/"):
            return _download_response_errors(response)
        path = _contract_path_of(url_path)
        if path is None:
            if url_path == "/v1/marketplace/me":
                return _me_response_errors(response)
            return [f"{request.method} {url_path} is not covered by the contract"]
        wrapped = _OpenApiRequest(request, path, None)
        errors = list(self.openapi.iter_response_errors(wrapped, _OpenApiResponse(response)))
        problems = [_describe(e) for e in errors]
        # The contract lists no 5xx besides the upload's 502; the errors guide documents
        # 500 `internal_error` with the common error body, so hold any other 5xx to that body.
        undocumented = all(type(e).__name__ == "ResponseNotFound" for e in errors)
        if problems and undocumented and response.status_code >= 500:
            problems = _error_body_errors(response)
        problems += _rate_header_errors(response)
        return problems

    def _outside_request_errors(self, request: httpx.Request) -> list[str]:
        if request.url.path == "/v1/marketplace/me":
            return _api_header_errors(request)
        return [f"{request.method} {request.url.path} is not covered by the contract"]

    @staticmethod
    def _download_request_errors(request: httpx.Request) -> list[str]:
        problems = []
        for header in ("authorization", "x-organization-id"):
            if header in request.headers:
                problems.append(f"a signed-URL download must not send {header}")
        return problems

    # -- httpx hooks ----------------------------------------------------------------------

    def on_request(self, request: httpx.Request) -> None:
        self._report(f"{request.method} {request.url.path} request", self.request_errors(request))

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        where = f"{request.method} {request.url.path} -> {response.status_code}"
        self._report(where, self.response_errors(request, response))
        self.checked.append((request.method, request.url.path, response.status_code))

    def _report(self, where: str, problems: list[str]) -> None:
        if problems:
            text = f"{where} breaks the API contract:\n  " + "\n  ".join(problems)
            self.problems.append(text)
            raise ContractViolation(text)

    @property
    def event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        return {"request": [self.on_request], "response": [self.on_response]}


def _describe(error: Exception) -> str:
    parts = [f"{type(error).__name__}: {error}"]
    for inner in getattr(error, "schema_errors", None) or []:
        parts.append(f"    {getattr(inner, 'message', inner)}")
    cause = error.__cause__
    if cause is not None:
        parts.append(f"    caused by {type(cause).__name__}: {cause}")
        for inner in getattr(cause, "schema_errors", None) or []:
            parts.append(f"    {getattr(inner, 'message', inner)}")
    return "\n".join(parts)


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _error_body_errors(response: httpx.Response) -> list[str]:
    body = _json(response)
    if not isinstance(body, dict):
        return ["an error answer must be a JSON object"]
    return [
        f"the error body's '{name}' must be a string"
        for name in _ERROR_FIELDS
        if not isinstance(body.get(name), str)
    ]


def _rate_header_errors(response: httpx.Response) -> list[str]:
    problems = [
        f"{name} must be an integer, got {response.headers[name]!r}"
        for name in _RATE_HEADERS
        if name in response.headers and not response.headers[name].strip().isdigit()
    ]
    if response.status_code == 429:
        value = response.headers.get("retry-after", "")
        if not value.strip().isdigit():
            problems.append(f"a 429 must carry Retry-After in seconds, got {value!r}")
    return problems


def _api_header_errors(request: httpx.Request) -> list[str]:
    problems = []
    if not request.headers.get("authorization", "").startswith("Bearer "):
        problems.append("an API call must send Authorization: Bearer <key>")
    if not request.headers.get("x-organization-id"):
        problems.append("an API call must send X-Organization-Id")
    return problems


def _me_response_errors(response: httpx.Response) -> list[str]:
    """``GET /v1/marketplace/me`` as REFERENCE.md §2 documents it (200, 401, 429)."""
    if response.status_code not in (200, 400, 401, 403, 429):
        return [f"/v1/marketplace/me answered an undocumented {response.status_code}"]
    problems = _rate_header_errors(response)
    if response.status_code != 200:
        return problems + _error_body_errors(response)
    body = _json(response)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("code") != "success" or not isinstance(data, dict):
        return [*problems, "/v1/marketplace/me must answer {code: success, data: {...}}"]
    app, org, scopes = data.get("app"), data.get("organization"), data.get("scopes")
    if not isinstance(app, dict) or not isinstance(app.get("id"), str):
        problems.append("data.app.id must be a string")
    if not isinstance(org, dict) or not isinstance(org.get("id"), str):
        problems.append("data.organization.id must be a string")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        problems.append("data.scopes must be a list of strings")
    return problems


def _download_response_errors(response: httpx.Response) -> list[str]:
    """A presigned S3 GET: the image bytes, or an S3 XML error with a <Code>."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if response.status_code == 200:
        problems = []
        if content_type not in ("image/jpeg", "image/png"):
            problems.append(f"a stored image must come back as JPEG or PNG, not {content_type!r}")
        if not response.content:
            problems.append("a stored image must not be empty")
        return problems
    if not re.search(rb"<Code>[^<]+</Code>", response.content):
        return [f"an S3 error ({response.status_code}) must carry an XML <Code>"]
    return []


def settled_log(sandbox: Any, *, path_prefix: str = "/", at_least: int = 0) -> list[dict[str, Any]]:
    """The sandbox's request log once every entry has its outcome recorded.

    The sandbox records an answer's status just after writing it, so a client can hold the
    answer a moment before the log does; and a request the client abandoned (cancel) is
    still being read when the client returns. Wait (briefly) for that bookkeeping to finish,
    and for at least ``at_least`` entries to exist.
    """
    deadline = time.monotonic() + 5.0
    while True:
        entries = [e for e in sandbox.request_log() if e["path"].startswith(path_prefix)]
        if len(entries) < at_least and time.monotonic() <= deadline:
            time.sleep(0.01)
            continue
        pending = [
            e
            for e in entries
            if "answered" not in e and e.get("fault") not in ("drop_before_read", "drop_connection")
        ]
        if not pending or time.monotonic() > deadline:
            return entries
        time.sleep(0.01)


class LeakGuard:
    """Watches for API keys in captured log records and in exception texts."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog
        self._secrets: set[str] = set()

    def watch(self, *keys: str) -> None:
        for key in keys:
            self._secrets.add(key)
            # The random part alone must not leak either (e.g. after a partial mask).
            self._secrets.add(re.sub(r"^max_(prd|dev)_ak_", "", key))

    def found_in(self, text: str) -> list[str]:
        return [f"...{s[-6:]}" for s in self._secrets if s and s in text]

    def check_exception(self, exc: BaseException) -> None:
        """The key is in no message, repr or formatted traceback of the chain."""
        texts = ["".join(traceback.format_exception(exc))]
        seen: BaseException | None = exc
        while seen is not None:
            texts += [str(seen), repr(seen), repr(getattr(seen, "args", ()))]
            texts += [str(v) for v in vars(seen).values()] if hasattr(seen, "__dict__") else []
            seen = seen.__cause__ or seen.__context__
        leaked = self.found_in("\n".join(texts))
        assert not leaked, f"an API key appears in {type(exc).__name__}: {leaked}"

    def check_logs(self) -> None:
        text = "\n".join(
            f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in self._caplog.records
        )
        leaked = self.found_in(text)
        assert not leaked, f"an API key appears in the log: {leaked}"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def leak_guard(caplog: pytest.LogCaptureFixture) -> Iterator[LeakGuard]:
    """Capture every log record (DEBUG, all loggers) and fail the test if a watched key leaks."""
    caplog.set_level(logging.DEBUG)
    guard = LeakGuard(caplog)
    yield guard
    guard.check_logs()


@pytest.fixture
def contract() -> Iterator[ContractChecker]:
    checker = ContractChecker()
    yield checker
    assert not checker.problems, "\n".join(checker.problems)


@pytest.fixture
def contract_hooks(contract: ContractChecker) -> dict[str, list[Callable[..., Any]]]:
    return contract.event_hooks


@pytest.fixture
def sandbox_client(
    sandbox: Any,
    contract_hooks: dict[str, list[Callable[..., Any]]],
    leak_guard: LeakGuard,
) -> Iterator[Callable[..., ApiClient]]:
    """``sandbox_client(key=None, org_id=None, **kw)``: ApiClients for the sandbox (demo key
    and clinic unless given), contract hooks on, fast retries unless given, the key watched in
    the log; all closed after the test."""
    made: list[ApiClient] = []

    def make(key: str | None = None, org_id: str | None = None, **kw: Any) -> ApiClient:
        key = key or sandbox.demo.api_key
        leak_guard.watch(key)
        kw.setdefault("retry_policy", FAST_RETRIES)
        client = ApiClient(
            sandbox.base_url,
            key,
            org_id or sandbox.demo.org_id,
            event_hooks=contract_hooks,
            **kw,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def api_client(
    sandbox: Any, sandbox_client: Callable[..., ApiClient], leak_guard: LeakGuard
) -> ApiClient:
    """A client for the sandbox's demo clinic; contract hooks on, keys watched in the log."""
    leak_guard.watch(sandbox.demo.api_key, sandbox.demo.readonly_key, sandbox.demo.prod_key)
    return sandbox_client()
