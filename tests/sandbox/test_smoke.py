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
    port = srv.port
    with httpx.Client(verify=False) as client:  # keep-alive connection still open at stop()
        assert client.get(srv.root_url + "/").status_code == 200
        assert {t.name for t in srv.live_threads()} == {
            f"sandbox-server-{port}",
            f"sandbox-connection-{port}",
        }
        srv.stop()
        assert srv.live_threads() == []
    assert not [t for t in threading.enumerate() if t.name.endswith(f"-{port}")]


def test_stop_interrupts_an_answer_held_back_by_latency() -> None:
    srv = SandboxServer().start()
    srv.set_faults(latency_ms=60_000, paths=["/v3/*"])
    result: list[object] = []

    def call() -> None:
        try:
            result.append(httpx.get(srv.base_url + "/notes", verify=False, timeout=30))
        except httpx.HTTPError as exc:
            result.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not srv.request_log():
        threading.Event().wait(0.01)
    srv.stop()
    caller.join(30)
    assert not caller.is_alive()
    assert srv.live_threads() == []
