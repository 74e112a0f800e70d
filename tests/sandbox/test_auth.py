"""Keys, organizations and scopes answer with the documented status, code and message."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import jpeg_bytes, plain, upload


def _error(r: httpx.Response, status: int, code: str, message: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    assert body["message"] == message
    assert uuid.UUID(body["trace_id"]).version == 4


@pytest.mark.parametrize("auth", [None, "Bearer max_dev_ak_0000", "Basic abc", "Bearer"])
def test_bad_or_missing_key_is_401(
    sandbox: SandboxServer, client_for: Callable[..., httpx.Client], auth: str | None
) -> None:
    client = client_for(None, sandbox.demo.org_id)
    headers = {"Authorization": auth} if auth else {}
    r = client.get("/notes", headers=headers)
    _error(r, 401, "unauthorized", "Invalid or missing API key")


def test_each_error_has_a_fresh_trace_id(sandbox: SandboxServer, client_for) -> None:
    client = client_for("max_dev_ak_wrong", sandbox.demo.org_id)
    ids = {client.get("/notes").json()["trace_id"] for _ in range(3)}
    assert len(ids) == 3


def test_missing_organization_is_400(sandbox: SandboxServer, client_for) -> None:
    r = client_for(sandbox.demo.api_key, None).get("/notes")
    _error(r, 400, "bad_request", "'X-Organization-Id' is required")


def test_organization_the_key_cannot_reach_is_403(sandbox: SandboxServer, client_for) -> None:
    other = str(uuid.uuid4())
    r = client_for(sandbox.demo.api_key, other).get("/notes")
    _error(r, 403, "forbidden", f"This API key has no access to organization '{other}'")
    sandbox.add_key("max_dev_ak_onlydemo", orgs=[sandbox.demo.org_id])
    r = client_for("max_dev_ak_onlydemo", sandbox.demo.other_org_id).get("/notes")
    assert r.status_code == 403


def test_org_prefixed_form_is_accepted(sandbox: SandboxServer, client_for) -> None:
    org = "org_" + sandbox.demo.org_id.replace("-", "")
    assert client_for(sandbox.demo.api_key, org).get("/notes").status_code == 200


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/notes", "read:notes"),
        ("/notes/{note}", "read:notes"),
        ("/notes/{note}/images/img_00000000000000000000000000000000/url", "read:notes"),
        ("/patients", "read:patients"),
        ("/providers", "read:providers"),
    ],
)
def test_missing_read_scope_is_403_naming_it(
    sandbox: SandboxServer, client_for, path: str, scope: str
) -> None:
    others = ["read:notes", "read:patients", "read:providers", "write:notes"]
    sandbox.add_key("max_dev_ak_narrow", [s for s in others if s != scope])
    client = client_for("max_dev_ak_narrow", sandbox.demo.org_id)
    r = client.get(path.format(note=sandbox.demo.open_note_id))
    _error(r, 403, "forbidden", f"Insufficient scope. Required: {scope}")


def test_readonly_key_cannot_upload(sandbox: SandboxServer, client_for) -> None:
    client = client_for(sandbox.demo.readonly_key, sandbox.demo.org_id)
    assert client.get("/notes").status_code == 200
    r = upload(client, sandbox.demo.open_note_id, sandbox.demo.provider_id, jpeg_bytes())
    _error(r, 403, "forbidden", "Insufficient scope. Required: write:notes")
    assert sandbox.uploads() == []


def test_keys_have_the_documented_prefixes(sandbox: SandboxServer) -> None:
    assert sandbox.demo.api_key.startswith("max_dev_ak_")
    assert sandbox.demo.readonly_key.startswith("max_dev_ak_")
    assert sandbox.demo.prod_key.startswith("max_prd_ak_")


def test_keys_are_fresh_each_start(make_sandbox) -> None:
    a, b = make_sandbox(), make_sandbox()
    assert a.demo.api_key != b.demo.api_key
    r = plain.get(
        a.base_url + "/notes",
        headers={"Authorization": f"Bearer {b.demo.api_key}", "X-Organization-Id": a.demo.org_id},
    )
    assert r.status_code == 401


def test_me_reports_key_scopes_and_organization(sandbox: SandboxServer) -> None:
    def me(key: str) -> httpx.Response:
        return plain.get(
            sandbox.root_url + "/v1/marketplace/me",
            headers={"Authorization": f"Bearer {key}", "X-Organization-Id": sandbox.demo.org_id},
        )

    full = me(sandbox.demo.api_key).json()
    assert full["code"] == "success"
    assert full["data"]["organization"]["id"] == sandbox.demo.org_id
    assert full["data"]["app"]["id"].startswith("app_")
    assert "write:notes" in full["data"]["scopes"]
    readonly = me(sandbox.demo.readonly_key).json()["data"]["scopes"]
    assert "write:notes" not in readonly and "read:notes" in readonly
    sandbox.add_key("max_prd_ak_" + "t" * 4, ["read:notes"])
    assert me("max_prd_ak_tttt").json()["data"]["scopes"] == ["read:notes"]
    assert me("max_dev_ak_nope").status_code == 401
