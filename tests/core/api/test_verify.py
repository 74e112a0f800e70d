"""Verification of the stored copy, against the sandbox's signed URLs (real HTTP, real expiry)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.api.errors import VerificationError
from maxupload.core.api.models import SignedUrl
from maxupload.core.api.verify import verify_stored_copy
from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg


@pytest.fixture
def short_ttl(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox(url_ttl_s=5)


@pytest.fixture
def client(short_ttl: SandboxServer) -> Iterator[ApiClient]:
    with ApiClient(short_ttl.base_url, short_ttl.demo.api_key, short_ttl.demo.org_id) as c:
        yield c


def _upload(client: ApiClient, srv: SandboxServer, tmp_path: Path) -> tuple[str, str]:
    data = write_jpeg(tmp_path / "p.jpg", photo(200, 150), metadata=False).read_bytes()
    image = client.upload_image(
        srv.demo.open_note_id, srv.demo.provider_id, data, "p.jpg", "image/jpeg"
    )
    return image.id, hashlib.sha256(data).hexdigest()


def _count(srv: SandboxServer, suffix: str, status: int | None = None) -> int:
    return sum(
        1
        for e in srv.request_log()
        if e["path"].endswith(suffix) and (status is None or e["status"] == status)
    )


def test_matching_copy_is_verified(
    client: ApiClient, short_ttl: SandboxServer, tmp_path: Path
) -> None:
    image_id, sha = _upload(client, short_ttl, tmp_path)
    result = verify_stored_copy(client, short_ttl.demo.open_note_id, image_id, sha)
    assert result.sha256 == sha and result.url_fetches == 1
    downloads = [e for e in short_ttl.request_log() if e["path"].startswith("/_s3/")]
    assert len(downloads) == 1 and downloads[0]["hasAuthorization"] is False


def test_a_url_about_to_expire_is_fetched_again_before_use(
    client: ApiClient, short_ttl: SandboxServer, tmp_path: Path
) -> None:
    image_id, sha = _upload(client, short_ttl, tmp_path)
    note = short_ttl.demo.open_note_id
    old = client.get_image_url(note, image_id)
    stale = SignedUrl(old.url, datetime.now(UTC) - timedelta(seconds=1))
    result = verify_stored_copy(client, note, image_id, sha, signed_url=stale)
    assert result.url_fetches == 1
    assert result.url.url != old.url or result.url.expires_at != stale.expires_at
    assert _count(short_ttl, "/url") == 2  # ours above, and the fresh one
    assert not [e for e in short_ttl.request_log() if e["status"] == 403]


def test_a_refused_url_is_replaced_and_the_download_succeeds(
    client: ApiClient, short_ttl: SandboxServer, tmp_path: Path
) -> None:
    image_id, sha = _upload(client, short_ttl, tmp_path)
    note = short_ttl.demo.open_note_id
    fetched = client.get_image_url(note, image_id)
    # Our clock and the server's disagree: the URL looks valid for an hour here, but S3
    # already refuses it.
    url = SignedUrl(fetched.url, datetime.now(UTC) + timedelta(hours=1))
    short_ttl.advance_clock(30)
    result = verify_stored_copy(client, note, image_id, sha, signed_url=url)
    assert result.sha256 == sha
    s3 = [e["status"] for e in short_ttl.request_log() if e["path"].startswith("/_s3/")]
    assert s3 == [403, 200]
    assert _count(short_ttl, "/url") == 2


def test_a_different_stored_copy_is_a_clear_error(
    client: ApiClient, short_ttl: SandboxServer, tmp_path: Path
) -> None:
    image_id, _sha = _upload(client, short_ttl, tmp_path)
    with pytest.raises(VerificationError, match=f"{image_id} differs from the photo"):
        verify_stored_copy(client, short_ttl.demo.open_note_id, image_id, "0" * 64)


def test_gives_up_when_every_url_is_refused(
    client: ApiClient, short_ttl: SandboxServer, tmp_path: Path
) -> None:
    image_id, sha = _upload(client, short_ttl, tmp_path)
    note = short_ttl.demo.open_note_id

    class ClockSkewed:
        """Every URL handed out is already past its server-side expiry."""

        def get_image_url(self, note_id: str, image_id: str) -> SignedUrl:
            url = client.get_image_url(note_id, image_id)
            short_ttl.advance_clock(30)
            return url

        def download(self, url: str, *, cancel: object = None) -> bytes:
            return client.download(url)

    with pytest.raises(VerificationError, match="refused"):
        verify_stored_copy(ClockSkewed(), note, image_id, sha, max_refreshes=2)
    assert _count(short_ttl, "/url") == 3
