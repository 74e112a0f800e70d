"""Intake: turn dropped files and folders into accepted photos and rejections with reasons.

Nothing is decoded here. Each file is read once, in chunks, to hash it and to check its first
and last bytes; the image header gives the dimensions for the pixel limit. OS junk is skipped
quietly, folders are walked recursively (symlink loops are safe), and duplicates within the
batch are flagged by content.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from maxupload.core.imaging.formats import (
    DEFAULT_MAX_PIXELS,
    NEXT_CONVERT,
    TAIL_SIZE,
    ImageRejected,
    check_content,
    kind_of,
    open_image,
    read_failure,
)

CHUNK_SIZE = 1024 * 1024

#: File names that operating systems and sync tools leave behind; never photos.
JUNK_NAMES = frozenset(
    name.lower()
    for name in (
        ".DS_Store",
        "Thumbs.db",
        "ehthumbs.db",
        "ehthumbs_vista.db",
        "desktop.ini",
        "Icon\r",
        ".localized",
        ".directory",
    )
)
#: Folders that hold only OS or sync metadata.
JUNK_DIRS = frozenset(
    name.lower()
    for name in (
        "__MACOSX",
        ".Spotlight-V100",
        ".Trashes",
        ".fseventsd",
        ".TemporaryItems",
        "$RECYCLE.BIN",
        "System Volume Information",
        "@eaDir",
    )
)


@dataclass(frozen=True)
class AcceptedFile:
    """A file that looks like a usable photo. ``duplicate_of`` names an earlier identical file."""

    path: Path
    size: int
    kind: str
    sha256: str
    duplicate_of: Path | None = None
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Rejection:
    """A file MaxUpload will not use: which file, why, and what the user can do next."""

    path: Path
    reason: str
    next_step: str


@dataclass
class IntakeResult:
    """Everything a scan found, in a stable order (the order given, folders sorted by name)."""

    accepted: list[AcceptedFile] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def duplicates(self) -> list[AcceptedFile]:
        return [a for a in self.accepted if a.duplicate_of is not None]

    @property
    def unique(self) -> list[AcceptedFile]:
        return [a for a in self.accepted if a.duplicate_of is None]


def is_junk_name(name: str) -> bool:
    """OS metadata files (``.DS_Store``, ``Thumbs.db``, ``desktop.ini``, ``._*`` AppleDouble)."""
    return name.lower() in JUNK_NAMES or name.startswith("._")


def _is_hidden(entry_name: str, st: os.stat_result) -> bool:
    if entry_name.startswith("."):
        return True
    attrs = getattr(st, "st_file_attributes", 0)  # Windows only
    return bool(attrs & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


def hash_file(path: Path, *, chunk_size: int = CHUNK_SIZE) -> str:
    """The sha256 of a file's content, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _read_checked(path: Path) -> tuple[str, bytes, bytes, int]:
    """One streamed pass: sha256, the first 64 bytes, the last 64 KiB, and the bytes read."""
    digest = hashlib.sha256()
    head = b""
    tail = b""
    total = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            if not head:
                head = chunk[:64]
            digest.update(chunk)
            total += len(chunk)
            tail = (tail + chunk)[-TAIL_SIZE:]
    return digest.hexdigest(), head, tail, total


def check_file(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> AcceptedFile | Rejection:
    """Check one regular file: readable, non-empty, an image by content, complete, not too big."""
    try:
        st = path.stat()
    except OSError as exc:
        return _rejection(path, read_failure(exc))
    if not stat.S_ISREG(st.st_mode):
        return Rejection(
            path,
            "This is not a regular file (a device, pipe or socket).",
            "Pick the photo file itself.",
        )
    try:
        sha, head, tail, total = _read_checked(path)
    except OSError as exc:
        return _rejection(path, read_failure(exc))
    try:
        check_content(head, tail, total)
        with open_image(str(path), max_pixels=max_pixels) as im:
            width, height = im.size
            kind = kind_of(im)
            raw_reason = _raw_camera_reason(im)
    except ImageRejected as exc:
        return _rejection(path, exc)
    except OSError as exc:
        return _rejection(path, read_failure(exc))
    if raw_reason:
        return Rejection(path, raw_reason, NEXT_CONVERT)
    return AcceptedFile(path, total, kind, sha, None, width, height)


def _raw_camera_reason(im: object) -> str | None:
    """DNG files look like TIFF but hold raw sensor data; name them instead of misreading them."""
    tags = getattr(im, "tag_v2", None)
    if tags is not None and 50706 in tags:  # DNGVersion
        return "This is a RAW camera file (DNG), not a finished photo."
    return None


def _rejection(path: Path, exc: ImageRejected) -> Rejection:
    return Rejection(path, exc.reason, exc.next_step)


def _unreadable(path: Path) -> Rejection:
    return _rejection(path, read_failure(PermissionError()))


def _walk(
    root: Path,
    root_stat: os.stat_result,
    skipped: list[Path],
    rejected: list[Rejection],
    seen_dirs: set[tuple[int, int]],
    exclude: set[tuple[int, int]],
    cancel: threading.Event | None,
) -> Iterator[Path]:
    """Files under ``root`` in name order, skipping junk and hidden entries, each folder once."""
    key = (root_stat.st_dev, root_stat.st_ino)
    if key in seen_dirs or key in exclude:
        return  # a symlink loop, a folder reached twice, or the output folder
    seen_dirs.add(key)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except PermissionError:
        rejected.append(
            Rejection(
                root,
                "MaxUpload is not allowed to open this folder (permission denied).",
                "Copy the photos to a folder you own and add that folder.",
            )
        )
        return
    except OSError as exc:
        rejected.append(
            Rejection(root, f"The folder cannot be read ({exc.strerror}).", "Check the folder.")
        )
        return
    for entry in entries:
        if cancel is not None and cancel.is_set():
            return
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            if entry.is_symlink():
                rejected.append(
                    Rejection(
                        path,
                        "This shortcut points to a file that no longer exists.",
                        "Add the original photo instead.",
                    )
                )
            continue
        except OSError:
            rejected.append(_unreadable(path))
            continue
        if stat.S_ISDIR(st.st_mode):
            if entry.name.lower() in JUNK_DIRS or _is_hidden(entry.name, st):
                skipped.append(path)
                continue
            yield from _walk(path, st, skipped, rejected, seen_dirs, exclude, cancel)
        elif is_junk_name(entry.name) or _is_hidden(entry.name, st):
            skipped.append(path)
        else:
            yield path


def expand(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Iterable[str | os.PathLike[str]] = (),
    cancel: threading.Event | None = None,
) -> tuple[list[Path], list[Path], list[Rejection]]:
    """Files to check (each real file once), quietly skipped paths, and paths that do not exist."""
    skipped: list[Path] = []
    rejected: list[Rejection] = []
    seen_dirs: set[tuple[int, int]] = set()
    excluded: set[tuple[int, int]] = set()
    for ex in exclude:
        try:
            st = os.stat(ex)
            excluded.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    files: list[Path] = []
    seen_files: set[tuple[int, int]] = set()

    def add(path: Path) -> None:
        try:
            st = path.stat()
            key = (st.st_dev, st.st_ino)
        except OSError:
            files.append(path)  # check_file explains what is wrong
            return
        if key not in seen_files:
            seen_files.add(key)
            files.append(path)

    for raw in paths:
        path = Path(raw)
        if cancel is not None and cancel.is_set():
            break
        if not os.path.lexists(path):
            rejected.append(
                Rejection(path, "There is no file or folder at this path.", "Check the path.")
            )
            continue
        if path.is_dir():
            try:
                st = path.stat()
            except OSError:
                rejected.append(_unreadable(path))
                continue
            for found in _walk(path, st, skipped, rejected, seen_dirs, excluded, cancel):
                add(found)
        elif is_junk_name(path.name):
            skipped.append(path)
        else:
            add(path)  # a file named directly is taken even when hidden
    return files, skipped, rejected


def scan(
    paths: Iterable[str | os.PathLike[str]],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    exclude: Iterable[str | os.PathLike[str]] = (),
    cancel: threading.Event | None = None,
) -> IntakeResult:
    """Check files and folders (recursively): accepted photos, rejections with reasons, skips.

    ``exclude`` names folders never to enter (for example the output folder of a previous run).
    A duplicate (same content as an earlier accepted file) is accepted with ``duplicate_of``
    set, so the caller decides whether to send it again.
    """
    parts = scan_in_parts(paths, max_pixels=max_pixels, exclude=exclude, cancel=cancel)
    return merge_results(list(parts))


def scan_in_parts(
    paths: Iterable[str | os.PathLike[str]],
    *,
    first: int | None = None,
    size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    exclude: Iterable[str | os.PathLike[str]] = (),
    cancel: threading.Event | None = None,
) -> Iterator[IntakeResult]:
    """``scan`` a part at a time, so a long list can be shown while the rest is read: the first
    ``first`` files, then ``size`` at a time (None: all at once). Each part holds its own files'
    results (the first also what the folder walk skipped or could not open); duplicates are
    found across parts exactly as in one scan. The last part may be empty."""
    files, skipped, rejected = expand(paths, exclude=exclude, cancel=cancel)
    part = IntakeResult(skipped=skipped, rejected=rejected)
    first_by_hash: dict[str, Path] = {}
    limit, done = first, 0
    for path in files:
        if cancel is not None and cancel.is_set():
            break
        checked = check_file(path, max_pixels=max_pixels)
        if isinstance(checked, Rejection):
            part.rejected.append(checked)
        else:
            earlier = first_by_hash.setdefault(checked.sha256, checked.path)
            if earlier != checked.path:
                checked = replace(checked, duplicate_of=earlier)
            part.accepted.append(checked)
        done += 1
        if limit is not None and done == limit:
            yield part
            part, limit, done = IntakeResult(), size, 0
    yield part


def merge_results(parts: Sequence[IntakeResult]) -> IntakeResult:
    """One ``IntakeResult`` of parts from ``scan_in_parts``, in their order."""
    merged = IntakeResult()
    for part in parts:
        merged.accepted.extend(part.accepted)
        merged.rejected.extend(part.rejected)
        merged.skipped.extend(part.skipped)
    return merged
