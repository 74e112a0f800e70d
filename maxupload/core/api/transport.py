"""How requests reach the API: proxies for https only, and a total deadline for every request.

* The key goes only to the configured host: over TLS (through the clinic's proxy when
  ``HTTPS_PROXY``/``ALL_PROXY`` name one, by a CONNECT tunnel, so the proxy sees only
  ciphertext), or over plain http only directly to this computer. ``HTTP_PROXY`` is never used:
  a plain-http request carries the key in clear text.
* Per-read timeouts end a silent server, not one that trickles a byte now and then. Every read,
  write and connect of a request is also bounded by what is left of the request's total
  deadline (``deadline``), so a trickling server ends the request too.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import ssl
import threading
import time
import typing
from collections.abc import Iterator, Mapping

import httpcore
import httpx
from httpx._utils import get_environment_proxies

from maxupload.core.errors import MaxUploadError
from maxupload.core.system.logsetup import redact

_local = threading.local()


class ProxySettingError(MaxUploadError):
    """HTTPS_PROXY or ALL_PROXY holds something that is not a usable proxy address."""

    default_next_step = (
        "Fix HTTPS_PROXY / ALL_PROXY (e.g. http://proxy.clinic.example:3128), or unset them."
    )


class DeadlineState:
    """One request's total deadline (monotonic seconds) and whether it was reached."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False

    def remaining(self) -> float:
        return self.ends - time.monotonic()


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[DeadlineState | None]:
    """Bound every network step this thread takes inside the block by ``seconds`` in total."""
    previous = getattr(_local, "state", None)
    state = None if seconds is None else DeadlineState(seconds)
    _local.state = state
    try:
        yield state
    finally:
        _local.state = previous


def _bounded(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the current deadline (ReadTimeout when none)."""
    state: DeadlineState | None = getattr(_local, "state", None)
    if state is None:
        return timeout
    remaining = state.remaining()
    if remaining <= 0:
        state.expired = True
        raise httpcore.ReadTimeout(f"no complete answer within {state.seconds:g} s")
    return remaining if timeout is None else min(timeout, remaining)


def _mark_if_expired() -> None:
    state: DeadlineState | None = getattr(_local, "state", None)
    if state is not None and state.remaining() <= 0:
        state.expired = True


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write stops at the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._inner.read(max_bytes, _bounded(timeout))
        except httpcore.TimeoutException:
            _mark_if_expired()
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._inner.write(buffer, _bounded(timeout))
        except httpcore.TimeoutException:
            _mark_if_expired()
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, with connections that honour the deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    """httpx's transport (direct or through one proxy) on the deadline-aware backend."""

    def __init__(self, ssl_context: ssl.SSLContext, proxy: str | None = None) -> None:
        super().__init__(verify=ssl_context, proxy=proxy, trust_env=False)
        # httpcore takes its socket backend only through its pool; httpx does not pass one on.
        self._pool._network_backend = _DeadlineBackend()


def https_proxy_mounts(ssl_context: ssl.SSLContext) -> dict[str, httpx.BaseTransport | None]:
    """Transports per URL pattern: the environment's proxies for https (``NO_PROXY`` kept),
    and plain http always direct (it is allowed only to this computer, and carries the key)."""
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for pattern, proxy in get_environment_proxies().items():
        if pattern.startswith("http://"):
            continue  # HTTP_PROXY: never
        try:
            mounts[pattern] = None if proxy is None else _Transport(ssl_context, proxy)
        except (ValueError, ImportError, httpx.InvalidURL) as exc:
            raise ProxySettingError(
                f"The proxy setting for {pattern} ({redact(proxy or '')[:120]}) cannot be used: "
                f"{type(exc).__name__}."
            ) from None
    mounts["http://"] = _Transport(ssl_context)
    return mounts


def make_http_client(
    ssl_context: ssl.SSLContext,
    *,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
    **options: typing.Any,
) -> httpx.Client:
    """The httpx client for one ApiClient: no redirects, environment read only for https
    proxies, every connection deadline-aware."""
    return httpx.Client(
        headers=dict(headers),
        timeout=timeout,
        transport=_Transport(ssl_context),
        mounts=https_proxy_mounts(ssl_context),
        trust_env=False,
        follow_redirects=False,
        **options,
    )


class _HideQueryStrings(logging.Filter):
    """httpx logs every request's full URL at INFO. A signed URL's query is a working link to
    a clinical photo for an hour, and a search query may hold a patient's name: log URLs
    without their query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, httpx.URL) and a.query for a in record.args
        ):
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(f, _HideQueryStrings) for f in _httpx_log.filters):
    _httpx_log.addFilter(_HideQueryStrings())


@functools.lru_cache(maxsize=1)
def _default_tls_context() -> ssl.SSLContext:
    """One verifying context for the process (loading the CA bundle costs ~0.1 s per client)."""
    return httpx.create_ssl_context()


def tls_context(verify: bool | str | ssl.SSLContext) -> ssl.SSLContext:
    """TLS is always verified: True (default CA bundle), a CA bundle path, or a strict context."""
    if verify is True:
        return _default_tls_context()
    if verify is False:
        raise ValueError("TLS certificate verification cannot be turned off.")
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    if verify.verify_mode != ssl.CERT_REQUIRED or not verify.check_hostname:
        raise ValueError("The TLS context must verify certificates and host names.")
    return verify


def tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
