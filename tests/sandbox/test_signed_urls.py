"""Signed URLs: S3-style links that return the stored bytes, expire, and refuse tampering."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import jpeg_bytes, make_client, plain, png_bytes, upload


def _store(srv: SandboxServer, client: httpx.Client, data: bytes, mime: str = "image/jpeg") -> str:
    r = upload(client, srv.demo.open_note_id, srv.demo.provider_id, data, mime=mime)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def _signed(client: httpx.Client, note_id: str, image_id: str, version: str = "v3") -> dict:
    url = f"{client.base_url.scheme}://{client.base_url.netloc.decode()}/{version}"
    r = client.get(f"{url}/notes/{note_id}/images/{image_id}/url")
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


@pytest.mark.parametrize(("make", "mime"), [(jpeg_bytes, "image/jpeg"), (png_bytes, "image/png")])
def test_round_trip_returns_the_same_bytes(
    sandbox: SandboxServer, api: httpx.Client, make, mime: str
) -> None:
    data = make()
    image_id = _store(sandbox, api, data, mime)
    link = _signed(api, sandbox.demo.open_note_id, image_id)
    query = parse_qs(urlsplit(link["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["3600"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = datetime.fromisoformat(link["expiresAt"].replace("Z", "+00:00"))
    assert expires - signed_at == timedelta(seconds=3600)
    assert link["url"].startswith(sandbox.root_url + "/_s3/")
    r = plain.get(link["url"])  # a plain GET, no API headers
    assert r.status_code == 200
    assert r.headers["Content-Type"] == mime
    assert r.content == data
    assert "X-RateLimit-Limit" not in r.headers


def test_v2_path_serves_the_same_link(sandbox: SandboxServer, api: httpx.Client) -> None:
    image_id = _store(sandbox, api, jpeg_bytes())
    link = _signed(api, sandbox.demo.open_note_id, image_id, version="v2")
    assert plain.get(link["url"]).status_code == 200


def test_v3_can_be_switched_off_to_exercise_the_v2_fallback(make_sandbox) -> None:
    srv = make_sandbox(signed_url_versions=("v2",))
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        image_id = _store(srv, client, jpeg_bytes())
        r = client.get(f"/notes/{srv.demo.open_note_id}/images/{image_id}/url")
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
        assert _signed(client, srv.demo.open_note_id, image_id, version="v2")["url"]


def test_expired_link_is_403(sandbox: SandboxServer, api: httpx.Client) -> None:
    image_id = _store(sandbox, api, jpeg_bytes())
    link = _signed(api, sandbox.demo.open_note_id, image_id)
    sandbox.advance_clock(3601)
    r = plain.get(link["url"])
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text
    assert "Request has expired" in r.text
    fresh = _signed(api, sandbox.demo.open_note_id, image_id)
    assert plain.get(fresh["url"]).status_code == 200


def test_short_ttl_expires_in_real_time(make_sandbox) -> None:
    srv = make_sandbox(url_ttl_s=1)
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        image_id = _store(srv, client, jpeg_bytes())
        link = _signed(client, srv.demo.open_note_id, image_id)
    assert "X-Amz-Expires=1&" in link["url"]
    deadline = time.monotonic() + 10.0
    while plain.get(link["url"]).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert plain.get(link["url"]).status_code == 403


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_tampered_link_is_403(sandbox: SandboxServer, api: httpx.Client) -> None:
    first = _store(sandbox, api, jpeg_bytes(color="red"))
    second = _store(sandbox, api, jpeg_bytes(color="blue"))
    link = _signed(api, sandbox.demo.open_note_id, first)["url"]
    sig = parse_qs(urlsplit(link).query)["X-Amz-Signature"][0]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    for bad in (
        _with(link, **{"X-Amz-Signature": flipped}),
        _with(link, **{"X-Amz-Expires": "999999"}),
        _with(link, **{"X-Amz-Date": "20990101T000000Z"}),
        link.replace(first, second),
    ):
        r = plain.get(bad)
        assert r.status_code == 403, bad
        assert "SignatureDoesNotMatch" in r.text
    r = plain.get(link.split("?")[0])
    assert r.status_code == 403
    assert plain.get(link).status_code == 200


def test_authorization_header_on_a_signed_link_is_400(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    image_id = _store(sandbox, api, jpeg_bytes())
    link = _signed(api, sandbox.demo.open_note_id, image_id)["url"]
    r = plain.get(link, headers={"Authorization": f"Bearer {sandbox.demo.api_key}"})
    assert r.status_code == 400
    assert "<Code>InvalidArgument</Code>" in r.text
    [entry] = [e for e in sandbox.request_log() if e["path"].startswith("/_s3/")]
    assert entry["hasAuthorization"] is True
    assert entry["status"] == 400


def test_unknown_image_or_wrong_note_is_404(sandbox: SandboxServer, api: httpx.Client) -> None:
    image_id = _store(sandbox, api, jpeg_bytes())
    other_note = sandbox.demo.notes[2]["id"]  # same clinic, not the open note
    assert other_note != sandbox.demo.open_note_id
    for note, image, message in (
        (sandbox.demo.open_note_id, "img_" + "0" * 32, "Image not found"),
        (other_note, image_id, "Image not found"),
        ("nte_" + "0" * 32, image_id, "Note not found"),
    ):
        r = api.get(f"/notes/{note}/images/{image}/url")
        assert r.status_code == 404
        assert r.json() | {"trace_id": "-"} == {
            "code": "not_found",
            "message": message,
            "trace_id": "-",
        }


def test_ehr_failed_image_still_has_a_signed_url(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(ehr_fail=1)
    data = jpeg_bytes()
    r = upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, data)
    assert r.status_code == 502
    [stored] = sandbox.uploads()
    link = _signed(api, sandbox.demo.open_note_id, stored["id"])
    assert plain.get(link["url"]).content == data
