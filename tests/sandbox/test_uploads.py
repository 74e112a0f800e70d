"""Uploads: accepted only for real JPEG/PNG bytes on an open note, recorded exactly as received."""

from __future__ import annotations

import hashlib
import math
import re
import socket

import httpx
import pytest

from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import jpeg_bytes, make_client, plain, png_bytes, upload


def _bad(r: httpx.Response, status: int, code: str, message: str | re.Pattern[str]) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    if isinstance(message, str):
        assert body["message"] == message
    else:
        assert message.search(body["message"]), body["message"]


@pytest.mark.parametrize(
    ("make", "name", "mime"),
    [(jpeg_bytes, "wound.jpg", "image/jpeg"), (png_bytes, "wound.png", "image/png")],
)
def test_upload_is_stored_byte_for_byte(
    sandbox: SandboxServer, api: httpx.Client, make, name: str, mime: str
) -> None:
    data = make()
    r = upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, data, name=name, mime=mime)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == "success"
    image = body["data"]
    assert re.fullmatch(r"img_[0-9a-f]{32}", image["id"])
    assert image == {
        "id": image["id"],
        "fileName": name,
        "mimeType": mime,
        "sizeKb": math.ceil(len(data) / 1024),
        "status": "synced",
    }
    [stored] = sandbox.uploads()
    assert stored["id"] == image["id"]
    assert stored["noteId"] == sandbox.demo.open_note_id
    assert stored["providerId"] == sandbox.demo.provider_id
    assert stored["orgId"] == sandbox.demo.org_id
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["size"] == len(data)
    assert stored["mimeType"] == mime
    assert stored["fileName"] == name
    assert stored["status"] == "synced"
    assert stored["receivedAt"].endswith("Z")
    assert stored["traceId"]
    assert sandbox.image_bytes(image["id"]) == data
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert r.headers[header].isdigit()


def test_pending_upload_status_when_configured(make_sandbox) -> None:
    srv = make_sandbox(upload_status="pending_upload")
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        r = upload(client, srv.demo.open_note_id, srv.demo.provider_id, jpeg_bytes())
    assert r.json()["data"]["status"] == "pending_upload"
    assert srv.uploads()[0]["status"] == "pending_upload"


def test_missing_provider_is_400(sandbox: SandboxServer, api: httpx.Client) -> None:
    r = upload(api, sandbox.demo.open_note_id, None, jpeg_bytes())
    _bad(r, 400, "bad_request", "'providerId' is required")
    r = upload(api, sandbox.demo.open_note_id, "", jpeg_bytes())
    _bad(r, 400, "bad_request", "'providerId' is required")


def test_provider_of_another_clinic_is_400(sandbox: SandboxServer, api: httpx.Client) -> None:
    for provider in ("prv_" + "0" * 32, sandbox.demo.other_org_provider_id):
        r = upload(api, sandbox.demo.open_note_id, provider, jpeg_bytes())
        _bad(r, 400, "bad_request", "'providerId' is not a provider of this organization")
    assert sandbox.uploads() == []


def test_unknown_note_is_404(sandbox: SandboxServer, api: httpx.Client) -> None:
    for note in ("nte_" + "0" * 32, sandbox.demo.other_org_note_id):
        r = upload(api, note, sandbox.demo.provider_id, jpeg_bytes())
        _bad(r, 404, "not_found", "Note not found")


def test_signed_note_is_409(sandbox: SandboxServer, api: httpx.Client) -> None:
    r = upload(api, sandbox.demo.signed_note_id, sandbox.demo.provider_id, jpeg_bytes())
    _bad(r, 409, "conflict", "Cannot edit a signed note")
    assert sandbox.uploads() == []


def test_body_must_be_multipart_with_a_file_part(sandbox: SandboxServer, api: httpx.Client) -> None:
    url = f"/notes/{sandbox.demo.open_note_id}/images"
    params = {"providerId": sandbox.demo.provider_id}
    r = api.post(url, params=params, content=jpeg_bytes(), headers={"Content-Type": "image/jpeg"})
    _bad(r, 400, "bad_request", "Request must be multipart/form-data with one part named 'file'")
    r = api.post(url, params=params, files={"photo": ("a.jpg", jpeg_bytes(), "image/jpeg")})
    _bad(r, 400, "bad_request", "'file' is required (multipart/form-data part named 'file')")
    r = api.post(url, params=params, files={"file": ("a.jpg", b"", "image/jpeg")})
    _bad(r, 400, "bad_request", "'file' is empty")
    assert sandbox.uploads() == []


@pytest.mark.parametrize(
    ("data", "mime", "message"),
    [
        (b"GIF89a" + b"\0" * 64, "image/gif", "Unsupported file type 'image/gif'"),
        (b"plain text, not a photo", "image/jpeg", "not a JPEG or PNG image"),
        (None, "image/png", "File content is image/jpeg but the part's Content-Type is image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 200, "image/jpeg", "not a readable image/jpeg image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "image/png", "not a readable image/png image"),
    ],
)
def test_bytes_must_really_be_the_declared_image(
    sandbox: SandboxServer, api: httpx.Client, data: bytes | None, mime: str, message: str
) -> None:
    data = jpeg_bytes() if data is None else data
    r = upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, data, mime=mime)
    _bad(r, 400, "bad_request", re.compile(re.escape(message)))
    assert sandbox.uploads() == []


def test_truncated_jpeg_is_rejected(sandbox: SandboxServer, api: httpx.Client) -> None:
    data = jpeg_bytes((400, 300))[:300]
    r = upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, data)
    _bad(r, 400, "bad_request", re.compile("not a readable image/jpeg image"))


def test_size_limit_names_the_limit(make_sandbox) -> None:
    data = jpeg_bytes((300, 300))
    srv = make_sandbox(max_upload_bytes=len(data) - 1)
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        r = upload(client, srv.demo.open_note_id, srv.demo.provider_id, data)
        _bad(r, 400, "bad_request", re.compile(rf"limit is {len(data) - 1} bytes"))
        srv_ok = upload(client, srv.demo.open_note_id, srv.demo.provider_id, jpeg_bytes((8, 8)))
        assert srv_ok.status_code == 200
    assert len(srv.uploads()) == 1


def test_oversized_body_is_refused_before_reading_it(make_sandbox) -> None:
    srv = make_sandbox(max_upload_bytes=1000)
    big = b"\xff\xd8\xff" + b"\0" * 1_100_000
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        r = upload(client, srv.demo.open_note_id, srv.demo.provider_id, big)
    _bad(r, 400, "bad_request", re.compile(r"too large .*limit is 1000 bytes \(0.001 MB\)"))


def test_chunked_upload_body_is_accepted(sandbox: SandboxServer, api: httpx.Client) -> None:
    """A client streaming with a progress callback sends Transfer-Encoding: chunked."""
    data = jpeg_bytes((640, 480))
    request = api.build_request(
        "POST",
        f"/notes/{sandbox.demo.open_note_id}/images",
        params={"providerId": sandbox.demo.provider_id},
        files={"file": ("stream.jpg", data, "image/jpeg")},
    )
    body = request.read()

    def chunks():
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    streamed = api.build_request(
        "POST",
        request.url,
        content=chunks(),
        headers={"Content-Type": request.headers["Content-Type"]},
    )
    assert streamed.headers.get("Transfer-Encoding") == "chunked"
    r = api.send(streamed)
    assert r.status_code == 200, r.text
    assert sandbox.uploads()[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_file_name_keeps_only_the_base_name(sandbox: SandboxServer, api: httpx.Client) -> None:
    r = upload(
        api, sandbox.demo.open_note_id, sandbox.demo.provider_id, jpeg_bytes(), name="a/b/c.jpg"
    )
    assert r.json()["data"]["fileName"] == "c.jpg"


def test_upload_only_under_v3(sandbox: SandboxServer) -> None:
    r = plain.post(
        f"{sandbox.root_url}/v9/notes/{sandbox.demo.open_note_id}/images",
        params={"providerId": sandbox.demo.provider_id},
        headers={"Authorization": f"Bearer {sandbox.demo.api_key}"},
        files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
    )
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_part_without_content_type_is_400(sandbox: SandboxServer, api: httpx.Client) -> None:
    boundary = "sandbox-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        ).encode()
        + jpeg_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = api.post(
        f"/notes/{sandbox.demo.open_note_id}/images",
        params={"providerId": sandbox.demo.provider_id},
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    _bad(
        r,
        400,
        "bad_request",
        "The 'file' part has no Content-Type. Send it as image/jpeg or image/png",
    )


def test_half_sent_upload_is_never_stored(sandbox: SandboxServer) -> None:
    """A client that gives up mid-body (a cancelled upload) leaves no copy behind."""
    data = jpeg_bytes((300, 300))
    request = httpx.Request(
        "POST",
        f"{sandbox.base_url}/notes/{sandbox.demo.open_note_id}/images",
        params={"providerId": sandbox.demo.provider_id},
        headers={
            "Authorization": f"Bearer {sandbox.demo.api_key}",
            "X-Organization-Id": sandbox.demo.org_id,
        },
        files={"file": ("a.jpg", data, "image/jpeg")},
    )
    body = request.read()
    head = f"POST {request.url.raw_path.decode()} HTTP/1.1\r\nHost: x\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host"
    )
    with socket.create_connection(("127.0.0.1", sandbox.port)) as sock:
        sock.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""  # no answer to half a request
    [entry] = sandbox.request_log()
    assert entry["fault"] == "client_gone"
    assert entry["status"] is None
    assert sandbox.uploads() == []
