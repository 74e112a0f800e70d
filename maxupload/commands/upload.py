"""``maxupload upload``: check the note, queue the photos and send them through the engine.

The same path as the window: intake (rejected files are named with a reason and a next step,
the rest go on), the note is read first (a signed note is refused before anything is sent and
the patient is shown for confirmation), then the durable queue and the upload engine prepare,
send and verify each photo. One line per file (or one JSON object per file with ``--json``).

Exit codes: 0 every photo reached the server; 1 at least one did not (rejected, failed, waiting
for a decision, not confirmed); 2 nothing was sent because of a setup problem (no key, key
rejected, note missing or signed, queue busy, bad arguments); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from maxupload.commands.argtypes import api_id, workers
from maxupload.core.environments import resolve_base_url
from maxupload.core.errors import MaxUploadError, NetworkError, RateLimited, TlsNotVerified
from maxupload.core.filenames import shown
from maxupload.core.models import Note, Target
from maxupload.core.queue_store import UPLOADED_STATES, ItemState, QueueItem, QueueStore
from maxupload.core.visit_time import visit_text

EXIT_OK = 0
EXIT_NOT_ALL_SENT = 1
EXIT_SETUP = 2
EXIT_INTERRUPTED = 130

#: Engine retry delays for a command-line run (shorter than the window's: someone is waiting).
CLI_RETRY_DELAYS = (3.0, 15.0)
CLI_VERIFY_DELAYS = (2.0, 10.0)
#: How long Ctrl-C waits for uploads whose request is complete (their answer cannot be undone).
STOP_WAIT_S = 10.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "upload",
        help="send photos to a patient's visit note",
        description=(
            "Send photos (files or folders) to a visit note. The note is checked first: a "
            "signed note is refused, and the patient is shown for confirmation. Each photo "
            "is prepared (upright, metadata removed, resized), sent, and the stored copy is "
            "checked. Exit code 0 only when every photo reached the server."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER", help="photos or folders")
    parser.add_argument(
        "--note", required=True, type=api_id("note id"), metavar="ID", help="visit note id"
    )
    parser.add_argument(
        "--provider",
        type=api_id("provider id"),
        metavar="ID",
        help="provider id (prv_...; default: saved setting)",
    )
    add_target_options(parser)
    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="size preset: original, high, standard, small or custom:<long_edge>:<quality>",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation on a terminal"
    )
    parser.add_argument("--workers", type=workers, metavar="N", help="photos sent at once (1-4)")
    parser.set_defaults(func=run)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--org", type=api_id("organization id"), metavar="ID", help="organization id"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--base-url", metavar="URL", help="API base URL, e.g. .../v3")
    where.add_argument(
        "--env", choices=["production", "staging"], help="Max AI environment (default: saved)"
    )


# --- output ---------------------------------------------------------------------------------


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
                record = {
                    "file": shown(path),
                    "itemId": None,
                    "status": status,
                    "state": status,
                    "imageId": None,
                    "sizeKb": None,
                    "verified": False,
                    "traceId": None,
                    "errorCode": code,
                    "message": reason,
                    "nextStep": next_step,
                }
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


class _CliListener:
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


# --- setup ----------------------------------------------------------------------------------


def resolve_target_settings(args: argparse.Namespace) -> tuple[str, str, Any]:
    """Base URL and organization from the options, else from the saved settings."""
    from maxupload.core.settings import load_settings, require_intact

    settings = load_settings()
    if not (args.base_url or args.env):
        require_intact(settings)  # a damaged file never sends photos to production by default
    base = args.base_url or args.env or settings.base_url
    return resolve_base_url(base), (args.org or settings.org_id or "").strip(), settings


def api_key_for(base_url: str, org_id: str) -> str | None:
    from maxupload.core.secrets import resolve_api_key

    return resolve_api_key(base_url, org_id)


def no_key_message(base_url: str, org_id: str) -> tuple[str, str]:
    return (
        f"No API key for organization {org_id} at {base_url}.",
        f"Run 'maxupload key set --org {org_id}' (or set MAXUPLOAD_API_KEY for scripts).",
    )


def make_client(base_url: str, api_key: str, org_id: str, gate: Any) -> Any:
    from maxupload.core.api_client import ApiClient

    return ApiClient(base_url, api_key, org_id, gate=gate)


def confirm(question: str) -> bool:
    """Ask on the terminal; anything but y/yes is no."""
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def patient_label(note: Note) -> str:
    patient = note.patient
    if patient is None:
        return f"note {note.id}"
    parts = []
    if patient.date_of_birth:
        parts.append(f"DOB {patient.date_of_birth}")
    if patient.mrn:
        parts.append(f"MRN {patient.mrn}")
    suffix = f" ({', '.join(parts)})" if parts else ""
    return f"{patient.display_name}{suffix}"


# --- the run --------------------------------------------------------------------------------


def run_queue(
    store: QueueStore,
    key_for: Callable[[Target], str],
    *,
    only: Iterable[int] | None,
    as_json: bool,
    workers: int,
    printer: Printer | None = None,
    before_start: Callable[[Any], Sequence[int]] | None = None,
) -> tuple[int, list[QueueItem]]:
    """Run the engine over ``only`` (or every runnable item) until it is idle.

    Returns (exit code, the items it was asked to run, in their final state).
    """
    from maxupload.core.engine import UploadEngine
    from maxupload.core.ratelimit import RateGate
    from maxupload.core.runlock import QueueBusy

    gate = RateGate()

    def factory(target: Target) -> Any:
        return make_client(target.base_url, key_for(target), target.org_id, gate)

    printer = printer or Printer(as_json)
    ids: set[int] | None = None if only is None else set(only)
    listener = _CliListener(printer, ids)
    engine = UploadEngine(
        store,
        factory,
        workers=workers,
        listener=listener,
        gate=gate,
        retry_delays=CLI_RETRY_DELAYS,
        verify_delays=CLI_VERIFY_DELAYS,
    )
    try:
        try:
            engine.acquire()
        except QueueBusy as exc:
            error(str(exc), exc.next_step)
            return EXIT_SETUP, []
        if before_start is not None:
            added = list(before_start(engine))
            ids = set(added) if ids is None else ids | set(added)
            listener.ids = ids
        for item in store.items(ids=ids) if ids is not None else []:
            printer.item(item)  # e.g. held by the duplicate guard when queued
        engine.start(only=ids)
        try:
            while not engine.wait_idle(timeout=0.5):
                pass
            if engine.storage_problem is not None:
                raise engine.storage_problem  # disk full etc.: one message, queue kept as is
        except KeyboardInterrupt as stop:
            info(as_json, "Stopping: photos not yet sent stay in the queue.")
            stopped = engine.shutdown(wait=True, cancel_in_flight=True, timeout=STOP_WAIT_S)
            if not stopped:
                info(
                    as_json,
                    "Some photos were already sent and their answer had not come back; they "
                    "will wait for your decision ('maxupload queue').",
                )
            info(
                as_json,
                "See the queue with 'maxupload queue'; go on with 'maxupload queue resume'.",
            )
            code = 128 + getattr(stop, "signum", 2)  # 130 for Ctrl+C, 143 for SIGTERM
            return code, store.items(ids=ids) if ids is not None else []
    finally:
        engine.shutdown(wait=True, timeout=STOP_WAIT_S)
    final = store.items(ids=ids, include_hidden=True) if ids is not None else []
    for item in final:
        printer.item(item, force=True)
    ok = all(reached_server(i) for i in final)
    return (EXIT_OK if ok else EXIT_NOT_ALL_SENT), final


def adopt_unsent_twins(store: QueueStore, items: Sequence[QueueItem]) -> list[int]:
    """Ids to run for freshly queued items. A photo the guard held only because an earlier,
    never-sent item (e.g. left by a crash) waits for the same note is not a duplicate: the
    earlier item is sent in this run instead, and the new one is withdrawn. Only when the
    earlier item goes in as the same provider with the same preset, as this run announced;
    otherwise the new one stays held for the user to decide."""
    unsent = {ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER}
    ids: list[int] = []
    for item in items:
        earlier = None
        if item.error_code == "duplicate" and item.duplicate_of is not None:
            earlier = store.get(item.duplicate_of)
        if (
            earlier is None
            or earlier.state not in unsent
            or earlier.id in ids
            or (earlier.provider_id, earlier.preset) != (item.provider_id, item.preset)
        ):
            ids.append(item.id)
            continue
        store.update(
            item.id,
            ItemState.CANCELLED,
            message=f"the same photo is already queued as item {earlier.id}; that one is sent",
            error_kind="cancelled",
            error_code="queued_earlier",
            error_message=f"Already queued as item {earlier.id}, which is sent instead.",
            next_step=None,
            hidden=True,
        )
        if earlier.state == ItemState.RETRY_LATER:
            store.update(
                earlier.id,
                message="the same photo was added again: trying now",
                next_attempt_at=0.0,
                retry_count=0,
            )
        ids.append(earlier.id)
    return ids


def summary(items: Sequence[QueueItem], rejected: int = 0) -> str:
    reached = sum(1 for i in items if reached_server(i))
    verified = sum(1 for i in items if i.state == ItemState.VERIFIED)
    decision = sum(1 for i in items if i.state == ItemState.NEEDS_DECISION)
    total = len(items) + rejected
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
    if rejected:
        extra.append(f"{rejected} rejected")
    return text + ("; " + ", ".join(extra) if extra else "") + "."


def run(args: argparse.Namespace) -> int:
    from maxupload.core.imaging import get_preset
    from maxupload.core.intake import scan
    from maxupload.core.logsetup import install_cli_redaction
    from maxupload.core.settings import DEFAULT_CONCURRENCY

    install_cli_redaction()
    as_json = bool(args.json)
    base_url, org_id, settings = resolve_target_settings(args)
    provider_id = (args.provider or getattr(settings, "provider_id", "") or "").strip()
    preset = args.preset or getattr(settings, "preset", None) or "standard"
    workers = args.workers or getattr(settings, "concurrency", DEFAULT_CONCURRENCY)
    if not org_id:
        error("No organization given.", "Pass --org ID, or save one with 'maxupload key set'.")
        return EXIT_SETUP
    if not provider_id:
        error("No provider given.", "Pass --provider ID (the provider the photos go in as).")
        return EXIT_SETUP
    try:
        get_preset(preset)
    except ValueError as exc:
        error(str(exc))
        return EXIT_SETUP
    if not 1 <= int(workers) <= 4:
        error("--workers must be between 1 and 4.")
        return EXIT_SETUP
    try:
        api_key = api_key_for(base_url, org_id)
    except MaxUploadError as exc:
        error(str(exc), exc.next_step)
        return EXIT_SETUP
    if not api_key:
        error(*no_key_message(base_url, org_id))
        return EXIT_SETUP

    printer = Printer(as_json)
    intake = scan(args.paths)
    for rejection in intake.rejected:
        printer.rejected(rejection.path, rejection.reason, rejection.next_step)
    for twin in intake.duplicates:
        printer.skipped(twin.path, f"The same photo as {twin.duplicate_of}; it is sent once.")
    if intake.skipped:
        info(as_json, f"Skipped {plural(len(intake.skipped), 'system file')} that are not photos.")
    to_send = intake.unique
    if not to_send:
        error("No usable photos in what was given; nothing was sent.")
        return EXIT_NOT_ALL_SENT

    # Read the note before anything is queued: wrong org, wrong note or a signed note stop here.
    from maxupload.core.ratelimit import RateGate

    try:
        with make_client(base_url, api_key, org_id, RateGate()) as client:
            note: Note = client.get_note(args.note)
    except MaxUploadError as exc:
        # About the note, not a photo: nothing was queued, and this command does not retry.
        step = exc.next_step
        if isinstance(exc, RateLimited):
            step = "Wait a minute, then run the command again."
        elif isinstance(exc, NetworkError) and not isinstance(exc, TlsNotVerified):
            step = "Check the connection and the server address, then run the command again."
        error(f"Cannot read note {args.note}: {str(exc).rstrip('.')}; nothing was sent.", step)
        return EXIT_SETUP
    label = patient_label(note)
    if note.is_locked:
        error(
            f"Note {note.id} for {label} is signed and takes no more images; nothing was sent.",
            "Ask the provider to add an addendum, or choose another note.",
        )
        return EXIT_SETUP
    photos = plural(len(to_send), "photo")
    info(as_json, f"Note {note.id} ({note.status or 'status unknown'}), visit {visit_text(note)}")
    info(as_json, f"Patient: {label}")
    assigned = [p.id for p in note.assigned_providers]
    if assigned and provider_id not in assigned:
        info(
            as_json,
            f"Warning: provider {provider_id} is not assigned to this note "
            f"(assigned: {', '.join(assigned)}).",
        )
    info(as_json, f"Sending {photos} as provider {provider_id} (preset {preset}).")
    question = f"Upload {photos} to {label}, visit {visit_text(note)}? [y/N] "
    if interactive() and not args.yes and not confirm(question):
        info(as_json, "Nothing was sent.")
        return EXIT_NOT_ALL_SENT
    target = Target(
        org_id=org_id,
        note_id=note.id,
        provider_id=provider_id,
        patient_label=label,
        base_url=base_url,
    )

    def add(engine: Any) -> list[int]:
        return adopt_unsent_twins(store, engine.add(to_send, target, preset))

    store = QueueStore()
    try:
        code, items = run_queue(
            store,
            lambda _t: api_key,
            only=[],
            as_json=as_json,
            workers=int(workers),
            printer=printer,
            before_start=add,
        )
    finally:
        store.close()
    if items:
        info(as_json, summary(items, rejected=len(intake.rejected)))
    if code == EXIT_OK and intake.rejected:
        code = EXIT_NOT_ALL_SENT
    return code
