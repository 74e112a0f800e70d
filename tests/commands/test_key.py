"""``maxupload key set|status|delete|test``: in-process with an in-memory keyring backend, and
as a separate process with no secure store, against the sandbox on loopback.

The same commands against the real Secret Service are in ``test_key_keyring.py``.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.api.environments import PRODUCTION_URL, STAGING_URL
from maxupload.core.config.secrets import SERVICE_NAME
from maxupload.core.config.settings import Settings, load_settings, save_settings, settings_path
from maxupload.core.system import logsetup
from maxupload.sandbox import SandboxServer
from tests.plugins.keyring_env import LockedKeyring, MemoryKeyring, run_maxupload

DEV_KEY = "max_dev_ak_H5jK9mQ2wE7rT1yU3iO8pA6s"
PRD_KEY = "max_prd_ak_Zq8pLr2vXw9KfT3mN7bY1cD4"


@pytest.fixture(autouse=True)
def _clean_cli_state() -> Iterator[None]:
    yield
    logsetup.uninstall_cli_redaction()
    logsetup.forget_secrets()


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli(*args, stdin="")``: run ``maxupload <args>`` in this process with ``stdin`` piped in
    (not a terminal); gives the exit code, stdout and stderr."""

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        logsetup.uninstall_cli_redaction()
        out, err = capsys.readouterr()
        return code, out, err

    return run


def assert_no_key(text: str, *keys: str) -> None:
    for key in keys:
        assert key not in text
        assert key[11:] not in text


def test_set_from_stdin_saves_key_and_defaults(memory_keyring: MemoryKeyring, cli: Cli) -> None:
    code, out, err = cli(
        "key",
        "set",
        "--org",
        "org_1",
        "--env",
        "staging",
        stdin=DEV_KEY + "\n",
    )
    assert code == 0, err
    assert "Saved the API key max_dev_ak_...A6s for organization org_1 on staging" in out
    assert "MemoryKeyring" in out or "Memory" in out
    assert memory_keyring.passwords == {(SERVICE_NAME, f"{STAGING_URL}|org_1"): DEV_KEY}
    settings = load_settings()
    assert (settings.org_id, settings.base_url) == ("org_1", STAGING_URL)
    assert_no_key(out + err, DEV_KEY)
    assert_no_key(settings_path().read_text(encoding="utf-8"), DEV_KEY)


def test_set_warns_on_a_prefix_that_does_not_fit_the_environment(
    memory_keyring: MemoryKeyring, cli: Cli
) -> None:
    code, out, err = cli("key", "set", "--org", "org_1", "--env", "production", stdin=DEV_KEY)
    assert code == 0
    assert "Warning: This is a staging key" in err
    assert memory_keyring.passwords[(SERVICE_NAME, f"{PRODUCTION_URL}|org_1")] == DEV_KEY
    assert_no_key(out + err, DEV_KEY)


@pytest.mark.parametrize(
    "argv",
    [
        ["key", "set", "--org", "org_1", PRD_KEY],
        ["key", "set", "--org", "org_1", f"--key={PRD_KEY}"],
        ["key", "set", "--org", "org_1", "--api-key", PRD_KEY],
    ],
)
def test_key_on_the_command_line_is_refused_and_not_echoed(
    memory_keyring: MemoryKeyring, cli: Cli, argv: list[str]
) -> None:
    code, out, err = cli(*argv, stdin=PRD_KEY)
    assert code == 2
    assert "Never type the API key on the command line" in err
    assert memory_keyring.passwords == {}
    assert_no_key(out + err, PRD_KEY)


def test_a_stray_word_is_named_but_a_long_one_is_not_echoed(
    memory_keyring: MemoryKeyring, cli: Cli
) -> None:
    code, _, err = cli("key", "set", "staging", stdin=PRD_KEY)
    assert code == 2
    assert "Unexpected argument(s): staging" in err
    custom = "0123456789abcdefghij"  # a key in an unknown format
    code, out, err = cli("key", "set", "--org", "o1", custom)
    assert code == 2
    assert custom not in out + err
    assert memory_keyring.passwords == {}


def test_argparse_errors_do_not_echo_a_key(
    memory_keyring: MemoryKeyring, cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli("key", "set", f"--token={PRD_KEY}")
    _, err = capsys.readouterr()
    assert "unrecognized arguments" in err
    assert_no_key(err, PRD_KEY)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--org", "org_1"], "", "No API key was given"),
        (["--org", "org_1"], "two words", "contains spaces"),
        ([], DEV_KEY, "No organization: pass --org ID"),
        (["--org", "org_1", "--env", "http://api.example.com/v3"], DEV_KEY, "not a usable"),
        (["--org", "org with space"], DEV_KEY, "is not an organization id"),
        (["--org", DEV_KEY], DEV_KEY, "looks like an API key"),
    ],
)
def test_set_rejects_bad_input_clearly_and_saves_nothing(
    memory_keyring: MemoryKeyring, cli: Cli, args: list[str], stdin: str, message: str | None
) -> None:
    code, out, err = cli("key", "set", *args, stdin=stdin)
    assert code == 2
    if message:
        assert message in err
    assert memory_keyring.passwords == {}
    assert not settings_path().exists()
    assert_no_key(out + err, DEV_KEY)


def test_status_shows_backend_health_and_masked_key(
    memory_keyring: MemoryKeyring, cli: Cli
) -> None:
    cli("key", "set", "--org", "org_1", stdin=PRD_KEY)
    code, out, err = cli("key", "status")
    assert code == 0, err
    assert "Key store:" in out and "MemoryKeyring" in out
    assert "Health:       ready" in out
    assert f"Environment:  production ({PRODUCTION_URL})" in out
    assert "Organization: org_1" in out
    assert "Stored key:   yes, max_prd_ak_...cD4" in out
    assert_no_key(out + err, PRD_KEY)

    # --org on status looks at another organization for this command only.
    code, out, err = cli("key", "status", "--org", "org_2")
    assert code == 1
    assert "Stored key:   no" in out
    assert "No API key for organization org_2" in err
    assert load_settings().org_id == "org_1"


def test_status_names_the_environment_variable_when_it_is_used(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", PRD_KEY)
    code, out, err = cli("key", "status", "--org", "org_1")
    assert code == 0
    assert "MAXUPLOAD_API_KEY is set (max_prd_ak_...cD4)" in out
    assert_no_key(out + err, PRD_KEY)


def test_delete(memory_keyring: MemoryKeyring, cli: Cli) -> None:
    cli("key", "set", "--org", "org_1", stdin=PRD_KEY)
    code, out, _ = cli("key", "delete")
    assert code == 0
    assert "Deleted the API key for organization org_1 on production" in out
    assert memory_keyring.passwords == {}
    code, out, _ = cli("key", "delete")
    assert code == 0
    assert "nothing to delete" in out


def test_locked_store_is_reported_and_nothing_is_pretended(
    locked_keyring: LockedKeyring, cli: Cli
) -> None:
    code, out, err = cli("key", "set", "--org", "org_1", stdin=PRD_KEY)
    assert code == 3
    assert "The API key was NOT saved. The key store" in err and "is locked" in err
    code, out, err = cli("key", "status")
    assert code == 1
    assert "Health:       locked" in out
    assert "Stored key:   unknown until the key store is unlocked" in out
    code, out, err = cli("key", "delete")
    assert code == 3
    assert "Could not delete the key" in err and "Unlock it" in err


def test_only_key_set_changes_the_saved_defaults(memory_keyring: MemoryKeyring, cli: Cli) -> None:
    save_settings(Settings(org_id="org_saved", concurrency=3))
    cli("key", "delete", "--org", "org_x", "--env", "staging")
    cli("key", "status", "--org", "org_y")
    settings = load_settings()
    assert (settings.org_id, settings.base_url) == ("org_saved", PRODUCTION_URL)
    cli("key", "set", "--org", "org_z", stdin=PRD_KEY)
    settings = load_settings()
    assert settings.org_id == "org_z"
    assert settings.concurrency == 3  # other settings are kept


def test_test_command_reports_org_and_permissions(
    memory_keyring: MemoryKeyring, cli: Cli, sandbox: SandboxServer
) -> None:
    demo = sandbox.demo
    env = ["--org", demo.org_id, "--env", sandbox.base_url]
    cli("key", "set", *env, stdin=demo.api_key)
    code, out, err = cli("key", "test")
    assert code == 0, err
    assert "Connection OK." in out
    assert f"Organization: {demo.org_id}" in out
    assert "write:notes" in out and "read:notes" in out
    assert_no_key(out + err, demo.api_key)
    assert any(r["path"].endswith("/v1/marketplace/me") for r in sandbox.request_log())


def test_test_command_warns_when_write_permission_is_missing(
    memory_keyring: MemoryKeyring, cli: Cli, sandbox: SandboxServer
) -> None:
    demo = sandbox.demo
    env = ["--org", demo.org_id, "--env", sandbox.base_url]
    cli("key", "set", *env, stdin=demo.readonly_key)
    code, out, err = cli("key", "test")
    assert code == 4
    assert "Connection OK." in out
    assert "lacks the 'write:notes' permission" in err
    assert_no_key(out + err, demo.readonly_key)


def test_test_command_with_a_rejected_key_or_no_key(
    memory_keyring: MemoryKeyring, cli: Cli, sandbox: SandboxServer
) -> None:
    bad = "max_dev_ak_notarealkey0000000000000000"
    env = ["--org", sandbox.demo.org_id, "--env", sandbox.base_url]
    code, out, err = cli("key", "test", *env)
    assert code == 1
    assert "Run 'maxupload key set --org" in err
    cli("key", "set", *env, stdin=bad)
    code, out, err = cli("key", "test")
    assert code == 1
    assert "Connection test failed" in err
    assert "maxupload key set" in err  # the next step for a rejected key
    assert_no_key(out + err, bad)


def test_without_a_secure_store_the_key_works_for_this_run_only(
    app_home: Path, sandbox: SandboxServer
) -> None:
    demo = sandbox.demo
    env = ["--org", demo.org_id, "--env", sandbox.base_url]
    no_store = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = run_maxupload(app_home, "key", "set", *env, "--test", stdin=demo.api_key, **no_store)
    assert done.returncode == 3, done.stderr
    assert "The API key was NOT saved. No secure key store on this computer" in done.stderr
    assert "memory for this run only" in done.stderr
    assert "Connection OK." in done.stdout  # the key still worked in this run
    assert_no_key(done.stdout + done.stderr, demo.api_key)

    status = run_maxupload(app_home, "key", "status", **no_store)
    assert status.returncode == 1
    assert "Health:       missing" in status.stdout
    assert "Stored key:   no" in status.stdout
    deleted = run_maxupload(app_home, "key", "delete", **no_store)
    assert deleted.returncode == 3
    assert "nothing was deleted" in deleted.stderr

    # For the command line, the environment variable carries the key for one session.
    tested = run_maxupload(app_home, "key", "test", MAXUPLOAD_API_KEY=demo.api_key, **no_store)
    assert tested.returncode == 0, tested.stderr
    assert f"Organization: {demo.org_id}" in tested.stdout
    assert_no_key(tested.stdout + tested.stderr, demo.api_key)
    for path in app_home.rglob("*"):
        if path.is_file():
            assert_no_key(path.read_text(encoding="utf-8", errors="replace"), demo.api_key)
    assert json.loads((app_home / "config" / "settings.json").read_text())["org_id"] == demo.org_id
