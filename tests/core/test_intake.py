"""Intake: type from content, quiet junk skips, rejections with reasons, duplicates, odd paths."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from maxupload.core.intake import (
    AcceptedFile,
    Rejection,
    hash_file,
    merge_results,
    scan,
    scan_in_parts,
)
from tests.plugins.images import (
    can_drop_privileges,
    photo,
    write_animated_gif,
    write_bomb_png,
    write_format,
    write_heic,
    write_jpeg,
    write_text_as_jpg,
    write_truncated_jpeg,
)

#: Python expression for a child process's own peak memory in KiB. VmHWM belongs to the process
#: image; ru_maxrss would include the parent's memory, which Linux carries across fork and exec.
PEAK_RSS_KB = "int([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1])"


def _in_fresh_process(code: str, path: Path) -> dict[str, Any]:
    """Run ``code`` (which prints one JSON object) in a new interpreter with ``path`` as argv[1].

    ``code`` may use ``{PEAK}`` where the child's own peak memory in KiB belongs.
    """
    out = subprocess.run(
        [sys.executable, "-c", code.replace("{PEAK}", PEAK_RSS_KB), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def _reason(result_rejected: list[Rejection], name: str) -> str:
    matches = [r for r in result_rejected if r.path.name == name]
    assert matches, f"{name} was not rejected"
    assert matches[0].next_step, "every rejection needs a next step"
    return matches[0].reason


def test_mixed_folder_accepts_photos_rejects_bad_files_and_skips_junk(mixed_folder: Path) -> None:
    (mixed_folder / ".git").mkdir()
    write_jpeg(mixed_folder / ".git" / "hidden.jpg")
    (mixed_folder / "desktop.ini").write_text("[.ShellClassInfo]")
    (mixed_folder / "__MACOSX").mkdir()
    (mixed_folder / "__MACOSX" / "._wound.jpg").write_bytes(b"\0\5\26\7")

    result = scan([mixed_folder])

    accepted = {a.path.relative_to(mixed_folder).as_posix(): a for a in result.accepted}
    assert set(accepted) == {"day 1/wound.jpg", "day 1/close-ups/IMG_0003.HEIC", "diagram.png"}
    assert accepted["day 1/close-ups/IMG_0003.HEIC"].kind == "heic"
    assert accepted["diagram.png"].kind == "png"
    assert "cut off" in _reason(result.rejected, "cut.jpg")
    assert "empty" in _reason(result.rejected, "empty.jpg")
    assert "not an image" in _reason(result.rejected, "notes.jpg")
    skipped = {p.name for p in result.skipped}
    assert {".DS_Store", "Thumbs.db", "._wound.jpg", "desktop.ini", ".git", "__MACOSX"} <= skipped
    assert all(r.path.name not in skipped for r in result.rejected)


def test_type_comes_from_content_not_extension(images_dir: Path) -> None:
    heic_named_jpeg = write_heic(images_dir / "photo.jpeg", photo(64, 48))
    jpeg_named_png = write_jpeg(images_dir / "scan.png", photo(64, 48))
    no_extension = write_format(images_dir / "IMG_0001", "WEBP", photo(64, 48))

    kinds = {a.path.name: a.kind for a in scan([images_dir]).accepted}

    assert kinds == {"photo.jpeg": "heic", "scan.png": "jpeg", "IMG_0001": "webp"}
    assert heic_named_jpeg.exists() and jpeg_named_png.exists() and no_extension.exists()


def test_accepted_file_reports_size_hash_and_dimensions(images_dir: Path) -> None:
    path = write_jpeg(images_dir / "a.jpg", photo(320, 200))
    (accepted,) = scan([path]).accepted
    assert accepted == AcceptedFile(
        path, path.stat().st_size, "jpeg", hash_file(path), None, 320, 200
    )


def test_duplicates_are_flagged_by_content(images_dir: Path) -> None:
    first = write_jpeg(images_dir / "a.jpg", photo(64, 48))
    shutil.copyfile(first, images_dir / "b copy.jpg")
    (images_dir / "sub").mkdir()
    shutil.copyfile(first, images_dir / "sub" / "c.jpg")
    write_jpeg(images_dir / "other.jpg", photo(64, 48, seed=9))

    result = scan([images_dir])

    by_name = {a.path.name: a for a in result.accepted}
    assert by_name["a.jpg"].duplicate_of is None
    assert by_name["b copy.jpg"].duplicate_of == first
    assert by_name["c.jpg"].duplicate_of == first
    assert by_name["other.jpg"].duplicate_of is None
    assert {a.path.name for a in result.duplicates} == {"b copy.jpg", "c.jpg"}


def test_same_file_named_twice_is_taken_once(images_dir: Path) -> None:
    path = write_jpeg(images_dir / "a.jpg", photo(64, 48))
    result = scan([path, images_dir, images_dir / "." / "a.jpg"])
    assert [a.path.name for a in result.accepted] == ["a.jpg"]
    assert result.accepted[0].duplicate_of is None


def test_truncated_zero_byte_text_and_animated_gif(images_dir: Path) -> None:
    write_truncated_jpeg(images_dir / "cut.jpg")
    (images_dir / "zero.jpg").write_bytes(b"")
    write_text_as_jpg(images_dir / "text.jpg")
    write_animated_gif(images_dir / "anim.gif")
    (images_dir / "doc.jpg").write_bytes(b"%PDF-1.7\n%...")
    webp = write_format(images_dir / "cut.webp", "WEBP", photo(200, 150)).read_bytes()
    (images_dir / "cut.webp").write_bytes(webp[: len(webp) // 2])
    (images_dir / "clip.heic").write_bytes(b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + b"\0" * 64)

    result = scan([images_dir])

    assert [a.path.name for a in result.accepted] == ["anim.gif"]
    assert "cut off" in _reason(result.rejected, "cut.jpg")
    assert "WebP file is cut off" in _reason(result.rejected, "cut.webp")
    assert "empty (0 bytes)" in _reason(result.rejected, "zero.jpg")
    assert "not an image" in _reason(result.rejected, "text.jpg")
    assert "PDF" in _reason(result.rejected, "doc.jpg")
    assert "video" in _reason(result.rejected, "clip.heic")


def test_pixel_limit_is_configurable(images_dir: Path) -> None:
    path = write_jpeg(images_dir / "a.jpg", photo(400, 300))
    (rejection,) = scan([path], max_pixels=100_000).rejected
    assert "400x300" in rejection.reason and "too large" in rejection.reason
    assert scan([path], max_pixels=120_000).accepted


def test_decompression_bomb_is_rejected_from_the_header_without_decoding(tmp_path: Path) -> None:
    """A real 20000x20000 PNG (400 MP, a few KB on disk) is refused before any pixel is decoded.

    Runs in a fresh interpreter so its peak memory shows whether the pixels were decoded
    (they would need 400 MB).
    """
    bomb = write_bomb_png(tmp_path / "scan.png")
    assert bomb.stat().st_size < 1_000_000
    code = (
        "import json, sys\n"
        "from maxupload.core.intake import scan\n"
        "r = scan([sys.argv[1]])\n"
        "print(json.dumps({'rejected': [x.reason for x in r.rejected], 'accepted': len(r.accepted),"
        " 'rss_kb': {PEAK}}))\n"
    )
    report = _in_fresh_process(code, bomb)
    assert report["accepted"] == 0
    assert "too large" in report["rejected"][0] and "400 megapixels" in report["rejected"][0]
    assert report["rss_kb"] < 250_000, "the bomb was decoded"


def test_unicode_and_very_long_names_and_deep_folders(images_dir: Path) -> None:
    long_name = "Pätiënt-照片-" + "写" * 70 + ".jpg"
    assert len(long_name.encode()) > 200
    deep = images_dir
    for i in range(12):
        deep = deep / (f"{i:02d}-" + "ü" * 90)
    deep.mkdir(parents=True)
    assert len(str(deep).encode()) > 2000
    write_jpeg(deep / long_name, photo(64, 48))
    write_jpeg(images_dir / "😀 smile.jpg", photo(64, 48, seed=2))

    result = scan([images_dir])

    assert sorted(a.path.name for a in result.accepted) == sorted([long_name, "😀 smile.jpg"])
    assert not result.rejected


def test_symlink_loops_and_broken_links_are_safe(images_dir: Path) -> None:
    sub = images_dir / "a" / "b"
    sub.mkdir(parents=True)
    write_jpeg(sub / "x.jpg", photo(64, 48))
    os.symlink(images_dir, sub / "loop")  # b/loop -> top: a cycle
    os.symlink(images_dir / "missing.jpg", images_dir / "gone.jpg")
    os.symlink(sub / "x.jpg", images_dir / "link-to-x.jpg")

    result = scan([images_dir])

    assert [a.path.name for a in result.accepted] == ["x.jpg"]  # the link is the same file
    assert "no longer exists" in _reason(result.rejected, "gone.jpg")


def test_missing_path_is_rejected_and_the_rest_goes_on(images_dir: Path) -> None:
    good = write_jpeg(images_dir / "a.jpg", photo(64, 48))
    result = scan([images_dir / "nope.jpg", good])
    assert [a.path for a in result.accepted] == [good]
    assert "no file or folder" in _reason(result.rejected, "nope.jpg")


def test_fifo_and_socket_are_rejected_without_blocking(images_dir: Path) -> None:
    os.mkfifo(images_dir / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    short_dir = Path(tempfile.mkdtemp(prefix="mu"))
    try:
        sock.bind(str(short_dir / "s.jpg"))
        result = scan([images_dir, short_dir / "s.jpg"])
    finally:
        sock.close()
        shutil.rmtree(short_dir)
    assert "not a regular file" in _reason(result.rejected, "pipe.jpg")
    assert "not a regular file" in _reason(result.rejected, "s.jpg")


def _scan_as_nobody(path: Path) -> list[dict[str, str]]:
    """Run scan in a forked child that has dropped root, and return its rejections."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            result = scan([path])
            payload = [{"name": r.path.name, "reason": r.reason} for r in result.rejected]
            os.write(write_fd, json.dumps(payload).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return list(json.loads(data))


def test_unreadable_file_is_rejected_with_permission_reason() -> None:
    folder = Path(tempfile.mkdtemp(prefix="maxupload-perm-"))
    try:
        folder.chmod(0o755)
        path = write_jpeg(folder / "locked.jpg", photo(64, 48))
        path.chmod(0o000)
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            reasons = [{"name": r.path.name, "reason": r.reason} for r in scan([path]).rejected]
        elif can_drop_privileges():
            reasons = _scan_as_nobody(path)  # root reads anything; 'nobody' cannot
        else:
            pytest.skip("needs a non-root user, or root with fork to drop privileges")
        assert reasons == [
            {
                "name": "locked.jpg",
                "reason": "MaxUpload is not allowed to read this file (permission denied).",
            }
        ]
    finally:
        shutil.rmtree(folder)


def test_output_folder_is_excluded(images_dir: Path) -> None:
    write_jpeg(images_dir / "a.jpg", photo(64, 48))
    out = images_dir / "prepared"
    out.mkdir()
    write_jpeg(out / "photo-00000000.jpg", photo(64, 48, seed=3))
    result = scan([images_dir], exclude=[out])
    assert [a.path.name for a in result.accepted] == ["a.jpg"]


def test_hashing_streams_in_chunks_with_flat_memory(tmp_path: Path) -> None:
    """A 160 MB file is hashed and checked in a fresh interpreter that stays far below 160 MB."""
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:
        fh.write(b"\xff\xd8\xff\xe0")
        block = bytes(i % 255 for i in range(1024 * 1024))  # no 0xFF: never an end marker
        for _ in range(160):
            fh.write(block)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from maxupload.core.intake import check_file, hash_file\n"
        "r = check_file(Path(sys.argv[1]))\n"
        "print(json.dumps({'reason': r.reason, 'sha': hash_file(Path(sys.argv[1])),"
        " 'rss_kb': {PEAK}}))\n"
    )
    report = _in_fresh_process(code, big)
    assert "cut off" in report["reason"]  # a JPEG start with no end marker
    assert report["sha"] == hashlib.sha256(big.read_bytes()).hexdigest()
    assert report["rss_kb"] < 140_000, "the file was read into memory whole"


@pytest.mark.parametrize(("first", "size"), [(1, 1), (2, 3), (4, 100), (None, None)])
def test_reading_in_parts_finds_every_file_once_and_duplicates_across_parts(
    mixed_folder: Path, first: int | None, size: int | None
) -> None:
    """A long list is read a part at a time; together the parts are exactly one scan."""
    original = mixed_folder / "day 1" / "wound.jpg"
    shutil.copyfile(original, mixed_folder / "zz copy.jpg")  # read last: in a later part
    whole = scan([mixed_folder])
    parts = list(scan_in_parts([mixed_folder], first=first, size=size))
    assert merge_results(parts) == whole
    assert len(parts) > 1 or first is None
    counts = [len(p.accepted) + len(p.rejected) for p in parts]
    if first is not None and size is not None:
        assert counts[0] == first
        assert all(c <= size for c in counts[1:])
    files = [a.path for p in parts for a in p.accepted] + [
        r.path for p in parts for r in p.rejected
    ]
    assert len(files) == len(set(files))  # never twice
    (copy,) = [a for p in parts for a in p.duplicates]
    assert copy.path.name == "zz copy.jpg" and copy.duplicate_of == original
