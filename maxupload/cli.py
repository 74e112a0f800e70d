"""The command line. Each subcommand lives in ``maxupload.commands.<name>`` and registers itself.

``maxupload`` with no subcommand opens the window (``--sandbox`` for demo mode).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import IO

from maxupload import __version__

#: Subcommand modules, each with ``register(subparsers)`` that sets ``func`` on its parser.
COMMAND_MODULES = ("upload", "prepare", "sandbox", "key", "queue", "history")


class _RedactingParser(argparse.ArgumentParser):
    """argparse echoes unknown arguments in its errors; a pasted key must never be shown."""

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        from maxupload.core.system.logsetup import redact

        super()._print_message(redact(message) if message else message, file)


def build_parser() -> argparse.ArgumentParser:
    parser = _RedactingParser(
        prog="maxupload",
        description="Attach clinical photos to a patient's visit note in the EHR (Max AI API).",
    )
    parser.add_argument("--version", action="version", version=f"MaxUpload {__version__}")
    parser.add_argument(
        "--sandbox", action="store_true", help="open the window in demo mode with a local sandbox"
    )
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"maxupload.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"maxupload.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is not None:
        from maxupload.commands.failures import report, run_command
        from maxupload.core.system.large_allocations import keep_freed_memory
        from maxupload.core.system.logsetup import setup_logging

        keep_freed_memory()  # each photo reuses the memory the one before it freed

        try:
            setup_logging()
        except OSError as exc:
            report(
                f"MaxUpload's log folder cannot be used ({exc.strerror or exc}); "
                "going on without a log file.",
                "Check MAXUPLOAD_HOME / your home folder: it must be a writable folder.",
            )
        return run_command(func, args)
    if args.self_test:
        from maxupload.selftest import run_self_test

        return run_self_test()
    try:
        from maxupload.app import run_gui
    except ModuleNotFoundError as exc:
        if exc.name != "maxupload.app":
            raise
        parser.print_help()
        return 0
    from maxupload.commands.failures import run_command

    # A queue file or data folder the window cannot use ends with a message too, not a traceback.
    return run_command(lambda _args: run_gui(sandbox=_args.sandbox), args)


if __name__ == "__main__":
    sys.exit(main())
