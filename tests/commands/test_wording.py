"""Messages that used to mislead, checked where the user reads them (the command's output),
against the real sandbox, the real OS keyring and a real TLS server."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import SecretService as secret_service

from maxupload.core.api.client import ApiClient
from maxupload.core.api.errors import ApiError, ImageNotFound
from maxupload.core.outcomes import Action, classify, describe_error
from maxupload.sandbox import SandboxServer
from tests.commands.test_no_tracebacks import run
from tests.commands.test_upload import upload_args
from tests.plugins.images import photo, write_jpeg
from tests.plugins.keyring_env import RealKeyring
from tests.plugins.tls import TlsServer

trustme = pytest.importorskip("trustme")


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    return write_jpeg(tmp_path / "wound.jpg", photo(200, 150, seed=7))


def test_a_429_on_the_note_read_says_run_again_not_by_itself(
    sandbox: SandboxServer,
    picture: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    sandbox.set_faults(rate_limit_burst=-1, retry_after_s=1, paths=["/v*/notes/*"], methods=["GET"])
    code, out, err = run([*upload_args(sandbox, picture), "--yes"], capsys)
    assert code == 2, out + err
    assert f"Cannot read note {sandbox.demo.open_note_id}" in err and "nothing was sent" in err
    assert "run the command again" in err
    assert "by itself" not in out + err  # the command has exited: nothing happens by itself
    assert sandbox.uploads() == []


def test_an_empty_note_id_is_named_not_blamed_on_the_photo(
    picture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(["upload", "--note", "", "--provider", "prv_1", str(picture)], capsys)
    assert code == 2
    assert "note id is empty" in err
    assert "photo" not in err.split("error:")[-1] and "refused" not in err


def test_a_431_is_about_the_request_not_the_photo(sandbox: SandboxServer) -> None:
    """The sandbox's HTTP server answers 431 to an oversized header, as a proxy or a server may."""
    client = ApiClient(sandbox.base_url, sandbox.demo.api_key, "o" * 70_000)
    with client, pytest.raises(ApiError) as caught:
        client.get_note(sandbox.demo.open_note_id)
    assert caught.value.status == 431
    outcome = classify(caught.value, "upload", 4)
    assert "refused the photo" not in outcome.message
    assert "not the photo" in outcome.message and "nothing was stored" in outcome.message
    assert "queue retry 4" in outcome.terminal_step


def test_a_missing_stored_photo_is_not_called_a_missing_note(sandbox: SandboxServer) -> None:
    client = ApiClient(sandbox.base_url, sandbox.demo.api_key, sandbox.demo.org_id)
    with client, pytest.raises(ImageNotFound) as caught:
        client.get_image_url(sandbox.demo.open_note_id, "img_" + "0" * 32)
    outcome = describe_error(caught.value)
    assert "stored photo" in outcome.message
    assert "note" not in outcome.message.lower().split("(")[0]
    assert outcome.action != Action.CHOOSE_NOTE  # the note is fine: do not make the user re-pick


@pytest.fixture
def locked_os_keyring(real_keyring: RealKeyring) -> Iterator[None]:
    """The real Secret Service, its collection locked (the user dismissed the unlock prompt)."""
    backend = secret_service.Keyring()
    backend.preferred_collection = real_keyring.make_locked_collection()  # type: ignore[attr-defined]
    keyring.set_keyring(backend)
    yield
    with warnings.catch_warnings():  # keyring leaves its D-Bus connection open when locked
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_a_locked_keyring_says_unlock_it_not_key_set(
    locked_os_keyring: None,
    sandbox: SandboxServer,
    picture: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MAXUPLOAD_API_KEY", raising=False)
    code, out, err = run([*upload_args(sandbox, picture), "--yes"], capsys)
    assert code != 0, out + err
    assert "locked" in err and "Unlock the key store" in err
    assert "key set" not in err  # a key may well be stored: it just cannot be read now
    org = ["--org", sandbox.demo.org_id, "--env", sandbox.base_url]
    for action in ("status", "test"):
        code, out, err = run(["key", action, *org], capsys)
        assert code == 1, out + err
        assert "locked" in err and "key set" not in err, (action, err)
    assert sandbox.uploads() == []


def test_a_tls_failure_does_not_promise_a_retry_after_exiting(
    untrusted_tls_server: TlsServer,
    picture: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", "max_dev_ak_" + "7e5" * 10 + "ab")
    url = f"https://127.0.0.1:{untrusted_tls_server.server_address[1]}/v3"
    argv = ["upload", "--note", "nte_1", "--provider", "prv_1", "--org", "org_1"]
    code, out, err = run([*argv, "--base-url", url, "--yes", str(picture)], capsys)
    assert code == 2, out + err
    assert "certificate" in err.lower() and "date and time" in err
    assert "retries" not in err and "by itself" not in err


def test_file_names_with_newlines_stay_on_one_line(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    folder = tmp_path / "visit"
    folder.mkdir()
    odd = Path(os.fsdecode(os.fsencode(folder) + b"/left\nknee\x1b[2J.jpg"))
    write_jpeg(odd, photo(200, 150, seed=8))
    (folder / "bad\nname.txt").write_text("not a photo")
    code, out, err = run([*upload_args(sandbox, folder), "--yes"], capsys)
    assert code == 1, out + err  # the text file is rejected, the photo is sent
    text = out + err
    assert "left\\nknee\\x1b[2J.jpg" in text and "bad\\nname.txt" in text
    assert "\x1b" not in text
    lines = text.splitlines()
    assert not any(line.startswith(("knee", "name.txt")) for line in lines)
    assert len(sandbox.uploads()) == 1


def test_a_damaged_queue_file_says_what_to_do_with_it(
    app_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = app_home / "data" / "queue.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not a queue\xff" * 400)
    code, _out, err = run(["queue"], capsys)
    assert code == 3, err
    assert f"The upload queue file ({path}) is damaged" in err
    assert "close other" not in err.lower()  # not another window's fault
    assert f"mv '{path}' '{path}.damaged'" in err and "keep it for support" in err
    assert "maxupload history" in err  # where the record of what was sent still is
    assert path.read_bytes() == b"\x00not a queue\xff" * 400  # left as it was, for support
