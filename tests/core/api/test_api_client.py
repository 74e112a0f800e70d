"""ApiClient against the sandbox: results, headers, every documented error, pagination, URLs."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from maxupload import USER_AGENT
from maxupload.core.api.calls import check_url
from maxupload.core.api.client import ApiClient
from maxupload.core.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    InsecureUrlError,
    NetworkError,
    NoteLocked,
    NotFound,
    ScopeError,
)
from maxupload.core.api.models import Note, Patient, Provider, UploadedImage
from maxupload.core.api.wire import parse_rate_limit
from maxupload.sandbox import SandboxServer
from tests.plugins.contract import FAST_RETRIES, LeakGuard, settled_log
from tests.plugins.images import photo


def jpeg_bytes(seed: int = 1, size: tuple[int, int] = (320, 240)) -> bytes:
    buf = io.BytesIO()
    photo(*size, seed=seed).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (160, 120)) -> bytes:
    buf = io.BytesIO()
    photo(*size, seed=7).save(buf, "PNG")
    return buf.getvalue()


def _send_jpeg(
    client: ApiClient, sandbox: SandboxServer, note_id: str | None = None
) -> UploadedImage:
    """Upload a small JPEG as ``p.jpg`` to ``note_id`` (default: the open demo note)."""
    return client.upload_image(
        note_id or sandbox.demo.open_note_id,
        sandbox.demo.provider_id,
        jpeg_bytes(),
        "p.jpg",
        "image/jpeg",
    )


# -- results ----------------------------------------------------------------------------------


def test_me_names_app_organization_and_scopes(
    api_client: ApiClient, sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    info = api_client.me()
    assert info.organization_id == sandbox.demo.org_id
    assert info.app_id and info.app_id.startswith("app_")
    assert info.missing("write:notes", "read:notes", "read:patients") == []
    readonly = sandbox_client(sandbox.demo.readonly_key).me()
    assert readonly.missing("write:notes") == ["write:notes"]
    entry = settled_log(sandbox)[-1]
    assert entry["path"] == "/v1/marketplace/me"


def test_upload_stores_the_exact_bytes_once(api_client: ApiClient, sandbox: SandboxServer) -> None:
    data = jpeg_bytes()
    image = api_client.upload_image(
        sandbox.demo.open_note_id,
        sandbox.demo.provider_id,
        data,
        "photo-1a2b3c4d.jpg",
        "image/jpeg",
    )
    assert image.id.startswith("img_")
    assert image.status == "synced"
    assert image.mime_type == "image/jpeg"
    assert image.file_name == "photo-1a2b3c4d.jpg"
    assert image.size_kb > 0
    [stored] = sandbox.uploads()
    assert stored["id"] == image.id
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["size"] == len(data)
    assert stored["noteId"] == sandbox.demo.open_note_id
    assert stored["providerId"] == sandbox.demo.provider_id
    assert stored["mimeType"] == "image/jpeg"
    assert stored["fileName"] == "photo-1a2b3c4d.jpg"
    [entry] = settled_log(sandbox)
    assert entry["query"] == {"providerId": sandbox.demo.provider_id}
    assert entry["contentType"].startswith("multipart/form-data; boundary=")
    assert entry["status"] == 200 and entry["attempt"] == 1


def test_png_travels_as_image_png_and_pending_status_is_kept(
    make_sandbox: Callable[..., SandboxServer],
    contract_hooks: dict[str, list[Callable[..., Any]]],
) -> None:
    server = make_sandbox(upload_status="pending_upload")
    data = png_bytes()
    with ApiClient(
        server.base_url, server.demo.api_key, server.demo.org_id, event_hooks=contract_hooks
    ) as client:
        image = client.upload_image(
            server.demo.open_note_id, server.demo.provider_id, data, "scan.png", "image/png"
        )
    assert image.mime_type == "image/png"
    assert image.status == "pending_upload"
    [stored] = server.uploads()
    assert stored["mimeType"] == "image/png"
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()


def test_file_name_cannot_break_the_multipart_headers(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    name = 'odd "name"\r\nX-Injected: 1.jpg'
    api_client.upload_image(
        sandbox.demo.open_note_id, sandbox.demo.provider_id, jpeg_bytes(), name, "image/jpeg"
    )
    [stored] = sandbox.uploads()
    assert "\r" not in stored["fileName"] and "\n" not in stored["fileName"]
    assert stored["fileName"].startswith("odd ")


def test_progress_counts_bytes_taken_by_the_transport(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    data = jpeg_bytes(size=(1200, 900))
    seen: list[tuple[int, int]] = []
    api_client.upload_image(
        sandbox.demo.open_note_id,
        sandbox.demo.provider_id,
        data,
        "p.jpg",
        "image/jpeg",
        on_progress=lambda sent, total: seen.append((sent, total)),
    )
    [entry] = settled_log(sandbox)
    total = int(entry["contentLength"])
    assert total == entry["bodyBytes"] > len(data)
    assert seen[0] == (0, total)
    assert seen[-1] == (total, total)
    assert len(seen) > 3
    sent_values = [sent for sent, _ in seen]
    assert sent_values == sorted(sent_values)
    assert {t for _, t in seen} == {total}


def test_get_note_reads_patient_facility_and_providers(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    note = api_client.get_note(sandbox.demo.open_note_id)
    raw = next(n for n in sandbox.demo.notes if n["id"] == sandbox.demo.open_note_id)
    assert note.id == raw["id"]
    assert note.status == raw["status"] and not note.is_locked
    assert note.visit_datetime is not None
    assert note.patient is not None and note.patient.id == raw["patient"]["id"]
    assert note.patient.last_name == raw["patient"]["lastName"]
    assert note.facility is not None and note.facility.id == raw["facility"]["id"]
    assert [p.id for p in note.assigned_providers] == [p["id"] for p in raw["assignedProviders"]]
    assert api_client.get_note(sandbox.demo.signed_note_id).is_locked


def test_every_api_call_carries_key_organization_and_user_agent(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    api_client.me()
    api_client.get_note(sandbox.demo.open_note_id)
    api_client.list_providers()
    api_client.list_patients(search="a")
    api_client.list_notes()
    _send_jpeg(api_client, sandbox)
    entries = settled_log(sandbox)
    assert len(entries) == 6
    for entry in entries:
        assert entry["key"] == "demo"
        assert entry["orgId"] == sandbox.demo.org_id
        assert entry["userAgent"] == USER_AGENT
        assert entry["status"] == 200


def test_rate_limit_headers_are_read(api_client: ApiClient) -> None:
    api_client.list_providers()
    first = api_client.last_rate_limit
    api_client.list_providers()
    second = api_client.last_rate_limit
    assert first.limit == 1000
    assert first.remaining is not None and second.remaining == first.remaining - 1
    assert first.reset is not None and first.reset > 1_700_000_000
    assert first.retry_after is None


# -- pagination -------------------------------------------------------------------------------


def test_iter_notes_walks_every_page_with_page_size(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    first = api_client.list_notes(page_size=2)
    total = first.pagination.total_count
    assert first.pagination.page == 1 and first.pagination.page_size == 2
    assert first.pagination.total_pages == -(-total // 2)
    sandbox.reset()
    notes = list(api_client.iter_notes(page_size=2))
    assert len(notes) == total
    assert len({n.id for n in notes}) == total
    assert all(isinstance(n, Note) for n in notes)
    queries = [e["query"] for e in settled_log(sandbox)]
    assert queries == [
        {"page": str(p), "pageSize": "2"} for p in range(1, first.pagination.total_pages + 1)
    ]


def test_note_filters_reach_the_server(api_client: ApiClient, sandbox: SandboxServer) -> None:
    note = api_client.get_note(sandbox.demo.open_note_id)
    assert note.patient is not None
    notes = list(api_client.iter_notes(patient_id=note.patient.id))
    assert notes and all(n.patient and n.patient.id == note.patient.id for n in notes)
    by_provider = list(api_client.iter_notes(provider_id=sandbox.demo.provider_id))
    assert by_provider
    assert all(
        sandbox.demo.provider_id in [p.id for p in n.assigned_providers] for n in by_provider
    )
    assert settled_log(sandbox)[-1]["query"]["providerId"] == sandbox.demo.provider_id


def test_providers_hide_hidden_ones_by_default(
    api_client: ApiClient, sandbox: SandboxServer
) -> None:
    providers = list(api_client.iter_providers())
    assert providers and all(isinstance(p, Provider) and not p.hidden for p in providers)
    assert sandbox.demo.hidden_provider_id not in {p.id for p in providers}
    assert settled_log(sandbox)[-1]["query"]["hidden"] == "false"
    everyone = list(api_client.iter_providers(hidden=None))
    assert sandbox.demo.hidden_provider_id in {p.id for p in everyone}


def test_patient_search(api_client: ApiClient, sandbox: SandboxServer) -> None:
    page = api_client.list_patients(search="Rivera")
    assert page.items and all(isinstance(p, Patient) for p in page.items)
    assert all(p.last_name == "Rivera" for p in page.items)
    assert settled_log(sandbox)[-1]["query"] == {"page": "1", "pageSize": "100", "search": "Rivera"}
    total = api_client.list_patients(page_size=3).pagination.total_count
    assert total > 3
    assert len({p.id for p in api_client.iter_patients(page_size=3)}) == total


def test_page_arguments_are_checked(api_client: ApiClient) -> None:
    with pytest.raises(ValueError):
        api_client.list_notes(page=0)
    with pytest.raises(ValueError):
        api_client.list_patients(page_size=101)


# -- documented errors ------------------------------------------------------------------------


def assert_error_matches_log(exc: ApiError, sandbox: SandboxServer, status: int, code: str) -> None:
    """The error carries the server's own code, message and trace id, and one attempt was made."""
    entries = settled_log(sandbox)
    assert len(entries) == 1, "an error answer must not be retried"
    entry = entries[0]
    assert exc.status == status == entry["status"]
    assert exc.code == code
    assert exc.trace_id and exc.trace_id == entry["traceId"]
    assert exc.message and exc.message in str(exc)
    assert exc.trace_id in str(exc)
    assert exc.rate_limit.limit == 1000
    assert exc.next_step


def test_401_wrong_key(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], leak_guard: LeakGuard
) -> None:
    wrong_key = "max_dev_ak_" + "7" * 32
    client = sandbox_client(wrong_key)
    with pytest.raises(AuthError) as caught:
        _send_jpeg(client, sandbox)
    assert_error_matches_log(caught.value, sandbox, 401, "unauthorized")
    assert caught.value.message == "Invalid or missing API key"
    assert "key" in caught.value.next_step.lower()
    leak_guard.check_exception(caught.value)
    assert sandbox.uploads() == []


def test_403_names_the_missing_scope(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], leak_guard: LeakGuard
) -> None:
    client = sandbox_client(sandbox.demo.readonly_key)
    with pytest.raises(ScopeError) as caught:
        _send_jpeg(client, sandbox)
    assert_error_matches_log(caught.value, sandbox, 403, "forbidden")
    assert caught.value.required_scope == "write:notes"
    assert "write:notes" in caught.value.next_step
    leak_guard.check_exception(caught.value)


def test_404_note_of_another_clinic(
    api_client: ApiClient, sandbox: SandboxServer, leak_guard: LeakGuard
) -> None:
    with pytest.raises(NotFound) as caught:
        _send_jpeg(api_client, sandbox, sandbox.demo.other_org_note_id)
    assert_error_matches_log(caught.value, sandbox, 404, "not_found")
    leak_guard.check_exception(caught.value)
    assert sandbox.uploads() == []


def test_404_on_get_is_not_retried(api_client: ApiClient, sandbox: SandboxServer) -> None:
    with pytest.raises(NotFound) as caught:
        api_client.get_note("nte_" + "0" * 32)
    assert_error_matches_log(caught.value, sandbox, 404, "not_found")


def test_409_signed_note(
    api_client: ApiClient, sandbox: SandboxServer, leak_guard: LeakGuard
) -> None:
    with pytest.raises(NoteLocked) as caught:
        _send_jpeg(api_client, sandbox, sandbox.demo.signed_note_id)
    assert_error_matches_log(caught.value, sandbox, 409, "conflict")
    assert "signed" in caught.value.message.lower()
    leak_guard.check_exception(caught.value)


def test_400_says_what_the_server_refused(
    api_client: ApiClient, sandbox: SandboxServer, leak_guard: LeakGuard
) -> None:
    with pytest.raises(BadRequest) as caught:
        # PNG bytes declared as JPEG: the server names the mismatch.
        api_client.upload_image(
            sandbox.demo.open_note_id, sandbox.demo.provider_id, png_bytes(), "p.jpg", "image/jpeg"
        )
    assert_error_matches_log(caught.value, sandbox, 400, "bad_request")
    assert "image/png" in caught.value.message
    leak_guard.check_exception(caught.value)


def test_400_unknown_provider(api_client: ApiClient, sandbox: SandboxServer) -> None:
    with pytest.raises(BadRequest) as caught:
        api_client.upload_image(
            sandbox.demo.open_note_id, "prv_" + "0" * 32, jpeg_bytes(), "p.jpg", "image/jpeg"
        )
    assert_error_matches_log(caught.value, sandbox, 400, "bad_request")
    assert "providerId" in caught.value.message


def test_wrong_organization_header(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client(sandbox.demo.api_key, org_id="7e2c8cfe-b7a9-4deb-986d-e7012589e72b")
    with pytest.raises(ApiError) as caught:
        client.get_note(sandbox.demo.open_note_id)
    assert caught.value.status in (403, 404)
    assert caught.value.trace_id == settled_log(sandbox)[-1]["traceId"]


# -- arguments and addresses ------------------------------------------------------------------


def test_only_jpeg_and_png_are_sent(api_client: ApiClient, sandbox: SandboxServer) -> None:
    with pytest.raises(ValueError, match="JPEG and PNG"):
        api_client.upload_image(
            sandbox.demo.open_note_id, sandbox.demo.provider_id, b"GIF89a", "a.gif", "image/gif"
        )
    with pytest.raises(ValueError):
        api_client.upload_image(
            sandbox.demo.open_note_id, sandbox.demo.provider_id, b"", "a.jpg", "image/jpeg"
        )
    assert sandbox.request_log() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://api.maxcare.ai/v3",
        "http://10.0.0.5:8080/v3",
        "http://192.168.1.20/v3",
        "http://[2001:db8::1]/v3",
        "http://localhost.example.com/v3",
        "ftp://api.maxcare.ai/v3",
        "file:///etc/passwd",
        "not a url",
    ],
)
def test_insecure_or_odd_addresses_are_refused(url: str) -> None:
    with pytest.raises(InsecureUrlError) as caught:
        ApiClient(url, "max_dev_ak_" + "1" * 32, "org")
    assert caught.value.next_step
    with pytest.raises(InsecureUrlError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.maxcare.ai/v3",
        "http://127.0.0.1:8765/v3",
        "http://127.4.5.6:8765/v3",
        "http://localhost:8765/v3",
        "http://[::1]:8765/v3",
    ],
)
def test_https_and_loopback_are_accepted(url: str) -> None:
    ApiClient(url, "max_dev_ak_" + "1" * 32, "org").close()


def test_download_refuses_plain_http_to_another_host(api_client: ApiClient) -> None:
    with pytest.raises(InsecureUrlError):
        api_client.download("http://s3.amazonaws.com/bucket/x.jpg?X-Amz-Signature=abc")


def test_tls_verification_cannot_be_turned_off() -> None:
    with pytest.raises(ValueError, match="cannot be turned off"):
        ApiClient("https://api.maxcare.ai/v3", "max_dev_ak_" + "1" * 32, "org", verify=False)


def test_key_with_unsendable_characters_is_refused_without_echoing_it() -> None:
    key = "max_dev_ak_secret\nvalue"
    with pytest.raises(ValueError) as caught:
        ApiClient("https://api.maxcare.ai/v3", key, "org")
    assert "secret" not in str(caught.value)


def test_repr_shows_no_key(sandbox: SandboxServer, api_client: ApiClient) -> None:
    text = repr(api_client) + str(api_client) + repr(vars(api_client).get("_http"))
    assert sandbox.demo.api_key not in text
    assert sandbox.demo.org_id in repr(api_client)


def test_unreachable_server_is_a_network_error_that_sent_nothing(
    leak_guard: LeakGuard, unused_port: int
) -> None:
    key = "max_dev_ak_" + "5" * 32
    leak_guard.watch(key)
    with ApiClient(
        f"http://127.0.0.1:{unused_port}/v3", key, "org", retry_policy=FAST_RETRIES
    ) as client:
        with pytest.raises(NetworkError) as caught:
            client.get_note("nte_1")
        assert caught.value.request_sent is False
        assert "127.0.0.1" in str(caught.value)
        leak_guard.check_exception(caught.value)
        with pytest.raises(NetworkError) as upload_caught:
            client.upload_image("nte_1", "prv_1", b"\xff\xd8\xff", "a.jpg", "image/jpeg")
        assert upload_caught.value.request_sent is False
        assert not upload_caught.value.copy_may_exist
        leak_guard.check_exception(upload_caught.value)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_retry_after_as_http_date_and_garbled_headers() -> None:
    import httpx

    headers = httpx.Headers(
        {
            "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT",
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "lots",
        }
    )
    info = parse_rate_limit(headers, now=1445412480.0)  # 30 s before that date
    assert info.retry_after == 30.0
    assert info.limit == 1000 and info.remaining is None and info.reset is None
    assert parse_rate_limit(httpx.Headers({})).retry_after is None


def test_one_client_serves_several_threads(api_client: ApiClient, sandbox: SandboxServer) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                api_client.get_note(sandbox.demo.open_note_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len([e for e in settled_log(sandbox) if e["status"] == 200]) == 12


def test_jpeg_fixture_is_a_real_jpeg() -> None:
    with Image.open(io.BytesIO(jpeg_bytes())) as im:
        assert im.format == "JPEG"


def test_logs_hold_no_signatures_and_no_search_text(
    api_client: ApiClient, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    image = _send_jpeg(api_client, sandbox)
    link = api_client.get_image_url(sandbox.demo.open_note_id, image.id)
    api_client.download(link.url)
    api_client.list_patients(search="Rivera")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/_s3/" in text  # the download was logged...
    assert "X-Amz-Signature" not in text and "Signature=" not in text  # ...without its link
    assert "/v3/patients" in text
    assert "Rivera" not in text
