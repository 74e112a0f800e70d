"""Failures of MaxUpload's own storage (queue file, data, cache and log folders), in plain words.

A full disk, a read-only or damaged queue file, or a data folder that is not a folder are not
a problem with the user's photo: the queue pauses with one message saying what is wrong with
which file or folder and what to do, and nothing already stored is touched. ``storage_error``
recognises such failures (SQLite's codes, ``OSError`` numbers) wherever they are raised.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from maxupload.core.errors import MaxUploadError

#: ``OSError`` numbers that mean the disk (not the file being read) refuses to take more.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: ``OSError`` numbers that mean MaxUpload's own folder or file cannot be written.
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

#: ``OSError`` numbers that mean a file or folder is in the way of MaxUpload's own.
_IN_THE_WAY_ERRNOS = frozenset({errno.ENOTDIR, errno.EEXIST, errno.EISDIR})
#: Answers that name another cause than space, even on a disk that also happens to be full.
_NOT_SPACE_ERRNOS = READ_ONLY_ERRNOS | _IN_THE_WAY_ERRNOS | {errno.ENOENT}

_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26

FULL_MESSAGE = "The disk holding MaxUpload's data is full{where}: free space, then resume."


def _move_aside(path: Path | str | None) -> str:
    """What to do with a damaged queue file: keep it (for support), start a new one."""
    if not path:
        return (
            "Close MaxUpload, rename the queue file (keep it for support), then start again "
            "with a new, empty queue. Photos already stored in Max AI stay there: check the note "
            "in the EHR before sending again the ones that were waiting."
        )
    return (
        f"Close MaxUpload, rename the damaged file (for example: mv '{path}' "
        f"'{path}.damaged'), keep it for support, then start again with a new, empty queue. "
        "Photos already stored in Max AI stay there, and the upload history ('maxupload "
        "history', or History in the window) still lists them: check the note in the EHR "
        "before sending again the ones that were waiting."
    )


class StorageError(MaxUploadError):
    """MaxUpload cannot read or write its own files; the queue is paused, nothing is lost."""

    default_next_step = (
        "Fix the file or folder named above, then resume ('maxupload queue resume')."
    )


class StorageFull(StorageError):
    """The disk holding MaxUpload's data (queue, prepared copies, log) is full."""

    default_next_step = (
        "Nothing already stored is lost. Once space is free, choose Upload or Retry again in "
        "the window, or run 'maxupload queue resume'."
    )


class QueueFileDamaged(StorageError):
    """The queue file is not a readable SQLite database any more."""


def _where(path: Path | str | None) -> str:
    return f" ({path})" if path else ""


def disk_is_full(path: Path | str | None) -> bool:
    """True when the disk holding ``path`` (or its nearest existing folder) has no free space:
    SQLite reports a full disk as a plain I/O error when it cannot even grow its index file."""
    if not path:
        return False
    here = Path(path)
    for folder in (here, *here.parents):
        try:
            stats = os.statvfs(folder)
        except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
            continue
        if stats.f_blocks == 0:
            return False  # a pseudo file system (/proc, /sys) has no space to run out of
        return stats.f_bavail == 0 or (stats.f_favail == 0 and stats.f_files > 0)
    return False


def storage_error(exc: BaseException, path: Path | str | None = None) -> StorageError | None:
    """The storage failure ``exc`` stands for (``path``: MaxUpload's file or folder), or None
    when ``exc`` is something else (e.g. a photo that cannot be read)."""
    if isinstance(exc, StorageError):
        return exc
    definite = isinstance(exc, OSError) and exc.errno in _NOT_SPACE_ERRNOS
    if (
        isinstance(exc, (sqlite3.OperationalError, OSError))
        and not definite
        and disk_is_full(path or getattr(exc, "filename", None))
    ):
        return StorageFull(
            FULL_MESSAGE.format(where=_where(path or getattr(exc, "filename", None)))
        )
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return None  # our own rules or a bug, not the file or the disk
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = None if code is None else code & 0xFF
        text = str(exc).lower()
        if primary == _SQLITE_FULL or "disk is full" in text:
            return StorageFull(FULL_MESSAGE.format(where=_where(path)))
        if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text:
            return QueueFileDamaged(
                f"The upload queue file{_where(path)} is damaged ({exc}).",
                next_step=_move_aside(path),
            )
        if primary == _SQLITE_READONLY or "readonly" in text or "read-only" in text:
            return StorageError(
                f"The upload queue file{_where(path)} cannot be written (read-only).",
                next_step="Give your user write permission on the file and its folder; resume.",
            )
        if primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN) or "unable to open" in text:
            return StorageError(
                f"The upload queue file{_where(path)} cannot be read or written ({exc}).",
                next_step=(
                    "Check that the folder exists, is a folder and is writable, and that the "
                    "disk works; then resume."
                ),
            )
        if type(exc) is sqlite3.DatabaseError:
            return QueueFileDamaged(
                f"The upload queue file{_where(path)} cannot be used ({exc}).",
                next_step=_move_aside(path),
            )
        return None
    if isinstance(exc, OSError):
        where = _where(path or exc.filename)
        if exc.errno in FULL_ERRNOS:
            return StorageFull(FULL_MESSAGE.format(where=where))
        if exc.errno in READ_ONLY_ERRNOS:
            return StorageError(
                f"MaxUpload cannot write its own files{where}: {exc.strerror or exc}.",
                next_step=(
                    "Give your user write permission there (or set MAXUPLOAD_HOME to a writable "
                    "folder), then try again."
                ),
            )
        if exc.errno in _IN_THE_WAY_ERRNOS:
            return StorageError(
                f"MaxUpload's data location{where} is not what it should be: "
                f"{exc.strerror or exc}.",
                next_step=(
                    "Move the file that is in the way (or set MAXUPLOAD_HOME to a folder), then "
                    "try again."
                ),
            )
        return None
    return None


def open_failure(exc: BaseException, path: Path) -> StorageError:
    """Why MaxUpload's own file ``path`` could not be opened, always with a next step that fits
    (a missing or unwritable home folder is not another window's fault)."""
    known = storage_error(exc, path)
    if known is not None:
        return known
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return StorageError(
        f"The upload queue file {path} cannot be opened ({reason}).",
        next_step=(
            "Check that MAXUPLOAD_HOME (or your home folder) is a folder your user can write "
            "to, and that the disk works; then try again."
        ),
    )
