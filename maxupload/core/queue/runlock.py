"""One sender per queue: an OS file lock held while an engine runs.

The lock dies with its process (even on ``kill -9``), so after a crash the next start takes it
and may safely recover rows left ``uploading``: nobody else is sending them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import IO

from maxupload.core.errors import MaxUploadError


class QueueBusy(MaxUploadError):
    """Another MaxUpload window or command is sending photos from this queue."""

    default_next_step = "Wait for the other MaxUpload window or command to finish, or close it."


class RunLock:
    """A non-blocking exclusive lock on ``<queue file>.lock``.

    ``guard_folder`` (POSIX) also locks the folder itself: deleting the lock file while it is
    held (a clean-up tool, a user) would otherwise let a second sender lock a new file.
    """

    def __init__(self, path: Path, *, guard_folder: bool = False) -> None:
        self.path = path
        self.guard_folder = guard_folder and sys.platform != "win32"
        self._file: IO[bytes] | None = None
        self._folder_fd: int | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self, wait: float = 0.0) -> bool:
        """Take the lock if free, waiting up to ``wait`` seconds; False when another process
        (or another ``RunLock`` on the same file) still holds it."""
        deadline = time.monotonic() + wait
        while not self._try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        handle = os.fdopen(fd, "r+b")
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        if self.guard_folder and not self._lock_folder():
            handle.close()  # closing drops the file lock too
            return False
        self._file = handle
        return True

    def _lock_folder(self) -> bool:
        import fcntl

        fd = os.open(self.path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._folder_fd = fd
        return True

    def release(self) -> None:
        folder_fd, self._folder_fd = self._folder_fd, None
        if folder_fd is not None:
            os.close(folder_fd)  # closing drops the folder's lock
        handle, self._file = self._file, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
