"""``python -m maxupload`` and the ``maxupload`` entry point."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from maxupload.cli import main as cli_main
    from maxupload.core.logsetup import install_cli_redaction

    # Everything the process prints, tracebacks included, passes the key mask.
    install_cli_redaction()
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
