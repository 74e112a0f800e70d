"""ApiClient: the Max AI Public API calls MaxUpload makes, with typed results and typed errors.

The endpoints: the key check, upload of one photo, a stored photo's signed URL and its
download, notes, providers and patients. Sending, retries and error typing are
:class:`~maxupload.core.api.session.ApiSession`'s; reading answers is
:mod:`maxupload.core.api.wire`'s.

The API key is sent only in the ``Authorization`` header of API calls. It is never logged,
never part of an exception text, and never shown by ``repr``. Log lines name method, path,
status and trace id; query strings (signed-URL signatures, search text) are never logged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from maxupload.core.api.calls import (
    MAX_DOWNLOAD_BYTES,
    UPLOAD_MIME_TYPES,
    ProgressCallback,
    RetryPolicy,
    _Call,
    _Multipart,
    _seg,
    check_url,
)
from maxupload.core.api.environments import api_root, with_version
from maxupload.core.api.errors import ApiError, ImageNotFound, NotFound, UploadOutcomeUnknown
from maxupload.core.api.models import (
    KeyInfo,
    Note,
    Page,
    Patient,
    Provider,
    SignedUrl,
    UploadedImage,
)
from maxupload.core.api.session import ApiSession
from maxupload.core.api.wire import (
    _all_pages,
    _BadAnswer,
    _envelope,
    _note,
    _num,
    _obj,
    _opt_str,
    _page,
    _page_params,
    _parse,
    _patient,
    _provider,
    _req_str,
    _unreadable,
    signed_url_expiry,
)

__all__ = ["ApiClient", "RetryPolicy"]


class ApiClient(ApiSession):
    """The Max AI Public API for one organization and key. Thread-safe; close it when done."""

    # -- endpoints ----------------------------------------------------------------------------

    def me(self) -> KeyInfo:
        """The key check: which app, organization and scopes this key has."""
        data = self._get_json(f"{api_root(self._base_url)}/v1/marketplace/me")
        try:
            app = _obj(data.get("app"))
            org = _obj(data.get("organization"))
            scopes = data.get("scopes") or []
            if not isinstance(scopes, list):
                raise _BadAnswer("scopes is not a list")
            return KeyInfo(
                app_id=_opt_str(app, "id"),
                organization_id=_opt_str(org, "id"),
                scopes=tuple(s for s in scopes if isinstance(s, str)),
            )
        except _BadAnswer as exc:
            raise _unreadable(str(exc)) from None

    def upload_image(
        self,
        note_id: str,
        provider_id: str,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        resend_when_rate_limited: bool = True,
    ) -> UploadedImage:
        """Attach one JPEG or PNG to a note, streamed so progress and cancel are real.

        ``on_progress(sent, total)`` counts request-body bytes taken by the transport.
        ``cancel`` stops the upload before its last byte is sent (raises ``Cancelled``);
        once the request is complete it can no longer be taken back, so the answer is awaited.

        Once the whole request has gone out, nothing is re-sent on its own: a lost answer raises
        ``UploadOutcomeUnknown``, a 502 ``EhrSyncFailed``, and any other 5xx
        ``UploadServerError``. The API documents no idempotency key, and a server that fails
        with a 500 may have stored the file before failing (as it does before a 502), so every
        5xx on an upload counts as "a copy may be stored" and the user decides. Only a 429
        (answered before any processing) and a request that never went out complete are
        re-sent automatically; with ``resend_when_rate_limited=False`` a 429 raises
        ``RateLimited`` at once (every request still waits out the pause), so a queue can
        first record that nothing was stored and then send again itself.
        """
        if mime_type not in UPLOAD_MIME_TYPES:
            raise ValueError(f"Only JPEG and PNG can be uploaded, not {mime_type!r}.")
        if not data:
            raise ValueError("The photo is empty.")
        call = _Call(
            "POST",
            self._url(f"/notes/{_seg(note_id)}/images"),
            "upload",
            params={"providerId": provider_id},
            body=_Multipart(data, file_name, mime_type),
            on_progress=on_progress,
            cancel=cancel,
            resend_when_rate_limited=resend_when_rate_limited,
        )
        answer = self._execute(call)
        try:
            record = _obj(_envelope(answer.payload))
            return UploadedImage(
                id=_req_str(record, "id"),
                file_name=_opt_str(record, "fileName") or file_name,
                mime_type=_opt_str(record, "mimeType") or mime_type,
                size_kb=_num(record.get("sizeKb")),
                status=_opt_str(record, "status") or "",
                trace_id=answer.trace_id,
            )
        except _BadAnswer:
            raise UploadOutcomeUnknown(
                "The server accepted the photo (HTTP 200) but its answer could not be read; "
                "a copy may be stored."
            ) from None

    def get_image_url(self, note_id: str, image_id: str) -> SignedUrl:
        """A signed URL for a stored image (``/v3``; ``/v2`` only if ``/v3`` answers 404)."""
        path = f"/notes/{_seg(note_id)}/images/{_seg(image_id)}/url"
        requested_at = datetime.now(UTC)
        try:
            data = self._get_json(self._url(path))
        except NotFound as first:
            try:
                data = self._get_json(with_version(self._base_url, "v2") + path)
            except ApiError as second:
                raise ImageNotFound.from_not_found(first) from second
        try:
            url = _req_str(data, "url")
        except _BadAnswer as exc:
            raise _unreadable(str(exc)) from None
        return SignedUrl(
            url=url, expires_at=signed_url_expiry(url, data.get("expiresAt"), requested_at)
        )

    def download(
        self,
        url: str,
        *,
        cancel: threading.Event | None = None,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> bytes:
        """Fetch a signed URL with a plain GET: no API key, no organization header.

        A 403 raises ``SignedUrlRefused`` (the link expired or was refused: get a fresh one).
        """
        check_url(url)
        call = _Call("GET", url, "download", cancel=cancel, max_bytes=max_bytes)
        return self._execute(call).body

    def get_note(self, note_id: str) -> Note:
        data = self._get_json(self._url(f"/notes/{_seg(note_id)}"))
        return _parse(_note, data)

    def list_notes(
        self,
        *,
        patient_id: str | None = None,
        provider_id: str | None = None,
        facility_id: str | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> Page[Note]:
        params = _page_params(page, page_size)
        for name, value in (
            ("patientId", patient_id),
            ("providerId", provider_id),
            ("facilityId", facility_id),
        ):
            if value is not None:
                params[name] = value
        data = self._get_json(self._url("/notes"), params)
        return _parse(lambda d: _page(d, "notes", _note, page, page_size), data)

    def iter_notes(
        self,
        *,
        patient_id: str | None = None,
        provider_id: str | None = None,
        facility_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Note]:
        """Every note matching the filters, page by page."""

        def fetch(page: int) -> Page[Note]:
            return self.list_notes(
                patient_id=patient_id,
                provider_id=provider_id,
                facility_id=facility_id,
                page=page,
                page_size=page_size,
            )

        return _all_pages(fetch)

    def list_providers(
        self,
        *,
        search: str | None = None,
        hidden: bool | None = False,
        page: int = 1,
        page_size: int = 100,
    ) -> Page[Provider]:
        params = _page_params(page, page_size)
        if search:
            params["search"] = search
        if hidden is not None:
            params["hidden"] = "true" if hidden else "false"
        data = self._get_json(self._url("/providers"), params)
        return _parse(lambda d: _page(d, "providers", _provider, page, page_size), data)

    def iter_providers(
        self, *, search: str | None = None, hidden: bool | None = False, page_size: int = 100
    ) -> Iterator[Provider]:
        return _all_pages(
            lambda page: self.list_providers(
                search=search, hidden=hidden, page=page, page_size=page_size
            )
        )

    def list_patients(
        self, *, search: str | None = None, page: int = 1, page_size: int = 100
    ) -> Page[Patient]:
        params = _page_params(page, page_size)
        if search:
            params["search"] = search
        data = self._get_json(self._url("/patients"), params)
        return _parse(lambda d: _page(d, "patients", _patient, page, page_size), data)

    def iter_patients(
        self, *, search: str | None = None, page_size: int = 100
    ) -> Iterator[Patient]:
        return _all_pages(
            lambda page: self.list_patients(search=search, page=page, page_size=page_size)
        )
