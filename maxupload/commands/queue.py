"""``maxupload queue``: see every photo in the upload queue and act on it.

``maxupload queue`` lists items (state, patient, note, image id, problem and next step);
``resume`` continues after a crash or a closed window (photos an interrupted ``upload`` left
waiting for their photo checks are checked against the note, read again, first); ``retry ID``
queues again a photo that stored nothing; ``send-again ID`` sends a photo that may already be
stored (after you checked the note); ``show ID`` explains an item's history; ``cancel``,
``remove`` and ``clear --done`` tidy up. Exit codes as for ``maxupload upload``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from maxupload.commands.argtypes import item_id, workers
from maxupload.commands.resume_checks import ResumeChecks
from maxupload.commands.upload import (
    EXIT_NOT_ALL_SENT,
    EXIT_OK,
    EXIT_SETUP,
    api_key_for,
    confirm,
    interactive,
    no_key_message,
    run_queue,
)
from maxupload.commands.upload_output import (
    Printer,
    error,
    info,
    item_record,
    plural,
    problem_lines,
    size_kb,
    status_of,
    summary,
)
from maxupload.core.api.models import Target
from maxupload.core.errors import MaxUploadError
from maxupload.core.queue.filenames import shown
from maxupload.core.queue.model import UPLOADED_STATES, ItemState, QueueItem, QueueStoreError
from maxupload.core.queue.store import QueueStore

if TYPE_CHECKING:
    from maxupload.core.engine.scheduler import UploadEngine

_T = TypeVar("_T")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "queue",
        help="list the upload queue; resume, retry or send again",
        description=(
            "The upload queue: every photo from the moment it is queued until the server's "
            "copy is checked. Without an action, lists the items with their state, patient, "
            "note, image id, problem and next step. 'resume' continues after a crash or a "
            "closed window; 'retry ID' sends again a photo that stored nothing; 'send-again "
            "ID' sends a photo that may already be stored (check the note in the EHR first)."
        ),
    )
    parser.add_argument("--all", action="store_true", help="include removed and cleared items")
    parser.add_argument("--json", action="store_true", help="one JSON object per item")
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="queue_action", metavar="ACTION")

    def add(name: str, help_text: str, func: Any, *, item: bool = True) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        if item:
            sub.add_argument("item_id", type=item_id, metavar="ID", help="queue item number")
        sub.add_argument("--json", action="store_true", help="one JSON object per item")
        sub.set_defaults(func=func)
        return sub

    listing = add("list", "list the items and their states", run_list, item=False)
    listing.add_argument("--all", action="store_true", help="include removed and cleared items")
    resume = add(
        "resume",
        "continue sending after a crash or a closed window (photos still waiting for their "
        "photo checks are checked against the note first)",
        run_resume,
        item=False,
    )
    resume.add_argument(
        "--workers", type=workers, metavar="N", help="photos at once (default: saved setting)"
    )
    add("retry", "queue again a photo that stored nothing, and send it", run_retry)
    again = add(
        "send-again",
        "send a photo that may already be stored (check the note in the EHR first)",
        run_send_again,
    )
    again.add_argument("--yes", "-y", action="store_true", help="confirm a possible second copy")
    add("show", "explain one item: where it is and its history", run_show)
    add("cancel", "cancel a photo that has not been sent", run_cancel)
    add("remove", "remove an item from the list (cancelling it if not sent)", run_remove)
    clear = add("clear", "remove finished items from the list", run_clear, item=False)
    clear.add_argument(
        "--done", action="store_true", required=True, help="remove the verified items"
    )


# --- helpers --------------------------------------------------------------------------------


def _with_store(
    action: Callable[[argparse.Namespace, QueueStore], int],
) -> Callable[[argparse.Namespace], int]:
    """Run ``action`` on the queue file, closed after; a clear message if it cannot be opened."""

    @functools.wraps(action)
    def run(args: argparse.Namespace) -> int:
        try:
            store = QueueStore()
        except QueueStoreError as exc:
            error(str(exc), exc.next_step)
            return EXIT_SETUP
        try:
            return action(args, store)
        finally:
            store.close()

    return run


@contextlib.contextmanager
def _resting_engine(store: QueueStore) -> Iterator[UploadEngine]:
    """An engine that sends nothing, for one user action: it holds the queue lock (QueueBusy
    when another MaxUpload is sending) and has recovered what a crash left mid-way."""
    from maxupload.core.engine.ports import UploadClient
    from maxupload.core.engine.scheduler import UploadEngine

    def no_client(_target: Target) -> UploadClient:
        raise RuntimeError("this engine sends nothing")

    engine = UploadEngine(store, no_client)
    try:
        engine.recover()
        yield engine
    finally:
        engine.shutdown(wait=True)


def _recover_if_free(store: QueueStore) -> bool:
    """Explain items a crash left mid-way, unless another MaxUpload is sending right now."""
    from maxupload.core.queue.runlock import QueueBusy

    try:
        with _resting_engine(store):
            return True
    except QueueBusy:
        return False


def _key_resolver() -> Any:
    cache: dict[tuple[str, str], str] = {}

    def key_for(target: Target) -> str:
        pair = (target.base_url, target.org_id)
        if pair not in cache:
            key = api_key_for(*pair)
            if not key:
                message, step = no_key_message(*pair)
                raise _NoKey(message, step)
            cache[pair] = key
        return cache[pair]

    return key_for


class _NoKey(MaxUploadError):
    def __init__(self, message: str, step: str) -> None:
        super().__init__(message)
        self._step = step

    @property
    def next_step(self) -> str:
        return self._step


def _when(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _row(item: QueueItem) -> list[str]:
    image = item.image_id or "-"
    verified = ""
    if item.state == ItemState.VERIFIED:
        verified = " (verified)"
    elif item.state in UPLOADED_STATES:
        verified = " (not verified yet)"
    if item.state == ItemState.STAGED:
        where = "       added, not sent yet: pick the note in the window to send it"
    elif item.state == ItemState.CHECKING:
        where = (
            f"       patient: {item.patient_label}  note: {item.note_id}  waiting for its "
            "photo checks (nothing is sent before they pass; 'maxupload queue resume')"
        )
    else:
        where = (
            f"       patient: {item.patient_label}  note: {item.note_id}  image: {image}{verified}"
        )
    return [
        f"{item.id:>5}  {item.state.value:<14} {item.file_name}",
        where,
        *problem_lines(item, "       "),
    ]


# --- actions --------------------------------------------------------------------------------


@_with_store
def run_list(args: argparse.Namespace, store: QueueStore) -> int:
    busy = not _recover_if_free(store)
    items = store.items(include_hidden=bool(getattr(args, "all", False)))
    if args.json:
        for item in items:
            print(json.dumps(item_record(item)))
        return EXIT_OK
    if busy:
        print("Another MaxUpload is sending photos from this queue right now.")
    if not items:
        print("The upload queue is empty.")
    for item in items:
        for line in _row(item):
            print(line)
    counts = store.counts()
    if counts:
        print("Totals: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return EXIT_OK


@_with_store
def run_show(args: argparse.Namespace, store: QueueStore) -> int:
    _recover_if_free(store)
    item = _item_or_error(store, args.item_id)
    if item is None:
        return EXIT_SETUP
    if args.json:
        record = item_record(item)
        record["history"] = [
            {"at": _when(e.at), "state": e.state, "message": e.message}
            for e in store.events(item.id)
        ]
        print(json.dumps(record))
        return EXIT_OK
    for line in _row(item):
        print(line)
    kb = size_kb(item)
    print(f"       file: {shown(item.source_path)}  status: {status_of(item)}")
    print(
        f"       provider: {item.provider_id}  organization: {item.org_id}  "
        f"server: {item.base_url}  preset: {item.preset}"
    )
    print(f"       sha256 of the photo: {item.sha256_original}")
    if item.sha256_sent:
        print(f"       sha256 of the copy sent: {item.sha256_sent} ({kb} KB)")
    print(f"       upload attempts: {item.attempts}")
    print("       History:")
    for event in store.events(item.id):
        print(f"         {_when(event.at)}  {event.state:<14} {event.message}")
    return EXIT_OK


def _run_items(
    store: QueueStore,
    only: list[int] | None,
    as_json: bool,
    workers: int,
    before_start: Callable[[UploadEngine], list[int]] | None = None,
    printer: Printer | None = None,
) -> int:
    code, items = run_queue(
        store,
        _key_resolver(),
        only=only,
        as_json=as_json,
        workers=workers,
        printer=printer,
        before_start=before_start,
    )
    if items:
        info(as_json, summary(items))
    return code


@_with_store
def run_resume(args: argparse.Namespace, store: QueueStore) -> int:
    if not _recover_if_free(store):
        error("Another MaxUpload window or command is sending photos right now.")
        return EXIT_SETUP
    pending: list[int] = []
    for item in store.items(include_hidden=True):
        # Items an earlier run left for later are due now: the user asked to go on.
        if item.state == ItemState.RETRY_LATER:
            store.update(item.id, message="resumed by the user", next_attempt_at=0.0, retry_count=0)
        elif item.state in UPLOADED_STATES and item.error_message:
            store.update(
                item.id, message="resumed by the user", next_attempt_at=0.0, verify_attempts=0
            )
        elif item.settled:
            continue
        pending.append(item.id)
    waiting = store.items(states=[ItemState.NEEDS_DECISION])
    for item in waiting:
        info(args.json, f"Item {item.id} ({item.file_name}) waits for your decision:")
        info(args.json, f"    {item.error_message}")
        info(args.json, f"    Next: {item.next_step}")
    ids = _with_keys(store, pending, args.json)
    if pending and not ids:
        return EXIT_SETUP
    if not ids:
        info(args.json, "Nothing to send: every photo is done or waits for your decision.")
        return EXIT_NOT_ALL_SENT if waiting else EXIT_OK
    checks = ResumeChecks(store, ids, Printer(args.json), _key_resolver())
    code = _run_items(
        store, ids, args.json, _workers(args), before_start=checks.run, printer=checks.printer
    )
    if code == EXIT_OK and (waiting or len(ids) < len(pending) or checks.not_sent):
        return EXIT_NOT_ALL_SENT
    return code


def _workers(args: argparse.Namespace) -> int:
    from maxupload.core.config.settings import load_settings

    chosen = getattr(args, "workers", None) or load_settings().concurrency
    return max(1, min(4, int(chosen)))


def _with_keys(store: QueueStore, ids: list[int], as_json: bool) -> list[int]:
    """The items whose organization has a key; the others stay queued, with a message."""
    keep: list[int] = []
    missing: dict[tuple[str, str], int] = {}
    known: dict[tuple[str, str], bool] = {}
    for item in store.items(ids=ids, include_hidden=True):
        pair = (item.base_url, item.org_id)
        if pair not in known:
            try:
                known[pair] = bool(api_key_for(*pair))
            except MaxUploadError:
                known[pair] = False
        if known[pair]:
            keep.append(item.id)
        else:
            missing[pair] = missing.get(pair, 0) + 1
    for (base_url, org_id), count in missing.items():
        message, step = no_key_message(base_url, org_id)
        error(
            f"{count} photo(s) stay queued: {message}", step + " Then run 'maxupload queue resume'."
        )
    return keep


def _item_or_error(store: QueueStore, item_id: int) -> QueueItem | None:
    try:
        return store.get(item_id)
    except QueueStoreError as exc:
        error(str(exc), exc.next_step)
        return None


@_with_store
def run_retry(args: argparse.Namespace, store: QueueStore) -> int:
    item = _item_or_error(store, args.item_id)
    if item is None:
        return EXIT_SETUP
    if item.state == ItemState.NEEDS_DECISION:
        error(
            f"Item {item.id} may already be stored on the note; 'retry' would not warn you.",
            f"Check the note, then use 'maxupload queue send-again {item.id}'.",
        )
        return EXIT_SETUP
    if _act(store, lambda engine: engine.retry(item.id)) is None:
        return EXIT_SETUP
    return _run_items(store, [item.id], args.json, 1)


@_with_store
def run_send_again(args: argparse.Namespace, store: QueueStore) -> int:
    _recover_if_free(store)
    item = _item_or_error(store, args.item_id)
    if item is None:
        return EXIT_SETUP
    if item.state != ItemState.NEEDS_DECISION:
        error(
            f"Item {item.id} is {item.state.value}; only items waiting for a decision can "
            "be sent again.",
            f"Use 'maxupload queue retry {item.id}' for items that stored nothing.",
        )
        return EXIT_SETUP
    info(args.json, f"Item {item.id}: {item.file_name} for {item.patient_label}")
    info(args.json, f"    note {item.note_id}, provider {item.provider_id}")
    info(args.json, f"    {item.error_message}")
    info(args.json, "    Sending again may put a second copy of this photo on the note.")
    if not args.yes:
        if not interactive():
            error(
                "Sending again needs your confirmation.",
                f"Check the note, then run 'maxupload queue send-again {item.id} --yes'.",
            )
            return EXIT_SETUP
        if not confirm(f"Send item {item.id} again to {item.patient_label}? [y/N] "):
            info(args.json, "Nothing was sent.")
            return EXIT_NOT_ALL_SENT
    if _act(store, lambda engine: engine.send_again(item.id, confirm_duplicate=True)) is None:
        return EXIT_SETUP
    return _run_items(store, [item.id], args.json, 1)


def _act(store: QueueStore, action: Callable[[UploadEngine], _T]) -> _T | None:
    """Run one user action on a resting engine; None (after saying why) when it cannot."""
    from maxupload.core.queue.runlock import QueueBusy

    try:
        with _resting_engine(store) as engine:
            return action(engine)
    except (QueueBusy, QueueStoreError) as exc:
        error(str(exc), exc.next_step)
        return None


def _print_item(item: QueueItem, as_json: bool) -> None:
    if as_json:
        print(json.dumps(item_record(item)))
    else:
        print(f"Item {item.id} is {item.state.value}{' (removed)' if item.hidden else ''}.")


@_with_store
def run_cancel(args: argparse.Namespace, store: QueueStore) -> int:
    cancelled = _act(store, lambda engine: engine.cancel(args.item_id))
    if cancelled is None:
        return EXIT_SETUP
    item = store.get(args.item_id)
    if not cancelled:
        if item.reached_server:
            step = "It reached the server and stays on the note."
        else:
            step = f"Use 'maxupload queue remove {item.id}' to take it off the list."
        error(f"Item {item.id} is {item.state.value}; it cannot be cancelled.", step)
        return EXIT_NOT_ALL_SENT
    _print_item(item, args.json)
    return EXIT_OK


@_with_store
def run_remove(args: argparse.Namespace, store: QueueStore) -> int:
    removed = _act(store, lambda engine: engine.remove(args.item_id))
    if removed is None:
        return EXIT_SETUP
    _print_item(removed, args.json)
    return EXIT_OK


@_with_store
def run_clear(args: argparse.Namespace, store: QueueStore) -> int:
    count = _act(store, lambda engine: engine.clear_done())
    if count is None:
        return EXIT_SETUP
    info(args.json, f"Removed {plural(count, 'verified item')} from the list.")
    return EXIT_OK
