"""Test fixtures: a real sandbox server on loopback, fresh for each test.

``sandbox``: a running :class:`SandboxServer` with the default config, stopped (threads joined)
after the test. ``make_sandbox(**config_fields)``: start one with a custom config, e.g.
``make_sandbox(rate_limit=3, url_ttl_s=1, upload_status="pending_upload",
faults=Faults(ehr_fail=1))``; every server it made is stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from maxupload.sandbox import SandboxConfig, SandboxServer


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    started: list[SandboxServer] = []

    def factory(**config: Any) -> SandboxServer:
        server = SandboxServer(SandboxConfig(**config))
        server.start()
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        server.stop()
    leftovers = [t.name for server in started for t in server.live_threads()]
    assert not leftovers, f"sandbox threads still running after stop(): {leftovers}"


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox()
