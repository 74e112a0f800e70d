"""Clearing originals from the card or desktop once the EHR holds a verified copy (opt-in).

Only after the stored copy's sha256 matched what was sent (the queue item is ``verified``),
only regular files (never a folder, never a link), only when the file on disk is still the one
that was sent (same sha256), and only through the system's trash (``send2trash``), never a hard
delete. Whatever happens is written to the upload history: "moved to the trash" or why the
original was kept. A photo that was not verified keeps its original.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from send2trash import send2trash

from maxupload.core.history.store import HistoryStore
from maxupload.core.intake import hash_file
from maxupload.core.queue.model import ItemState, QueueItem

log = logging.getLogger(__name__)

MOVED = "moved to the trash"

#: One move at a time: send2trash creates the trash's folders on first use and fails with
#: "File exists" when two verifications that finish together both create them.
_trash_lock = threading.Lock()


def move_original_to_trash(item: QueueItem) -> str:
    """Move a verified photo's original to the trash; returns what happened, in words."""
    path = Path(item.source_path)
    if item.state != ItemState.VERIFIED:
        return "kept: the stored copy was not verified"
    if path.is_symlink():
        return "kept: the original is a link, not a file"
    if not path.exists():
        return f"kept: the original is no longer at {path}"
    if not path.is_file():
        return "kept: only files are moved to the trash, never folders"
    try:
        same = hash_file(path) == item.sha256_original
    except OSError as exc:
        return f"kept: the original could not be read ({exc.strerror or exc})"
    if not same:
        return "kept: the file changed after it was sent"
    try:
        with _trash_lock:
            send2trash(path)
    except Exception as exc:  # OSError, or send2trash's own TrashPermissionError
        log.warning("could not move %s to the trash: %s", path, exc)
        return f"kept: it could not be moved to the trash ({exc})"
    log.info("moved the original of queue item %s to the trash", item.id)
    return MOVED


def trash_if_wanted(item: QueueItem, history: HistoryStore) -> None:
    """For a verified photo whose batch asked for it: move the original, record the result."""
    entry = history.entry_for(item)
    if entry is None or not entry.trash_original or entry.original:
        return
    history.record_original(item, move_original_to_trash(item))
