"""A damaged settings file, or a saved remote http:// server, stops the command with a message
naming the file and the fix: nothing falls back to production silently, on any later run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from maxupload.core.config.settings import settings_path
from maxupload.sandbox import SandboxServer
from tests.commands.test_no_tracebacks import run
from tests.plugins.images import photo, write_jpeg

DAMAGED = {
    "not json": '{"org_id": "org_1", oops',
    "remote http": json.dumps({"schema_version": 1, "base_url": "http://clinic.example/v3"}),
    "not settings": "[1, 2, 3]",
}


def write_damaged(text: str) -> Path:
    """The settings file with ``text`` in it; returns its path."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_upload_stops_and_names_the_file_on_every_run(
    damage: str,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    path = write_damaged(DAMAGED[damage])
    picture = write_jpeg(tmp_path / "p.jpg", photo(100, 80, seed=1))
    demo = sandbox.demo
    argv = ["upload", "--yes", "--note", demo.open_note_id, "--provider", demo.provider_id]
    argv += ["--org", demo.org_id, str(picture)]
    for _ in range(2):  # the second run too: the damaged file is not quietly replaced
        code, out, err = run(argv, capsys)
        assert code == 2, out + err
        assert str(path) in err and "damaged" in err
        assert "Next: Fix or delete" in err and "--base-url" in err
    assert sandbox.uploads() == []

    code, out, err = run([*argv[:-1], "--base-url", sandbox.base_url, str(picture)], capsys)
    assert code == 0, out + err  # naming the server explicitly goes on
    assert len(sandbox.uploads()) == 1


@pytest.mark.parametrize("action", ["status", "test", "delete", "set"])
@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_key_commands_stop_and_name_the_file(
    action: str,
    damage: str,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No key command points at production because the file it would have read is damaged."""
    path = write_damaged(DAMAGED[damage])
    monkeypatch.setattr("sys.stdin", io.StringIO(sandbox.demo.api_key))
    code, out, err = run(["key", action, "--org", sandbox.demo.org_id], capsys)
    assert code == 2, out + err
    assert str(path) in err and "damaged" in err and "Next: Fix or delete" in err
    assert "production" not in out + err.split("Next:")[0]
    assert path.read_text(encoding="utf-8") == DAMAGED[damage]  # never replaced by defaults


def test_key_set_with_env_saves_the_key_but_not_over_the_damaged_file(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_damaged(DAMAGED["not json"])
    monkeypatch.setattr("sys.stdin", io.StringIO(sandbox.demo.api_key))
    argv = ["key", "set", "--env", sandbox.base_url, "--org", sandbox.demo.org_id]
    code, out, err = run(argv, capsys)
    assert code == 0, out + err
    assert "Saved the API key" in out
    assert "was not saved as the default" in err and str(path) in err
    assert path.read_text(encoding="utf-8") == DAMAGED["not json"]
