"""``python -m maxupload`` and the ``maxupload`` entry point."""

from __future__ import annotations

import gc
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from maxupload.cli import main as cli_main
    from maxupload.core.system.logsetup import install_cli_redaction

    # Everything the process prints, tracebacks included, passes the key mask.
    install_cli_redaction()
    try:
        return cli_main(argv)
    except BrokenPipeError:
        # The reader went away (e.g. "| head"): stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        # The process is ending: the interpreter's last collections would walk every object
        # still alive (60 ms after a batch of photos) only for the process to free them all.
        # Exit handlers (the queue, the logs, worker threads) still run as before.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
