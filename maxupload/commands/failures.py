"""How every command ends when something goes wrong: one message, the next step, an exit code.

Whatever a command does not answer itself (a full disk, a damaged queue file, a folder that is a
file, a bad value, Ctrl+C, SIGTERM or SIGHUP) ends here in plain words, never as a traceback.
Unexpected errors are written to the log file with their details and named in one line.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from types import FrameType

from maxupload.core.errors import MaxUploadError
from maxupload.core.queue.filenames import shown
from maxupload.core.system.storage import StorageError, storage_error

log = logging.getLogger(__name__)

EXIT_SETUP = 2
#: MaxUpload's own storage failed (disk full, damaged queue file); nothing stored was lost.
EXIT_STORAGE = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop the way Ctrl+C does (photos not yet sent stay queued)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def report(text: str, next_step: str | None = None) -> None:
    """``maxupload: text`` and ``  Next: step`` on stderr (file names shown safely)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"maxupload: {text}", file=sys.stderr)
        if next_step:
            print(f"  Next: {next_step}", file=sys.stderr)
        sys.stderr.flush()


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Stopped`` in the main thread while a command runs."""
    wanted: list[int] = [signal.SIGTERM]
    if hasattr(signal, "SIGHUP"):
        wanted.append(signal.SIGHUP)
    previous: dict[int, object] = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave the signals alone
        for signum in wanted:
            previous[signum] = signal.signal(signum, _raise_stopped)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _os_error_text(exc: OSError) -> str:
    where = f" ({shown(exc.filename)})" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run one subcommand; every failure it does not answer itself becomes a message + code."""
    try:
        with stop_signals():
            return int(func(args) or 0)
    except Stopped as exc:
        report(f"Stopped ({exc}). Photos not yet sent stay in the queue ('maxupload queue').")
        return 128 + exc.signum
    except KeyboardInterrupt:
        report("Interrupted. Photos not yet sent stay in the queue ('maxupload queue').")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_SETUP  # the reader went away (e.g. piped to head); nothing to say
    except StorageError as exc:
        report(exc.user_message, exc.next_step)
        return EXIT_STORAGE
    except MaxUploadError as exc:
        report(exc.user_message, exc.next_step)
        return EXIT_SETUP
    except (sqlite3.Error, OSError) as exc:
        problem = storage_error(exc)
        if problem is not None:
            report(problem.user_message, problem.next_step)
            return EXIT_STORAGE
        text = _os_error_text(exc) if isinstance(exc, OSError) else str(exc)
        report(f"{text}.", "Check the file or folder named, then try again.")
        return EXIT_SETUP
    except (ValueError, OverflowError, UnicodeError) as exc:
        report(
            f"A value given cannot be used ({shown(str(exc))[:300]}).",
            "Check the options and environment variables (maxupload COMMAND --help).",
        )
        return EXIT_SETUP
    except Exception as exc:
        with contextlib.suppress(Exception):
            log.exception("unexpected failure")
        report(
            f"Unexpected problem ({type(exc).__name__}); the details are in MaxUpload's log file.",
            "Try again; if it keeps happening, send the log file to support.",
        )
        return EXIT_INTERNAL
