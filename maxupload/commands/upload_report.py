"""What ``maxupload upload`` prints about the photo checks and about photos an earlier item
stands for. Only printing: the decisions are made by ``maxupload.core.uploads``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from maxupload.core.queue.filenames import shown
from maxupload.core.queue.model import QueueItem
from maxupload.core.uploads import PhotoSnapshot, SubmitResult, findings_of

if TYPE_CHECKING:
    from maxupload.commands.upload_output import Printer
    from maxupload.core.imaging.prepared_copies import PreparedCopies
    from maxupload.core.queue.store import QueueStore


def check_fields(item: QueueItem) -> dict[str, Any]:
    """The ``--json`` fields of the photo checks: capture time and findings."""
    return {
        "capturedAt": item.captured_at,
        "findings": [
            {"code": f.code.value, "severity": f.severity.value, "message": f.message}
            for f in findings_of(item)
        ],
    }


def not_queued_record(
    file: str, status: str, code: str, message: str, next_step: str | None
) -> dict[str, Any]:
    """The ``--json`` object of a file that was not sent (rejected, skipped, held, blocked)."""
    return {
        "file": file,
        "itemId": None,
        "status": status,
        "state": status,
        "imageId": None,
        "sizeKb": None,
        "verified": False,
        "traceId": None,
        "errorCode": code,
        "message": message,
        "nextStep": next_step,
    }


def print_stopped(snap: PhotoSnapshot, as_json: bool, out: TextIO) -> None:
    """A photo the checks hold or block for this note: which file, why, what to do."""
    outcome = snap.outcome
    status = outcome.kind.value  # "held" or "blocked"
    if as_json:
        record = not_queued_record(
            shown(snap.item.source_path),
            status,
            outcome.code,
            outcome.message,
            outcome.terminal_step,
        )
        record.update(check_fields(snap.item))
        print(json.dumps(record), file=out, flush=True)
        return
    print(f"{shown(snap.item.source_path)}  {status}: not sent", file=out)
    for finding in snap.findings:
        print(f"    {finding.message}", file=out)
    print(f"    Next: {outcome.terminal_step}", file=out, flush=True)


def print_stand_in(staged: QueueItem, earlier: PhotoSnapshot, as_json: bool, out: TextIO) -> None:
    """A photo not queued again because an earlier item stands for it (already on the note, or
    waiting for a decision)."""
    item = earlier.item
    if as_json:
        record = {
            "file": shown(staged.source_path),
            "itemId": item.id,
            "status": item.server_status or item.state.value,
            "state": item.state.value,
            "imageId": item.image_id,
            "sizeKb": None if item.size_sent is None else max(1, round(item.size_sent / 1024)),
            "verified": item.state.value == "verified",
            "traceId": item.trace_id,
            "errorCode": staged.error_code,
            "message": staged.error_message,
            "nextStep": item.next_step,
            "patient": item.patient_label,
            "noteId": item.note_id,
            **check_fields(staged),
        }
        print(json.dumps(record), file=out, flush=True)
        return
    where = f"  {item.image_id}" if item.image_id else ""
    print(
        f"{shown(staged.source_path)}  not sent again (item {item.id}, {item.state}){where}",
        file=out,
    )
    if staged.error_message:
        print(f"    {staged.error_message}", file=out)
    if item.error_message:
        print(f"    {item.error_message}", file=out)
    if item.next_step:
        print(f"    Next: {item.next_step}", file=out)
    out.flush()


def print_checked(
    result: SubmitResult, store: QueueStore, copies: PreparedCopies, printer: Printer
) -> list[int]:
    """Print the photos the checks stopped (their copies, never sent, are not kept) and those
    an earlier item stands for; returns the ids of the stopped ones."""
    for snap in result.stopped:
        print_stopped(snap, printer.as_json, printer.out)
        copies.discard(snap.path, snap.item.preset)
    for checked_id, earlier in result.stand_ins.items():
        if store.get(checked_id).error_code != "queued_earlier":
            printer.printed.add(earlier.id)
            print_stand_in(store.get(checked_id), earlier, printer.as_json, printer.out)
    return [s.id for s in result.stopped]


def result_ids(result: SubmitResult) -> list[int]:
    """One item per photo sent or stood in for: what the run's summary counts."""
    return [e.id for e in result.stand_ins.values()] + [s.id for s in result.queued]
