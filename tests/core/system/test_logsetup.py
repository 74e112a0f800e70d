"""The log file and the redaction filter: no key reaches a log line, a traceback or CLI output."""

from __future__ import annotations

import base64
import logging
import logging.handlers
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.system import logsetup
from maxupload.core.system.logsetup import (
    REDACTED,
    RedactingFilter,
    install_cli_redaction,
    looks_like_secret,
    redact,
    register_secret,
    setup_logging,
    shutdown_logging,
    uninstall_cli_redaction,
)
from maxupload.core.system.paths import app_paths

PRD_KEY = "max_prd_ak_Zq8pLr2vXw9KfT3mN7bY1cD4"
DEV_KEY = "max_dev_ak_H5jK9mQ2wE7rT1yU3iO8pA6s"


@pytest.fixture
def logging_to_file() -> Iterator[Path]:
    root = logging.getLogger()
    level = root.level
    path = setup_logging(app_paths(), logging.DEBUG)
    try:
        yield path
    finally:
        shutdown_logging()
        root.setLevel(level)
        logsetup.forget_secrets()


@pytest.fixture
def cli_redaction() -> Iterator[None]:
    install_cli_redaction()
    try:
        yield
    finally:
        uninstall_cli_redaction()
        logsetup.forget_secrets()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"using key {PRD_KEY}", PRD_KEY[11:]),
        (f"{{'api_key': '{DEV_KEY}'}}", DEV_KEY[11:]),
        (f"Authorization: Bearer {PRD_KEY}", PRD_KEY),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
        ('headers={"Authorization": "Bearer abc.def.ghi", "X": 1}', "abc.def.ghi"),
        ("(b'authorization', b'Bearer tok_123456789')", "tok_123456789"),
        ("curl -H 'authorization=Token s3cr3tvalue'", "s3cr3tvalue"),
        ("old key sk_live_4eC39HqLyjWDarjtT1zdp7dc here", "4eC39HqLyjWDarjtT1zdp7dc"),
        (f"line one\nkey={PRD_KEY}\nline three", PRD_KEY[11:]),
        (f"echoed as {PRD_KEY.upper()}", PRD_KEY.upper()[11:]),
    ],
)
def test_redact_masks_key_shapes(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert REDACTED in masked
    assert redact(masked) == masked  # applying it twice changes nothing


def test_redact_keeps_the_environment_prefix_and_ordinary_text() -> None:
    assert redact(f"key {PRD_KEY} rejected") == f"key max_prd_ak_{REDACTED} rejected"
    plain = "Uploaded photo-1a2b3c4d.jpg to note nte_3cc73cb69c59403ca9108af6c5693b25 (200)"
    assert redact(plain) == plain
    assert not looks_like_secret(plain)


def test_masked_keys_are_left_as_they_are() -> None:
    """The CLI shows ``max_prd_ak_...xyz``; redaction must not turn that into noise."""
    assert redact("Stored key: max_prd_ak_...cD4") == "Stored key: max_prd_ak_...cD4"


def test_registered_secret_in_any_format_is_masked_with_its_encodings() -> None:
    custom = "sandbox-key-7f3a9c2e11"
    try:
        register_secret(custom)
        register_secret(DEV_KEY)
        b64 = base64.b64encode(custom.encode()).decode()
        assert custom not in redact(f"x {custom} y")
        assert b64.rstrip("=") not in redact(f"basic {b64}")
        body_only = DEV_KEY[len("max_dev_ak_") :]
        assert body_only not in redact(f"body {body_only}")
    finally:
        logsetup.forget_secrets()
    assert redact(f"x {custom} y") == f"x {custom} y"


def test_log_file_never_holds_the_key(logging_to_file: Path) -> None:
    log = logging.getLogger("maxupload.test")
    child = logging.getLogger("httpx")  # a third-party logger: the handler filter still applies
    log.info("set key %s for org %s", PRD_KEY, "org_1")
    child.info("headers %r", {"Authorization": f"Bearer {DEV_KEY}"})
    try:
        raise RuntimeError(f"server refused {PRD_KEY}")
    except RuntimeError:
        log.exception("upload failed with %s", DEV_KEY)
    log.warning("stack check", stack_info=True, extra={"unused": PRD_KEY})
    log.info("broken format %s %s", PRD_KEY)  # wrong argument count must not leak or crash
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = logging_to_file.read_text(encoding="utf-8")
    assert "set key max_prd_ak_[REDACTED] for org org_1" in text
    assert "RuntimeError: server refused max_prd_ak_[REDACTED]" in text
    assert "Traceback" in text
    for secret in (PRD_KEY, DEV_KEY, PRD_KEY[11:], DEV_KEY[11:]):
        assert secret not in text


def test_filter_masks_args_that_are_objects() -> None:
    class Holder:
        def __repr__(self) -> str:
            return f"Holder(key={PRD_KEY!r})"

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "obj %r", (Holder(),), None)
    RedactingFilter().filter(record)
    assert PRD_KEY[11:] not in record.getMessage()
    assert record.args is None


def test_log_file_and_folder_are_owner_only(logging_to_file: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX permissions")
    logging.getLogger("maxupload.test").info("hello")
    assert stat.S_IMODE(logging_to_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(logging_to_file.parent.stat().st_mode) == 0o700
    ours = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
    ]
    assert len(ours) == 1
    handler = ours[0]
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    handler.doRollover()
    logging.getLogger("maxupload.test").info("after rotation")
    rotated = logging_to_file.with_name(logging_to_file.name + ".1")
    assert rotated.exists()
    for path in (logging_to_file, rotated):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_setup_twice_installs_one_handler(logging_to_file: Path) -> None:
    setup_logging(app_paths(), logging.INFO)
    ours = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
    ]
    assert len(ours) == 1
    logging.getLogger("maxupload.test").info("once")
    ours[0].flush()
    assert logging_to_file.read_text(encoding="utf-8").count("once") == 1


def test_cli_streams_are_redacted(cli_redaction: None, capsys: pytest.CaptureFixture[str]) -> None:
    # capsys swapped the streams before the fixture wrapped them, so wrap the capture streams.
    install_cli_redaction()
    print(f"your key is {PRD_KEY}")
    print(f"Authorization: Bearer {DEV_KEY}", file=sys.stderr)
    out, err = capsys.readouterr()
    assert PRD_KEY[11:] not in out and "max_prd_ak_[REDACTED]" in out
    assert DEV_KEY not in err and "Authorization: [REDACTED]" in err


def test_uncaught_exception_text_is_redacted(
    cli_redaction: None, capsys: pytest.CaptureFixture[str]
) -> None:
    install_cli_redaction()
    try:
        raise ValueError(f"bad key {PRD_KEY}")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "ValueError: bad key max_prd_ak_[REDACTED]" in err
    assert PRD_KEY[11:] not in err
