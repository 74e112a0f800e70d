"""``maxupload upload``: check the note, queue the photos and send them through the engine.

The same path as the window (``maxupload.core.uploads``); this module parses and prints.
Intake names rejected files with a reason and a next step, the rest go on; the note is read
first (a signed note is refused before anything is sent, the patient is shown for
confirmation); the batch is saved in the durable queue, bound to the note, before any check
runs; the photo checks hold photos taken on another day (unless ``--allow-other-dates``) and
refuse photos of another patient's label; each photo is sent and verified by the upload engine
as soon as its own checks pass (``maxupload.core.batch_checks``). One line per file (or one JSON
object per file with ``--json``, with ``capturedAt`` and the checks' findings).

Exit codes: 0 every photo reached the server; 1 at least one did not (rejected, failed, waiting
for a decision, not confirmed); 2 nothing was sent because of a setup problem (no key, key
rejected, note missing or signed, queue busy, bad arguments); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from maxupload.commands.argtypes import api_id, workers
from maxupload.commands.upload_output import (
    CliListener,
    Printer,
    error,
    info,
    plural,
    reached_server,
    summary,
)
from maxupload.core.api.environments import resolve_base_url
from maxupload.core.api.errors import NetworkError, NoteLocked, RateLimited, TlsNotVerified
from maxupload.core.api.models import Note, Target
from maxupload.core.checks.photo import CheckCode
from maxupload.core.checks.visit_time import visit_text
from maxupload.core.errors import MaxUploadError
from maxupload.core.queue.model import QueueItem
from maxupload.core.queue.store import QueueStore

if TYPE_CHECKING:
    from maxupload.core.api.client import ApiClient
    from maxupload.core.api.ratelimit import RateGate
    from maxupload.core.batch_checks import FactsAhead
    from maxupload.core.engine.scheduler import UploadEngine
    from maxupload.core.imaging.prepared_copies import PreparedCopies

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
        "--allow-other-dates",
        action="store_true",
        help="send photos taken on another day than the visit (they are held otherwise)",
    )
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation on a terminal"
    )
    parser.add_argument("--workers", type=workers, metavar="N", help="photos sent at once (1-4)")
    parser.add_argument(
        "--trash-originals-when-verified",
        action="store_true",
        help="move each original file to the trash once its stored copy is verified",
    )
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


# --- setup ----------------------------------------------------------------------------------


def resolve_target_settings(args: argparse.Namespace) -> tuple[str, str, Any]:
    """Base URL and organization from the options, else from the saved settings."""
    from maxupload.commands.managed_args import effective_settings
    from maxupload.core.config.settings import require_intact

    settings = effective_settings(args)
    if not (args.base_url or args.env):
        require_intact(settings)  # a damaged file never sends photos to production by default
    base = args.base_url or args.env or settings.base_url
    return resolve_base_url(base), (args.org or settings.org_id or "").strip(), settings


def api_key_for(base_url: str, org_id: str) -> str | None:
    from maxupload.core.config.secrets import resolve_api_key

    return resolve_api_key(base_url, org_id)


def no_key_message(base_url: str, org_id: str) -> tuple[str, str]:
    from maxupload.core.config.missing_key import no_key_problem

    return no_key_problem(base_url, org_id)


def make_client(base_url: str, api_key: str, org_id: str, gate: RateGate) -> ApiClient:
    from maxupload.core.api.client import ApiClient

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


# --- the run --------------------------------------------------------------------------------


def run_queue(
    store: QueueStore,
    key_for: Callable[[Target], str],
    *,
    only: Iterable[int] | None,
    as_json: bool,
    workers: int,
    printer: Printer | None = None,
    before_start: Callable[[UploadEngine], Sequence[int]] | None = None,
    copies: PreparedCopies | None = None,
) -> tuple[int, list[QueueItem]]:
    """Run the engine over ``only`` (or every runnable item) until it is idle.

    Returns (exit code, the items it was asked to run, in their final state).
    """
    from maxupload.core.api.ratelimit import RateGate
    from maxupload.core.engine.scheduler import UploadEngine
    from maxupload.core.queue.runlock import QueueBusy

    gate = RateGate()

    def factory(target: Target) -> ApiClient:
        return make_client(target.base_url, key_for(target), target.org_id, gate)

    printer = printer or Printer(as_json)
    ids: set[int] | None = None if only is None else set(only)
    listener = CliListener(printer, ids)
    engine = UploadEngine(
        store,
        factory,
        workers=workers,
        listener=listener,
        gate=gate,
        retry_delays=CLI_RETRY_DELAYS,
        verify_delays=CLI_VERIFY_DELAYS,
        copies=copies,
    )
    try:
        try:
            engine.acquire()
        except QueueBusy as exc:
            error(str(exc), exc.next_step)
            return EXIT_SETUP, []
        try:
            if before_start is not None:  # e.g. the photo checks, while the first are sent
                added = list(before_start(engine))
                ids = set(added) if ids is None else ids | set(added)
                listener.ids = ids
            for item in store.items(ids=ids) if ids is not None else []:
                printer.item(item)  # e.g. held by the duplicate guard when queued
            engine.start(only=ids)
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


def run(args: argparse.Namespace) -> int:
    ahead: list[FactsAhead] = []  # photo facts read while the note is read and bound
    try:
        return _run(args, ahead)
    finally:
        for reading in ahead:
            reading.close()  # a setup problem or "no": what was not read yet is not read


def _run(args: argparse.Namespace, ahead: list[FactsAhead]) -> int:
    from maxupload.commands.history import originals_summary
    from maxupload.core.config.settings import DEFAULT_CONCURRENCY
    from maxupload.core.imaging.prepare import get_preset
    from maxupload.core.intake import merge_results, scan_in_parts
    from maxupload.core.system.logsetup import install_cli_redaction

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
    from maxupload.core.batch_checks import FactsAhead
    from maxupload.core.checks.copy_facts import facts_from_copies
    from maxupload.core.engine.scheduler import default_copies

    copies = default_copies()
    read = facts_from_copies(copies, preset)  # scans the decode that prepares the copy sent
    # Each photo is read as soon as intake accepts it, while the next files are checked.
    ahead.append(FactsAhead([], read))
    parts = []
    for part in scan_in_parts(args.paths, first=1, size=1):
        parts.append(part)
        for accepted in part.unique:
            ahead[0].add(accepted.path)
    intake = merge_results(parts)
    # The key is looked up once the photos are being read (loading the keyring takes 60 ms);
    # without one, nothing was sent and what was not read yet is dropped.
    try:
        api_key = api_key_for(base_url, org_id)
    except MaxUploadError as exc:
        error(str(exc), exc.next_step)
        return EXIT_SETUP
    if not api_key:
        error(*no_key_message(base_url, org_id))
        return EXIT_SETUP
    printer = Printer(as_json)
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
    from maxupload.commands.upload_report import print_checked, result_ids
    from maxupload.core.api.ratelimit import RateGate
    from maxupload.core.batch_checks import check_and_release, queue_for_checks
    from maxupload.core.uploads import UploadService, patient_label, target_label

    try:
        with make_client(base_url, api_key, org_id, RateGate()) as client:
            note: Note = UploadService.open_note(client, args.note)
    except NoteLocked as exc:
        error(str(exc.message), "Ask the provider to add an addendum, or choose another note.")
        return EXIT_SETUP
    except MaxUploadError as exc:
        # About the note, not a photo: nothing was queued, and this command does not retry.
        step = exc.next_step
        if isinstance(exc, RateLimited):
            step = "Wait a minute, then run the command again."
        elif isinstance(exc, NetworkError) and not isinstance(exc, TlsNotVerified):
            step = "Check the connection and the server address, then run the command again."
        error(f"Cannot read note {args.note}: {str(exc).rstrip('.')}; nothing was sent.", step)
        return EXIT_SETUP
    photos = plural(len(to_send), "photo")
    info(as_json, f"Note {note.id} ({note.status or 'status unknown'}), visit {visit_text(note)}")
    info(as_json, f"Patient: {patient_label(note)}")
    assigned = [p.id for p in note.assigned_providers]
    if assigned and provider_id not in assigned:
        info(
            as_json,
            f"Warning: provider {provider_id} is not assigned to this note "
            f"(assigned: {', '.join(assigned)}).",
        )
    info(as_json, f"Sending {photos} as provider {provider_id} (preset {preset}).")
    question = f"Upload {photos} to {target_label(note)}? [y/N] "
    if interactive() and not args.yes and not confirm(question):
        info(as_json, "Nothing was sent.")
        return EXIT_NOT_ALL_SENT
    acknowledged = frozenset({CheckCode.OTHER_DAY}) if args.allow_other_dates else frozenset()
    results: list[int] = []
    stopped: list[int] = []
    run_ids: list[int] = []

    def submit(engine: UploadEngine) -> list[int]:
        """Bind the whole batch to the note, waiting for its checks, then check the photos
        (one per core); each is sent as soon as its own checks pass (``core.batch_checks``)."""
        # The checks scan the decode that prepares the copy the engine sends: one decode each.
        service = UploadService(store, engine, history=engine.history)
        target = Target(org_id, note.id, provider_id, target_label(note), base_url)
        items = queue_for_checks(
            service,
            to_send,
            note,
            target,
            preset,
            acknowledged=acknowledged,
            trash_originals=args.trash_originals_when_verified,
        )
        run_ids.extend(i.id for i in items)  # a Ctrl+C during the checks still lists them
        result = check_and_release(
            service,
            items,
            note,
            read_for=lambda _p: read,
            hide_stopped=True,
            acknowledged=acknowledged,  # also for photos taken over from an interrupted run
            ahead=ahead[0],
        )
        stopped.extend(print_checked(result, store, engine.copies, printer))
        results.extend(result_ids(result))
        return result.run

    store = QueueStore()
    try:
        code, _items = run_queue(
            store,
            lambda _t: api_key,
            only=[],
            as_json=as_json,
            workers=int(workers),
            printer=printer,
            before_start=submit,
            copies=copies,
        )
        if not results and run_ids:  # interrupted during the checks: what each photo reached
            items = store.items(ids=run_ids)  # (those the checks stopped are hidden)
            for item in items:
                printer.item(item)  # the ones already sent and verified, once each
        else:
            items = store.items(ids=results, include_hidden=True) if results else []
    finally:
        store.close()
    if items or stopped:
        info(as_json, summary(items, rejected=len(intake.rejected), stopped=len(stopped)))
    if items and args.trash_originals_when_verified:
        info(as_json, originals_summary(store.path, items))
    if code == EXIT_OK and (intake.rejected or stopped):
        code = EXIT_NOT_ALL_SENT
    return code
