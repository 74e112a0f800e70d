"""What ``maxupload upload`` and ``maxupload queue`` print per photo and for the run: one line
(or one ``--json`` object) per photo, what went wrong and what to do next, and the run's
summary counted from what the server really has. Only printing: the decisions are made in
``maxupload.core``."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from maxupload.commands.upload_report import check_fields, not_queued_record
from maxupload.core.queue.filenames import shown
from maxupload.core.queue.model import UPLOADED_STATES, ItemState, QueueItem


def plural(count: int, word: str) -> str:
    """``1 photo``, ``2 photos``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def size_kb(item: QueueItem) -> int | None:
    return None if item.size_sent is None else max(1, round(item.size_sent / 1024))


def status_of(item: QueueItem) -> str:
    """The server's status when the photo reached it, else the queue state."""
    if item.image_id and item.state in (*UPLOADED_STATES, ItemState.VERIFIED):
        return item.server_status or "unknown"
    return item.state.value


def item_record(item: QueueItem) -> dict[str, Any]:
    """The ``--json`` object for one photo."""
    return {
        "file": shown(item.source_path),
        "itemId": item.id,
        "status": status_of(item),
        "state": item.state.value,
        "imageId": item.image_id,
        "sizeKb": size_kb(item),
        "verified": item.state == ItemState.VERIFIED,
        "traceId": item.trace_id,
        "errorCode": item.error_code,
        "message": item.error_message,
        "nextStep": item.next_step,
        "patient": item.patient_label,
        "noteId": item.note_id,
        **check_fields(item),
    }


def item_lines(item: QueueItem) -> list[str]:
    """Human lines for one photo: ``file  synced  img_...  123 KB  verified`` or the problem."""
    head = f"{shown(item.source_path)}  {status_of(item)}"
    if item.image_id:
        head += f"  {item.image_id}"
        kb = size_kb(item)
        if kb is not None:
            head += f"  {kb} KB"
        if item.state == ItemState.VERIFIED:
            head += "  verified"
        elif item.error_message:
            head += "  not verified"
    return [head, *problem_lines(item, "    ")]


def problem_lines(item: QueueItem, indent: str) -> list[str]:
    """What went wrong with a photo, what to do next, and the trace id for support."""
    lines = []
    if item.error_message:
        lines.append(f"{indent}{item.error_message}")
    if item.next_step:
        lines.append(f"{indent}Next: {item.next_step}")
    if item.trace_id and item.error_message:
        lines.append(f"{indent}Trace id: {item.trace_id} (give it to support)")
    return lines


def reached_server(item: QueueItem) -> bool:
    """The photo is on the server and nothing about it waits for the user."""
    return item.image_id is not None and item.state != ItemState.NEEDS_DECISION


class Printer:
    """Prints each photo once, when the engine is done with it (thread-safe)."""

    def __init__(self, as_json: bool, out: TextIO | None = None) -> None:
        self.as_json = as_json
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self.printed: set[int] = set()

    def rejected(self, path: Path, reason: str, next_step: str) -> None:
        self._not_queued(path, "rejected", "rejected", reason, next_step)

    def skipped(self, path: Path, reason: str) -> None:
        self._not_queued(path, "skipped", "duplicate_in_batch", reason, None)

    def _not_queued(
        self, path: Path, status: str, code: str, reason: str, next_step: str | None
    ) -> None:
        """A file that never became a queue item, with why and what to do."""
        with self._lock:
            if self.as_json:
                record = not_queued_record(shown(path), status, code, reason, next_step)
                print(json.dumps(record), file=self.out, flush=True)
                return
            print(f"{shown(path)}  {status}", file=self.out)
            print(f"    {reason}", file=self.out)
            if next_step:
                print(f"    Next: {next_step}", file=self.out)
            self.out.flush()

    def item(self, item: QueueItem, *, force: bool = False) -> None:
        with self._lock:
            if item.id in self.printed or not (force or item.settled):
                return
            self.printed.add(item.id)
            if self.as_json:
                print(json.dumps(item_record(item)), file=self.out, flush=True)
            else:
                for line in item_lines(item):
                    print(line, file=self.out)
                self.out.flush()


class CliListener:
    """Prints each photo of the run (``ids``, or all) once the engine has settled it."""

    def __init__(self, printer: Printer, ids: set[int] | None) -> None:
        self.printer = printer
        self.ids = ids

    def item_changed(self, item: QueueItem) -> None:
        if self.ids is None or item.id in self.ids:
            self.printer.item(item)

    def item_progress(self, item_id: int, sent: int, total: int) -> None:
        return None

    def batch_finished(self, counts: dict[str, int]) -> None:
        return None


def info(as_json: bool, text: str = "") -> None:
    """Messages that are not per-file results (stderr under --json, keeping stdout clean)."""
    print(text, file=sys.stderr if as_json else sys.stdout, flush=True)


def error(text: str, next_step: str | None = None) -> None:
    print(f"maxupload: {text}", file=sys.stderr)
    if next_step:
        print(f"  Next: {next_step}", file=sys.stderr)
    sys.stderr.flush()


def summary(items: Sequence[QueueItem], rejected: int = 0, stopped: int = 0) -> str:
    """One line for the run: what the server really has, then what waits for whom. ``items``
    holds one item per photo (for a photo not queued again, the earlier item standing for it)."""
    reached = sum(1 for i in items if reached_server(i))
    verified = sum(1 for i in items if i.state == ItemState.VERIFIED)
    decision = sum(1 for i in items if i.state == ItemState.NEEDS_DECISION)
    total = len(items) + rejected + stopped
    text = f"{reached} of {total} photos reached the server ({verified} verified)"
    extra = []
    if decision:
        extra.append(f"{decision} waiting for your decision")
    failed = sum(1 for i in items if i.state in (ItemState.FAILED, ItemState.CANCELLED))
    if failed:
        extra.append(f"{failed} not sent")
    later = sum(1 for i in items if i.state == ItemState.RETRY_LATER)
    if later:
        extra.append(f"{later} to retry later ('maxupload queue resume')")
    checking = sum(1 for i in items if i.state == ItemState.CHECKING)
    if checking:
        extra.append(f"{checking} waiting for their photo checks ('maxupload queue resume')")
    if stopped:
        extra.append(f"{stopped} stopped by the photo checks")
    if rejected:
        extra.append(f"{rejected} rejected")
    return text + ("; " + ", ".join(extra) if extra else "") + "."
