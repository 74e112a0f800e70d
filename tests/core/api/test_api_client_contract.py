"""The contract checker used by the API tests catches drift (so its silence means something)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from maxupload.core.api.calls import _Multipart
from tests.plugins.contract import (
    PACKAGED_CONTRACT,
    SHARED_CONTRACT,
    ContractChecker,
    ContractViolation,
    contract_path,
)

SANDBOX = "http://127.0.0.1:5555"
UPLOAD = f"{SANDBOX}/v3/notes/nte_1/images?providerId=prv_1"
HEADERS = {"Authorization": "Bearer max_dev_ak_x", "X-Organization-Id": "org-1"}
RATE = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "999", "X-RateLimit-Reset": "1"}
GOOD_IMAGE = {
    "id": "img_1",
    "fileName": "p.jpg",
    "mimeType": "image/jpeg",
    "sizeKb": 12,
    "status": "synced",
}


@pytest.fixture(scope="module")
def checker() -> ContractChecker:
    return ContractChecker()


def answer(
    method: str,
    url: str,
    status: int,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
    request_headers: dict[str, str] | None = None,
) -> tuple[httpx.Request, httpx.Response]:
    request = httpx.Request(method, url, headers=request_headers or HEADERS)
    content = raw if raw is not None else json.dumps(body).encode()
    response = httpx.Response(
        status,
        content=content,
        headers={"Content-Type": content_type, **(headers or {})},
        request=request,
    )
    return request, response


def test_a_good_upload_answer_passes(checker: ContractChecker) -> None:
    request, response = answer(
        "POST", UPLOAD, 200, {"code": "success", "data": GOOD_IMAGE}, headers=RATE
    )
    assert checker.response_errors(request, response) == []


def test_the_clients_multipart_body_matches_the_request_schema(checker: ContractChecker) -> None:
    body = _Multipart(b"\xff\xd8\xff\xe0 jpeg bytes", "p.jpg", "image/jpeg")
    content = body.head + body.data + body.tail
    headers = {**HEADERS, "Content-Type": body.content_type}
    good = httpx.Request("POST", UPLOAD, headers=headers, content=content)
    assert checker.request_errors(good) == []
    wrong_field = content.replace(b'name="file"', b'name="image"')
    bad = httpx.Request("POST", UPLOAD, headers=headers, content=wrong_field)
    assert checker.request_errors(bad)


@pytest.mark.parametrize(
    "data",
    [
        {k: v for k, v in GOOD_IMAGE.items() if k != "status"},
        {**GOOD_IMAGE, "mimeType": "image/gif"},
        {**GOOD_IMAGE, "status": "uploaded"},
        {**GOOD_IMAGE, "sizeKb": "12"},
    ],
    ids=["no status", "gif", "unknown status", "size as text"],
)
def test_drifted_upload_answers_fail(checker: ContractChecker, data: dict[str, Any]) -> None:
    request, response = answer("POST", UPLOAD, 200, {"code": "success", "data": data})
    assert checker.response_errors(request, response)


def test_error_bodies_need_code_message_and_trace_id(checker: ContractChecker) -> None:
    request, response = answer("POST", UPLOAD, 409, {"code": "conflict", "message": "signed"})
    assert checker.response_errors(request, response)
    request, response = answer(
        "GET", f"{SANDBOX}/v3/notes/nte_1", 500, {"code": "internal_error", "message": "x"}
    )
    assert checker.response_errors(request, response)
    request, response = answer(
        "GET",
        f"{SANDBOX}/v3/notes/nte_1",
        500,
        {"code": "internal_error", "message": "x", "trace_id": "t"},
    )
    assert checker.response_errors(request, response) == []


def test_undocumented_status_fails(checker: ContractChecker) -> None:
    request, response = answer(
        "GET", f"{SANDBOX}/v3/notes", 404, {"code": "not_found", "message": "x", "trace_id": "t"}
    )
    assert checker.response_errors(request, response)


def test_429_needs_retry_after_in_seconds(checker: ContractChecker) -> None:
    body = {"code": "rate_limit_exceeded", "message": "x", "trace_id": "t"}
    request, response = answer("POST", UPLOAD, 429, body, headers=RATE)
    assert any("Retry-After" in p for p in checker.response_errors(request, response))
    request, response = answer("POST", UPLOAD, 429, body, headers={**RATE, "Retry-After": "3"})
    assert checker.response_errors(request, response) == []


def test_requests_need_key_organization_and_provider(checker: ContractChecker) -> None:
    missing_org = httpx.Request("GET", f"{SANDBOX}/v3/notes", headers={"Authorization": "Bearer k"})
    assert checker.request_errors(missing_org)
    no_provider = httpx.Request("POST", f"{SANDBOX}/v3/notes/nte_1/images", headers=HEADERS)
    assert checker.request_errors(no_provider)
    bad_page = httpx.Request("GET", f"{SANDBOX}/v3/notes?pageSize=500", headers=HEADERS)
    assert checker.request_errors(bad_page)


def test_key_check_shape_is_checked_by_hand(checker: ContractChecker) -> None:
    url = f"{SANDBOX}/v1/marketplace/me"
    good = {
        "code": "success",
        "data": {"app": {"id": "a"}, "organization": {"id": "o"}, "scopes": []},
    }
    request, response = answer("GET", url, 200, good)
    assert checker.response_errors(request, response) == []
    bad = {"code": "success", "data": {"app": {"id": "a"}, "scopes": "read:notes"}}
    request, response = answer("GET", url, 200, bad)
    assert len(checker.response_errors(request, response)) == 2


def test_downloads_must_not_carry_api_headers(checker: ContractChecker) -> None:
    url = f"{SANDBOX}/_s3/bucket/a.jpg?X-Amz-Signature=abc"
    assert checker.request_errors(httpx.Request("GET", url, headers=HEADERS))
    assert checker.request_errors(httpx.Request("GET", url)) == []
    request, response = answer("GET", url, 403, raw=b"Forbidden", content_type="text/plain")
    assert checker.response_errors(request, response)


def test_hooks_raise_on_violation() -> None:
    checker = ContractChecker()
    _, response = answer("POST", UPLOAD, 200, {"code": "success", "data": {}})
    with pytest.raises(ContractViolation):
        checker.on_response(response)
    assert checker.problems


def test_packaged_contract_matches_the_shared_one() -> None:
    if not SHARED_CONTRACT.is_file():
        pytest.skip("the shared API folder is not next to this checkout")
    assert contract_path() == SHARED_CONTRACT
    assert PACKAGED_CONTRACT.read_bytes() == SHARED_CONTRACT.read_bytes()
