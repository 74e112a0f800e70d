"""The log file and the redaction that keeps API keys and bearer headers out of every output.

A ``logging.Filter`` on each of our handlers masks anything that looks like a key in the final
text of a record (message, arguments, exception and stack text), so no caller can leak a key by
logging it. ``redact`` does the same for text the command line prints.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import logging.handlers
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from maxupload.core.system.paths import AppPaths, app_paths

LOG_FILE_NAME = "maxupload.log"
LOG_MAX_BYTES = 2_000_000
LOG_BACKUP_COUNT = 5
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

REDACTED = "[REDACTED]"

# Characters that end a key inside quoted or bracketed text; a key itself is opaque otherwise.
_STOP = r"\s'\"`,;<>()\[\]{}"

#: Key-shaped text: Max AI data keys (prefix kept, so the environment stays visible), old
#: ``sk_live_``/``sk_test_`` keys, an ``Authorization`` header value, and any ``Bearer`` token.
_NOT_YET = r"(?!\[REDACTED\])"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n]+"),
        rf"\g<1>{REDACTED}",
    ),
    (re.compile(rf"(?i)(\bbearer\s+){_NOT_YET}[^{_STOP}]+"), rf"\g<1>{REDACTED}"),
    (
        re.compile(rf"(?i)(max_(?:prd|dev)_ak_)(?!\.\.\.){_NOT_YET}[^{_STOP}]+"),
        rf"\g<1>{REDACTED}",
    ),
    (re.compile(rf"\bsk_(?:live|test)_{_NOT_YET}[^{_STOP}]+"), f"sk_{REDACTED}"),
)

#: Secrets seen at run time (keys in any format, e.g. a sandbox key), masked wherever they appear.
_known_secrets: set[str] = set()
_known_lock = threading.Lock()
_MIN_SECRET_LEN = 8
_KEY_PREFIXES = ("max_prd_ak_", "max_dev_ak_", "sk_live_", "sk_test_")


def register_secret(value: str) -> None:
    """Mask this exact value (and its base64 forms) in every later log line and CLI output."""
    value = value.strip()
    if len(value) < _MIN_SECRET_LEN:
        return
    forms = {value}
    for prefix in _KEY_PREFIXES:
        if value.startswith(prefix) and len(value) - len(prefix) >= _MIN_SECRET_LEN:
            forms.add(value[len(prefix) :])
    for form in list(forms):
        raw = form.encode("utf-8")
        forms.add(base64.b64encode(raw).decode("ascii").rstrip("="))
        forms.add(base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="))
    with _known_lock:
        _known_secrets.update(forms)


def forget_secrets() -> None:
    """Drop the registered secrets (tests; a new key replaces the old one)."""
    with _known_lock:
        _known_secrets.clear()


def redact(text: str) -> str:
    """``text`` with every key-like value, bearer token and registered secret masked."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def looks_like_secret(text: str) -> bool:
    """True when ``text`` holds something ``redact`` would mask."""
    return redact(text) != text


class RedactingFilter(logging.Filter):
    """Masks keys in the fully formatted message, exception text and stack text of a record.

    Attach it to handlers (not loggers): handler filters see every record that reaches the
    handler, including those propagated from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record or leak its args
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None  # formatters reuse exc_text; nothing re-renders the original
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _OwnerOnlyRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (current and rotated) are readable by their owner only.

    When the log cannot be written (disk full, folder gone) it says so once on stderr, in one
    line, and drops records until a write succeeds again: never a traceback per record.
    """

    _failing = False  # the last write failed and stderr was told
    _last_failed = False

    def emit(self, record: logging.LogRecord) -> None:
        self._last_failed = False
        super().emit(record)  # calls handleError when the write fails
        if not self._last_failed:
            self._failing = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._last_failed = True
        if self._failing:
            return
        self._failing = True
        problem = sys.exc_info()[1]
        reason = getattr(problem, "strerror", None) or type(problem).__name__
        with contextlib.suppress(Exception):
            sys.stderr.write(
                f"maxupload: the log file {self.baseFilename} cannot be written ({reason}); "
                "log lines are dropped until it can. Next: free space on that disk.\n"
            )
            sys.stderr.flush()

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


_HANDLER_MARK = "_maxupload_handler"


def setup_logging(paths: AppPaths | None = None, level: int = logging.INFO) -> Path:
    """Send log records to a rotating, owner-only file in the log folder; returns its path.

    Calling it again replaces the handler it installed before (no duplicate lines).
    """
    folder = (paths or app_paths()).log
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        os.chmod(folder, 0o700)
    log_file = folder / LOG_FILE_NAME
    handler = _OwnerOnlyRotatingFileHandler(
        log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUP_COUNT, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    shutdown_logging()
    root.addHandler(handler)
    root.setLevel(level)
    # httpx/httpcore log whole requests at DEBUG; keep them at INFO even when we debug.
    for noisy in ("httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    return log_file


def shutdown_logging() -> None:
    """Remove and close the handlers ``setup_logging`` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            with contextlib.suppress(OSError):  # lines still buffered on a full disk are lost
                handler.close()


class RedactingStream:
    """A text stream that masks keys before passing text on (``sys.stderr``/``sys.stdout``).

    Text writes only; anything else (``buffer``, ``encoding``, ...) is the wrapped stream's.
    """

    def __init__(self, target: TextIO) -> None:
        self._target = target

    @property
    def target(self) -> TextIO:
        return self._target

    def write(self, text: str) -> int:
        self._target.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def _redacting_excepthook(
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], Any],
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(redact(text))

    hook.previous = previous  # type: ignore[attr-defined]
    return hook


def install_cli_redaction(*, stdout: bool = True) -> None:
    """Mask keys in everything the command line writes: stderr, stdout, uncaught tracebacks.

    Safe to call twice. Log records that reach stderr (Python's last-resort handler) pass
    through the same stream, so they are masked too.
    """
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
    if stdout and not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not hasattr(sys.excepthook, "previous"):
        sys.excepthook = _redacting_excepthook(sys.excepthook)


def uninstall_cli_redaction() -> None:
    """Undo ``install_cli_redaction`` (tests that run the CLI in-process)."""
    if isinstance(sys.stderr, RedactingStream):
        sys.stderr = sys.stderr.target
    if isinstance(sys.stdout, RedactingStream):
        sys.stdout = sys.stdout.target
    previous = getattr(sys.excepthook, "previous", None)
    if previous is not None:
        sys.excepthook = previous
