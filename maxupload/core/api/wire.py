"""The API's wire format: JSON answers and headers read into typed models, or refused.

Every answer is checked against the documented shape; a 2xx answer that does not have it is
an ``invalid_response`` ServerError (never a half-filled model). Rate-limit headers and signed
URL expiry are read here too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from maxupload.core.api.errors import ApiError, RateLimitInfo, ServerError, SignedUrlRefused
from maxupload.core.api.models import Facility, Note, Page, Pagination, Patient, Provider

T = TypeVar("T")

#: Signed URLs last one hour when neither the answer nor the URL says otherwise.
DEFAULT_URL_TTL = timedelta(hours=1)


def parse_rate_limit(headers: httpx.Headers, *, now: float | None = None) -> RateLimitInfo:
    """Read ``X-RateLimit-*`` and ``Retry-After``; an absent or garbled header becomes None."""

    def number(name: str) -> int | None:
        value = headers.get(name)
        if value is None:
            return None
        try:
            return int(float(value.strip()))
        except ValueError:
            return None

    retry_after: float | None = None
    raw = headers.get("retry-after")
    if raw is not None:
        raw = raw.strip()
        try:
            retry_after = max(float(raw), 0.0)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                current = time.time() if now is None else now
                retry_after = max(when.timestamp() - current, 0.0)
    return RateLimitInfo(
        limit=number("x-ratelimit-limit"),
        remaining=number("x-ratelimit-remaining"),
        reset=number("x-ratelimit-reset"),
        retry_after=retry_after,
    )


def signed_url_expiry(url: str, expires_at: object, requested_at: datetime) -> datetime:
    """When a signed URL stops working: ``expiresAt``, else X-Amz-Date + X-Amz-Expires, else +1h."""
    if isinstance(expires_at, str) and expires_at.strip():
        try:
            parsed = datetime.fromisoformat(expires_at.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    query = {k.lower(): v for k, v in parse_qs(urlsplit(url).query).items()}
    amz_date = query.get("x-amz-date", [""])[0]
    amz_expires = query.get("x-amz-expires", [""])[0]
    if amz_date and amz_expires:
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return signed_at + timedelta(seconds=int(amz_expires))
        except ValueError:
            pass
    return requested_at + DEFAULT_URL_TTL


class _BadAnswer(Exception):
    """A 2xx answer whose body does not have the documented shape."""


def _download_error(status: int, body: bytes) -> ApiError:
    """S3 answers XML (``<Code>``, ``<Message>``); we keep our own words and its code."""
    text = body[:4096].decode("utf-8", "replace")
    code_match = re.search(r"<Code>([A-Za-z0-9_.-]{1,64})</Code>", text)
    code = code_match.group(1) if code_match else None
    if status == 403:
        return SignedUrlRefused(
            "The download link expired or was refused (HTTP 403"
            + (f", {code}" if code else "")
            + "); get a fresh link.",
            code=code,
        )
    if status >= 500:
        return ServerError(f"The storage server failed (HTTP {status}).", status=status, code=code)
    return ApiError(
        f"The stored copy could not be downloaded (HTTP {status}).",
        status=status,
        code=code or "download_failed",
    )


def _no_details_message(status: int, content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    if status == 413:
        return f"The server refused the file as too large (HTTP 413, {kind})."
    if status in (502, 503, 504):
        return f"A gateway in front of the API answered HTTP {status} without details ({kind})."
    return f"The server answered HTTP {status} without readable error details ({kind})."


def _header_trace_id(response: httpx.Response) -> str | None:
    for name in ("x-trace-id", "x-request-id", "trace-id"):
        value = response.headers.get(name)
        if isinstance(value, str) and value:
            return value[:128]
    return None


def _json_obj(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one."""
    try:
        value = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _envelope(payload: Mapping[str, Any]) -> Any:
    """The ``data`` of a ``{"code": "success", "data": ...}`` answer."""
    if "data" not in payload:
        raise _BadAnswer("the answer has no 'data'")
    return payload["data"]


def _unreadable(detail: str) -> ServerError:
    return ServerError(
        f"The server's answer could not be read ({detail}).", status=200, code="invalid_response"
    )


def _parse(parser: Callable[[dict[str, Any]], T], data: dict[str, Any]) -> T:
    try:
        return parser(data)
    except _BadAnswer as exc:
        raise _unreadable(str(exc)) from None


def _obj(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _BadAnswer(f"expected an object, got {type(value).__name__}")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _req_str(obj: Mapping[str, Any], key: str) -> str:
    value = _opt_str(obj, key)
    if not value:
        raise _BadAnswer(f"'{key}' is missing")
    return value


def _num(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return 0.0


def _int(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _patient(d: Mapping[str, Any]) -> Patient:
    return Patient(
        id=_req_str(d, "id"),
        first_name=_opt_str(d, "firstName") or "",
        last_name=_opt_str(d, "lastName") or "",
        mrn=_opt_str(d, "mrn"),
        date_of_birth=_opt_str(d, "dateOfBirth"),
        gender=_opt_str(d, "gender"),
        middle_name=_opt_str(d, "middleName"),
    )


def _facility(d: Mapping[str, Any]) -> Facility:
    return Facility(
        id=_req_str(d, "id"), name=_opt_str(d, "name") or "", timezone=_opt_str(d, "timezone")
    )


def _provider(d: Mapping[str, Any]) -> Provider:
    can_finalize = d.get("canFinalize")
    return Provider(
        id=_req_str(d, "id"),
        first_name=_opt_str(d, "firstName") or "",
        last_name=_opt_str(d, "lastName") or "",
        display_first_name=_opt_str(d, "displayFirstName"),
        display_last_name=_opt_str(d, "displayLastName"),
        hidden=d.get("hidden") is True,
        can_finalize=can_finalize if isinstance(can_finalize, bool) else None,
        role_type=_opt_str(d, "roleType"),
    )


def _note(d: Mapping[str, Any]) -> Note:
    patient = d.get("patient")
    facility = d.get("facility")
    providers = d.get("assignedProviders") or []
    if not isinstance(providers, list):
        raise _BadAnswer("assignedProviders is not a list")
    version = d.get("version")
    return Note(
        id=_req_str(d, "id"),
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        visit_date=_opt_str(d, "visitDate"),
        status=_opt_str(d, "status"),
        patient=_patient(_obj(patient)) if patient else None,
        facility=_facility(_obj(facility)) if facility else None,
        ehr_type=_opt_str(d, "ehrType"),
        assigned_providers=tuple(_provider(_obj(p)) for p in providers),
    )


def _page(
    data: Mapping[str, Any],
    key: str,
    parse: Callable[[Mapping[str, Any]], T],
    page: int,
    page_size: int,
) -> Page[T]:
    items = data.get(key)
    if not isinstance(items, list):
        raise _BadAnswer(f"'{key}' is not a list")
    meta = _obj(data.get("pagination"))
    return Page(
        items=[parse(_obj(item)) for item in items],
        pagination=Pagination(
            page=_int(meta.get("page"), page),
            page_size=_int(meta.get("pageSize"), page_size),
            total_count=_int(meta.get("totalCount"), len(items)),
            total_pages=_int(meta.get("totalPages"), page),
        ),
    )


def _page_params(page: int, page_size: int) -> dict[str, str]:
    if page < 1 or not 1 <= page_size <= 100:
        raise ValueError("page starts at 1 and page_size is 1 to 100.")
    return {"page": str(page), "pageSize": str(page_size)}


def _all_pages(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    """Loop while page <= totalPages (stopping early on an empty page)."""
    page = 1
    while True:
        result = fetch(page)
        yield from result.items
        if not result.items or page >= result.pagination.total_pages:
            return
        page += 1
