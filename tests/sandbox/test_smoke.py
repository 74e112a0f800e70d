"""The sandbox starts, answers an authenticated request and stops without leftovers."""

from __future__ import annotations

import threading

import httpx

from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import plain


def test_fixture_serves_and_names_demo_ids(sandbox: SandboxServer) -> None:
    assert sandbox.root_url.startswith("http://127.0.0.1:")
    assert sandbox.base_url == sandbox.root_url + "/v3"
    headers = {
        "Authorization": f"Bearer {sandbox.demo.api_key}",
        "X-Organization-Id": sandbox.demo.org_id,
    }
    r = plain.get(f"{sandbox.base_url}/notes/{sandbox.demo.open_note_id}", headers=headers)
    assert r.status_code == 200
    assert r.json()["data"]["id"] == sandbox.demo.open_note_id


def test_stop_joins_server_threads() -> None:
    srv = SandboxServer().start()
    with httpx.Client() as client:  # keep-alive connection still open at stop()
        assert client.get(srv.root_url + "/").status_code == 200
        srv.stop()
    names = [t.name for t in threading.enumerate()]
    assert "sandbox-server" not in names
    assert "sandbox-connection" not in names
