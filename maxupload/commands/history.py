"""``maxupload history``: which photos went to which chart, when, by whom, and how they ended.

Reads the upload history kept beside the queue; filters by patient, MRN, note and date range;
prints one line per photo, or the audit export as CSV (``--csv``) or JSON (``--json``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from maxupload.core.history.export import iso_time, to_csv, to_json
from maxupload.core.history.originals import MOVED
from maxupload.core.history.store import HistoryEntry, HistoryError, HistoryStore, history_path_for
from maxupload.core.queue.model import QueueItem
from maxupload.core.queue.store import default_queue_path


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-01") from exc


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list uploaded photos; export the audit as CSV or JSON",
        description=(
            "Every photo queued on this computer: when, by which user, patient, note, visit, "
            "provider, file, sizes, hashes, image id, verification, status changes and trace "
            "ids. Dates are whole days on this computer's clock."
        ),
    )
    parser.add_argument("--patient", metavar="NAME", help="part of the patient's name")
    parser.add_argument("--mrn", metavar="MRN", help="the patient's MRN")
    parser.add_argument("--note", metavar="ID", help="the visit note id")
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="from this day on")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="up to this day")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV, one row per photo")
    form.add_argument("--json", action="store_true", help="a JSON list, one object per photo")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write to FILE, not the screen")
    parser.set_defaults(func=run)


def line(entry: HistoryEntry) -> str:
    """``2026-11-02T09:14:03+01:00  Rivera, Ana (MRN 1)  nte_1  photo.jpg  verified  img_1``."""
    who = entry.patient_name or entry.patient_label
    if entry.mrn:
        who += f" (MRN {entry.mrn})"
    parts = [iso_time(entry.queued_at), who, entry.note_id, entry.file_name, entry.state]
    if entry.image_id:
        parts.append(entry.image_id)
    if entry.original:
        parts.append(f"original {entry.original}")
    return "  ".join(parts)


def run(args: argparse.Namespace) -> int:
    if args.since and args.until and args.until < args.since:
        print("maxupload: --until is before --since.", file=sys.stderr)
        return 2
    path = history_path_for(default_queue_path())
    if not path.exists():
        entries: list[HistoryEntry] = []
    else:
        try:
            with HistoryStore(path) as history:
                entries = history.search(
                    patient=args.patient,
                    mrn=args.mrn,
                    note=args.note,
                    since=args.since,
                    until=args.until,
                )
        except HistoryError as exc:
            print(f"maxupload: {exc}\n  Next: {exc.next_step}", file=sys.stderr)
            return 1
    if args.csv:
        text = to_csv(entries)
    elif args.json:
        text = to_json(entries)
    else:
        text = "".join(line(e) + "\n" for e in entries) or "No photos in the history match.\n"
    if args.out:
        from maxupload.core.system.paths import write_private

        write_private(args.out, text)
        print(f"Wrote {len(entries)} photo(s) to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def originals_summary(queue_path: Path, items: Sequence[QueueItem]) -> str:
    """After a batch with the trash option: how many originals moved, and why others stayed."""
    try:
        with HistoryStore(history_path_for(queue_path)) as history:
            outcomes = [e.original if e else "" for e in map(history.entry_for, items)]
    except HistoryError as exc:
        return f"Originals were kept: {exc}"
    moved = sum(1 for o in outcomes if o == MOVED)
    kept = len(outcomes) - moved
    text = f"Moved {moved} original{'s' if moved != 1 else ''} to the trash"
    if kept:
        text += f"; kept {kept} (not verified, or see 'maxupload history' for why)"
    return text + "."
