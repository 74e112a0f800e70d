"""Signed URLs: the stored copy comes back byte for byte, links expire, and a fresh one works."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.api.errors import (
    AuthError,
    Cancelled,
    NotFound,
    SignedUrlRefused,
    VerificationError,
)
from maxupload.core.api.models import UploadedImage
from maxupload.core.api.wire import signed_url_expiry
from maxupload.sandbox import SandboxServer
from tests.plugins.contract import FAST_RETRIES, LeakGuard, settled_log
from tests.plugins.images import photo


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    photo(400, 300, seed=11).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def stored(client: ApiClient, sandbox: SandboxServer, data: bytes) -> UploadedImage:
    return client.upload_image(
        sandbox.demo.open_note_id, sandbox.demo.provider_id, data, "p.jpg", "image/jpeg"
    )


def test_round_trip_gives_back_the_same_bytes(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    data = jpeg_bytes()
    image = stored(api_client, sandbox, data)
    before = datetime.now(UTC)
    link = api_client.get_image_url(sandbox.demo.open_note_id, image.id)
    assert link.expires_at.tzinfo is not None
    assert timedelta(minutes=59) < link.expires_at - before <= timedelta(hours=1, seconds=5)
    assert not link.is_expired(datetime.now(UTC))
    assert api_client.download(link.url) == data
    s3 = [e for e in settled_log(sandbox) if e["path"].startswith("/_s3/")]
    assert len(s3) == 1 and s3[0]["status"] == 200
    # S3 refuses a second form of authentication: no key, no organization on the download.
    assert s3[0]["hasAuthorization"] is False
    assert s3[0]["orgId"] is None


def test_expired_link_is_refused_and_a_fresh_one_works(
    make_sandbox: Callable[..., SandboxServer],
    contract_hooks: dict[str, list[Callable[..., Any]]],
    leak_guard: LeakGuard,
) -> None:
    server = make_sandbox(url_ttl_s=60)
    leak_guard.watch(server.demo.api_key)
    data = jpeg_bytes()
    with ApiClient(
        server.base_url,
        server.demo.api_key,
        server.demo.org_id,
        event_hooks=contract_hooks,
        retry_policy=FAST_RETRIES,
    ) as client:
        image = stored(client, server, data)
        old = client.get_image_url(server.demo.open_note_id, image.id)
        assert old.expires_at - datetime.now(UTC) <= timedelta(seconds=61)
        server.advance_clock(120)
        with pytest.raises(SignedUrlRefused) as caught:
            client.download(old.url)
        error = caught.value
        assert error.status == 403
        assert error.code == "AccessDenied"
        assert "expired or was refused" in str(error)
        assert "fresh link" in error.next_step
        leak_guard.check_exception(error)
        # The refresh path: ask the API again, and the new link serves the same bytes.
        fresh = client.get_image_url(server.demo.open_note_id, image.id)
        assert fresh.url != old.url
        assert client.download(fresh.url) == data
    s3 = [e for e in settled_log(server) if e["path"].startswith("/_s3/")]
    assert [e["status"] for e in s3] == [403, 200]  # a 403 is not retried on its own


def test_tampered_link_is_refused(api_client: ApiClient, sandbox: SandboxServer) -> None:
    image = stored(api_client, sandbox, jpeg_bytes())
    link = api_client.get_image_url(sandbox.demo.open_note_id, image.id)
    parts = urlsplit(link.url)
    query = dict(parse_qsl(parts.query))
    query["X-Amz-Expires"] = "999999"
    with pytest.raises(SignedUrlRefused) as caught:
        api_client.download(urlunsplit(parts._replace(query=urlencode(query))))
    assert caught.value.code == "SignatureDoesNotMatch"


def test_v2_is_asked_only_when_v3_answers_404(
    make_sandbox: Callable[..., SandboxServer],
    contract_hooks: dict[str, list[Callable[..., Any]]],
) -> None:
    server = make_sandbox(signed_url_versions=("v2",))
    data = jpeg_bytes()
    with ApiClient(
        server.base_url, server.demo.api_key, server.demo.org_id, event_hooks=contract_hooks
    ) as client:
        image = stored(client, server, data)
        link = client.get_image_url(server.demo.open_note_id, image.id)
        assert client.download(link.url) == data
    paths = [(e["path"], e["status"]) for e in settled_log(server, path_prefix="/v")]
    url_path = f"/notes/{server.demo.open_note_id}/images/{image.id}/url"
    assert paths[1:] == [("/v3" + url_path, 404), ("/v2" + url_path, 200)]


def test_no_fallback_for_other_errors(
    sandbox: SandboxServer,
    contract_hooks: dict[str, list[Callable[..., Any]]],
    leak_guard: LeakGuard,
) -> None:
    wrong = "max_dev_ak_" + "9" * 32
    leak_guard.watch(wrong)
    with (
        ApiClient(
            sandbox.base_url, wrong, sandbox.demo.org_id, event_hooks=contract_hooks
        ) as client,
        pytest.raises(AuthError) as caught,
    ):
        client.get_image_url(sandbox.demo.open_note_id, "img_" + "0" * 32)
    leak_guard.check_exception(caught.value)
    assert [e["path"][:3] for e in settled_log(sandbox)] == ["/v3"]


def test_unknown_image_is_not_found_on_both_versions(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    with pytest.raises(NotFound) as caught:
        api_client.get_image_url(sandbox.demo.open_note_id, "img_" + "0" * 32)
    assert caught.value.message == "Image not found"
    assert [e["path"][:3] for e in settled_log(sandbox)] == ["/v3", "/v2"]


def test_download_refuses_more_than_the_size_limit(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    image = stored(api_client, sandbox, jpeg_bytes())
    link = api_client.get_image_url(sandbox.demo.open_note_id, image.id)
    with pytest.raises(VerificationError, match="larger than"):
        api_client.download(link.url, max_bytes=1000)


def test_download_can_be_cancelled(api_client: ApiClient, sandbox: SandboxServer) -> None:
    image = stored(api_client, sandbox, jpeg_bytes())
    link = api_client.get_image_url(sandbox.demo.open_note_id, image.id)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        api_client.download(link.url, cancel=cancel)


def test_storage_500_is_retried(api_client: ApiClient, sandbox: SandboxServer) -> None:
    data = jpeg_bytes()
    image = stored(api_client, sandbox, data)
    link = api_client.get_image_url(sandbox.demo.open_note_id, image.id)
    sandbox.set_faults(error_500=1, paths=["/_s3/*"])
    assert api_client.download(link.url) == data
    s3 = [e for e in settled_log(sandbox) if e["path"].startswith("/_s3/")]
    assert [e["status"] for e in s3] == [500, 200]


# -- working out the expiry ---------------------------------------------------------------------

REQUESTED = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)
S3_URL = (
    "https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Date=20260320T183000Z&X-Amz-Expires=900&X-Amz-Signature=abc"
)


def test_expiry_from_expires_at() -> None:
    assert signed_url_expiry(S3_URL, "2026-03-20T19:30:00Z", REQUESTED) == datetime(
        2026, 3, 20, 19, 30, tzinfo=UTC
    )
    naive = signed_url_expiry(S3_URL, "2026-03-20T19:30:00", REQUESTED)
    assert naive.tzinfo is not None


def test_expiry_from_the_amz_query_when_expires_at_is_absent() -> None:
    assert signed_url_expiry(S3_URL, None, REQUESTED) == datetime(2026, 3, 20, 18, 45, tzinfo=UTC)
    assert signed_url_expiry(S3_URL, "not a date", REQUESTED) == datetime(
        2026, 3, 20, 18, 45, tzinfo=UTC
    )


def test_expiry_defaults_to_one_hour_after_the_request() -> None:
    plain = "https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=garbage&X-Amz-Expires=900"
    assert signed_url_expiry(plain, None, REQUESTED) == REQUESTED + timedelta(hours=1)
    assert signed_url_expiry("https://x/a.jpg", None, REQUESTED) == REQUESTED + timedelta(hours=1)
