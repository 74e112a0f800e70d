"""End to end: a key stored with ``maxupload key set`` and used for a real upload to the sandbox
is found in the OS keyring and nowhere else: not in any file under the app's config, data,
cache or log folders, and not in anything the commands printed (also not base64-encoded or
without its prefix).

Every command runs as its own process, as a user would run it, in the private D-Bus session
with gnome-keyring that ``scripts/test.sh`` starts:
``bash scripts/test.sh tests/e2e/test_no_key_on_disk.py``
"""

from __future__ import annotations

import base64
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.config.secrets import SERVICE_NAME
from maxupload.sandbox import SandboxServer
from tests.plugins.images import write_jpeg
from tests.plugins.keyring_env import RealKeyring, run_maxupload

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

#: Runs the command line the way the application does, with the rotating log file set up at
#: DEBUG level, so that the log folder is searched with everything that could be logged.
RUNNER = (
    "import logging, sys\n"
    "from maxupload.core.system.logsetup import setup_logging\n"
    "setup_logging(level=logging.DEBUG)\n"
    "from maxupload.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def key_forms(key: str) -> dict[str, bytes]:
    """Every form in which a leaked key would be recognised."""
    body = key.split("_ak_", 1)[1]
    forms: dict[str, bytes] = {}
    for name, text in (("key", key), ("key without prefix", body)):
        raw = text.encode()
        forms[name] = raw
        forms[f"{name}, UTF-16"] = text.encode("utf-16-le")
        for label, codec in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            forms[f"{name}, {label}"] = codec(raw).rstrip(b"=")
            # the key at the other two alignments inside a longer encoded text
            for pad in (b"x", b"xy"):
                forms[f"{name}, {label} after {len(pad)} byte(s)"] = codec(pad + raw)[4:-4]
    return forms


def find_key(data: bytes, forms: dict[str, bytes]) -> list[str]:
    return [name for name, form in forms.items() if form in data]


@pytest.fixture
def cli_key(real_keyring: RealKeyring, sandbox: SandboxServer) -> Iterator[str]:
    """A fresh key the sandbox accepts; its keyring item is removed after the test."""
    key = "max_dev_ak_" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    sandbox.add_key(key, label="end-to-end")
    yield key
    real_keyring.secret_tool(
        "clear", "service", SERVICE_NAME, "username", f"{sandbox.base_url}|{sandbox.demo.org_id}"
    )


def test_key_is_in_the_keyring_and_nowhere_else_after_an_upload(
    real_keyring: RealKeyring,
    sandbox: SandboxServer,
    cli_key: str,
    app_home: Path,
    tmp_path: Path,
) -> None:
    demo = sandbox.demo
    outputs: list[str] = []

    def maxupload(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = run_maxupload(app_home, *args, stdin=stdin, runner=RUNNER, timeout=120)
        outputs.append(f"$ maxupload {' '.join(args)}\n{done.stdout}\n{done.stderr}")
        return done

    photos = tmp_path / "photos"
    photos.mkdir()
    write_jpeg(photos / "wound-1.jpg")
    write_jpeg(photos / "wound-2.jpg", quality=80)

    stored = maxupload(
        "key", "set", "--org", demo.org_id, "--env", sandbox.base_url, stdin=cli_key + "\n"
    )
    assert stored.returncode == 0, stored.stderr
    account = f"{sandbox.base_url}|{demo.org_id}"
    assert real_keyring.lookup(account, SERVICE_NAME) == cli_key  # it is in the OS store

    tested = maxupload("key", "test")
    assert tested.returncode == 0, tested.stderr
    status = maxupload("key", "status")
    assert status.returncode == 0, status.stderr

    # Organization and environment come from the settings 'key set' saved; the key from the
    # keyring.
    uploaded = maxupload(
        "upload", str(photos), "--note", demo.open_note_id, "--provider", demo.provider_id, "--yes"
    )
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    assert len(sandbox.uploads()) == 2
    listing = maxupload("queue", "--all")
    assert listing.returncode == 0, listing.stderr

    forms = key_forms(cli_key)
    # The search itself works: it finds the key where the key is.
    keyring_view = real_keyring.secret_tool("lookup", "service", SERVICE_NAME, "username", account)
    assert "key" in find_key(keyring_view.stdout.encode(), forms)
    assert "key, base64" in find_key(base64.b64encode(cli_key.encode()), forms)

    files = [p for p in app_home.rglob("*") if p.is_file()]
    folders = {p.relative_to(app_home).parts[0] for p in files}
    assert {"config", "data", "log"} <= folders, sorted(str(p) for p in files)
    log_text = "".join(
        p.read_text(encoding="utf-8") for p in (app_home / "log").iterdir() if p.is_file()
    )
    assert "HTTP Request" in log_text  # the log saw the requests that carried the key
    leaks = {str(p): found for p in files if (found := find_key(p.read_bytes(), forms))}
    assert not leaks, f"the API key was written to disk: {leaks}"

    printed = "\n".join(outputs)
    assert "max_dev_ak_..." in printed  # the masked form is shown
    leaked = find_key(printed.encode(), forms)
    assert not leaked, f"the API key was printed: {leaked}"
