"""Entry point of the frozen MaxUpload bundle: the same command line as ``python -m maxupload``."""

import multiprocessing
import sys

from maxupload.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
