"""``maxupload prepare``: write exactly the files that would be uploaded, without sending anything.

Each usable photo becomes an upright, metadata-free JPEG (PNG when it has transparency) in
``--out``, named ``photo-<8 hex>.jpg`` so no patient detail travels in the name. One line per
file says what happened (``--json``: one JSON object per line). A rejected file never stops the
rest.

Exit codes: 0 every file was usable (duplicates and skipped system files count as usable);
1 at least one file was rejected; 2 usage error (bad preset, ``--out`` is not a folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from maxupload.core.imaging.prepare import ImageRejected, Prepared, get_preset, prepare
from maxupload.core.imaging.presets import DEFAULT_PRESET_NAME, PRESETS, Preset
from maxupload.core.intake import AcceptedFile, Rejection, scan
from maxupload.core.queue.filenames import shown

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="write the files that would be uploaded (upright, metadata removed, resized)",
        description=(
            "Prepare photos exactly as 'maxupload upload' would, and write them to a folder "
            "instead of sending them. Nothing is sent; your original files are never changed. "
            "Exit code 0: all files usable; 1: some were rejected; 2: usage error."
        ),
    )
    parser.add_argument(
        "--preset",
        default=DEFAULT_PRESET_NAME,
        type=_preset_arg,
        help=(
            f"size preset: {', '.join(PRESETS)} (default {DEFAULT_PRESET_NAME}), or "
            "custom:<long_edge>:<quality>[:jpeg] (e.g. custom:1600:85)"
        ),
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="folder for the prepared files"
    )
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER", type=Path)
    parser.set_defaults(func=run)


def _preset_arg(value: str) -> str:
    try:
        return get_preset(value).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _human_size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.0f} KB"
    return f"{n / 1_000_000:.1f} MB"


def _write_new(out_dir: Path, prepared: Prepared) -> Path:
    """Write the bytes under a fresh name in ``out_dir``; an identical existing file is reused.

    Files are created with O_EXCL, so an existing file (the user's or an earlier run's) is never
    overwritten; a different file of the same name gets a ``-2``, ``-3``... suffix.
    """
    stem, ext = os.path.splitext(prepared.file_name)
    for n in range(1, 10_000):
        name = prepared.file_name if n == 1 else f"{stem}-{n}{ext}"
        target = out_dir / name
        try:
            with open(target, "xb") as fh:
                fh.write(prepared.data)
            return target
        except FileExistsError:
            try:
                if target.is_file() and target.read_bytes() == prepared.data:
                    return target
            except OSError:
                pass
    raise OSError(f"no free file name for {prepared.file_name} in {out_dir}")


def _record_prepared(item: AcceptedFile, prepared: Prepared, output: Path) -> dict[str, Any]:
    r = prepared.receipt
    return {
        "file": shown(item.path),
        "status": "prepared",
        "output": shown(output),
        "mime_type": prepared.mime_type,
        "size_before": r.source_size,
        "size_after": prepared.size,
        "width_before": r.source_width,
        "height_before": r.source_height,
        "width": prepared.width,
        "height": prepared.height,
        "format_before": r.source_format,
        "sha256_original": prepared.sha256_original,
        "sha256_output": prepared.sha256_output,
        "changes": r.changes,
        "removed_metadata": r.removed,
        "colour": r.colour,
    }


def _record_rejected(path: Path, reason: str, next_step: str) -> dict[str, Any]:
    return {"file": shown(path), "status": "rejected", "reason": reason, "next_step": next_step}


def _line(record: dict[str, Any]) -> str:
    status = record["status"]
    if status == "rejected":
        return f"REJECTED  {record['file']}: {record['reason']} Next: {record['next_step']}"
    if status == "duplicate":
        return f"DUPLICATE {record['file']}: same content as {record['duplicate_of']}; not written"
    before = f"{record['width_before']}x{record['height_before']}"
    details = [
        f"{before} -> {record['width']}x{record['height']}",
        f"{_human_size(record['size_before'])} -> {_human_size(record['size_after'])}",
    ]
    details += [c for c in record["changes"] if not c.startswith("resized to")]
    if record["removed_metadata"]:
        details.append("removed " + ", ".join(record["removed_metadata"]))
    if record["colour"]:
        details.append(record["colour"])
    return f"OK        {record['file']} -> {record['output']} ({'; '.join(details)})"


def _process(entry: AcceptedFile | Rejection, preset: Preset, out_dir: Path) -> dict[str, Any]:
    """Prepare and write one accepted file, or describe why it was not used."""
    if isinstance(entry, Rejection):
        return _record_rejected(entry.path, entry.reason, entry.next_step)
    if entry.duplicate_of is not None:
        return {
            "file": shown(entry.path),
            "status": "duplicate",
            "duplicate_of": shown(entry.duplicate_of),
        }
    try:
        prepared = prepare(entry.path, preset)
    except ImageRejected as exc:
        return _record_rejected(entry.path, exc.reason, exc.next_step)
    try:
        output = _write_new(out_dir, prepared)
    except OSError as exc:
        return _record_rejected(
            entry.path,
            f"The prepared file could not be written ({exc.strerror or exc}).",
            "Check that the --out folder is writable and has free space, then run again.",
        )
    return _record_prepared(entry, prepared, output)


def run(args: argparse.Namespace, *, stdout: TextIO | None = None) -> int:
    out: TextIO = stdout or sys.stdout
    err = sys.stderr
    out_dir: Path = args.out
    if out_dir.exists() and not out_dir.is_dir():
        print(f"maxupload prepare: --out {out_dir} is not a folder", file=err)
        return EXIT_USAGE
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"maxupload prepare: cannot create --out {out_dir}: {exc.strerror}", file=err)
        return EXIT_USAGE
    preset = get_preset(args.preset)
    result = scan(args.paths, exclude=[out_dir])

    def emit(record: dict[str, Any]) -> None:
        text = json.dumps(record, ensure_ascii=False) if args.json else _line(record)
        print(text, file=out, flush=True)

    counts = {"prepared": 0, "rejected": 0, "duplicate": 0}
    entries: list[AcceptedFile | Rejection] = [*result.rejected, *result.accepted]
    entries.sort(key=lambda entry: str(entry.path))
    for entry in entries:
        record = _process(entry, preset, out_dir)
        counts[record["status"]] += 1
        emit(record)
    summary = (
        f"{counts['prepared']} prepared, {counts['rejected']} rejected, "
        f"{counts['duplicate']} duplicate, {len(result.skipped)} system files skipped "
        f"(preset {preset.name}) -> {out_dir}"
    )
    print(summary, file=err if args.json else out)
    if not entries:
        print(
            "maxupload prepare: no photos found (only system files or empty folders). "
            "Next: check the folder you gave.",
            file=err,
        )
        return EXIT_REJECTED
    return EXIT_REJECTED if counts["rejected"] else EXIT_OK
