"""Photos come in by drop (files, folders, junk), file list and clipboard; rejections show."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor, QGuiApplication, QImage

from maxupload.gui.upload_controller import UploadController
from tests.gui.conftest import TIMEOUT_MS, add_photos, drop, make_photos, mime_for


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_drop_files_adds_rows_and_leaves_files_in_place(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    photos = make_photos(tmp_path / "camera", 3)
    before = {p: (_digest(p), p.stat().st_mtime_ns) for p in photos}
    assert window.drop_zone.showing_hint()

    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        drop(window, photos)
    assert signal.args == [3, 0]
    assert [r.path for r in window.model.rows()] == photos
    assert all(r.state == "staged" for r in window.model.rows())
    assert not window.drop_zone.showing_hint()
    assert not window.rejections.isVisible()
    # Never a move: the user's files are where they were, byte for byte.
    assert {p: (_digest(p), p.stat().st_mtime_ns) for p in photos} == before

    # Thumbnails are made off the GUI thread for the visible rows.
    qtbot.waitUntil(lambda: all(window.model.has_thumbnail(p) for p in photos), timeout=TIMEOUT_MS)
    # Estimated sizes after preparation appear in the list.
    qtbot.waitUntil(lambda: all(r.size_after for r in window.model.rows()), timeout=TIMEOUT_MS)

    # Dropping the same files again does not add them twice.
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as again:
        drop(window, photos[:1])
    assert again.args == [0, 0]
    assert window.model.rowCount() == 3


def test_a_large_drop_is_listed_part_by_part_and_never_loses_or_repeats_a_file(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    ctx.uploads.first_part, ctx.uploads.part_size = 2, 3  # small parts for a small folder
    folder = tmp_path / "camera"
    photos = make_photos(folder, 8)
    twin = folder / "IMG_9999 copy.JPG"  # read last, a copy of the first photo
    twin.write_bytes(photos[0].read_bytes())
    parts: list[int] = []  # photos per part, as the worker hands them to the window
    ctx.uploads.part_staged.connect(lambda part: parts.append(len(part.photos)))

    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        drop(window, [folder])
    assert signal.args == [9, 0]
    # The first rows go to the window in a part of their own, before the rest is read; the
    # parts together are the drop, each file once.
    assert parts[0] == 2 and all(n <= 3 for n in parts[1:]) and sum(parts) == 9, parts
    assert sorted(r.path for r in window.model.rows()) == sorted([*photos, twin])  # each once
    # The copy is listed, skipped, and says of which photo (it can be included anyway).
    (copy,) = [r for r in window.model.rows() if r.is_skipped_copy]
    assert copy.path == twin and photos[0].name in copy.error
    assert not window.rejections.entries()
    assert window.table.selectionModel().hasSelection()  # the first row, as before


def test_a_drop_is_read_on_once_its_first_rows_are_painted(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    """Reading a drop shares Python's lock with the window's thread, so after the first rows
    the reading waits until the window has painted them: a reading nobody releases stays at
    its first part; the window releases its own drop's reading with its first paint of them."""
    ctx = make_app()
    window = ctx.window
    photos = make_photos(tmp_path / "camera", 8)
    uploads = ctx.uploads
    # A reading that nobody shows: a second controller on the same service, not wired to a
    # window. It waits (here up to a minute) after its first part until told the rows show.
    alone = UploadController(
        uploads.service, uploads.io_pool, uploads.image_pool, uploads.reader, window
    )
    alone.first_part, alone.part_size, alone.first_rows_wait_s = 2, 3, 60.0
    parts: list[int] = []
    alone.part_staged.connect(lambda part: parts.append(len(part.photos)))
    alone.stage(photos[:5])
    qtbot.waitUntil(lambda: parts == [2], timeout=TIMEOUT_MS)
    qtbot.wait(500)  # far longer than reading three small photos takes
    assert parts == [2]
    with qtbot.waitSignal(alone.staged, timeout=TIMEOUT_MS):
        alone.first_rows_shown()
    assert parts[:2] == [2, 3] and sum(parts) == 5, parts

    # The window's own drop: released by the window's paint, long before the minute is up.
    uploads.first_part, uploads.part_size, uploads.first_rows_wait_s = 2, 3, 60.0
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        drop(window, photos[5:])
    assert signal.args == [3, 0]


def test_drop_folder_with_junk_shows_rejections_with_reasons(
    qtbot: Any, make_app: Any, mixed_folder: Path
) -> None:
    window = make_app().window
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        drop(window, [mixed_folder])
    accepted, rejected = signal.args
    names = sorted(r.name for r in window.model.rows())
    assert names == ["IMG_0003.HEIC", "diagram.png", "wound.jpg"]
    assert accepted == 3 and rejected == 3
    assert window.rejections.isVisible()
    entries = {name: (reason, step) for name, reason, step in window.rejections.entries()}
    assert set(entries) == {"cut.jpg", "empty.jpg", "notes.jpg"}
    for reason, step in entries.values():
        assert reason and step  # which file, why, and what to do next
    # OS junk is skipped quietly, neither a row nor a rejection.
    assert not any(n in entries for n in (".DS_Store", "Thumbs.db", "._wound.jpg"))
    window.rejections.clear()
    assert not window.rejections.isVisible()


def test_drop_of_nothing_usable_is_refused(qtbot: Any, make_app: Any) -> None:
    window = make_app().window
    assert not window.drop_zone.accepts(mime_for([]))


def test_paste_image_data_and_file_urls(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    ctx = make_app()
    window = ctx.window
    clipboard = QGuiApplication.clipboard()
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#c08060"))
    clipboard.setImage(image)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        window.paste_action.trigger()
    assert signal.args == [1, 0]
    pasted = window.model.rows()[0].path
    assert pasted.parent == ctx.cache_dir / "pasted" and pasted.suffix == ".png"
    assert (pasted.stat().st_mode & 0o777) == 0o600

    photos = make_photos(tmp_path / "more", 2)
    clipboard.setMimeData(mime_for(photos))
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        window.paste()
    assert signal.args == [2, 0]
    assert window.model.rowCount() == 3


def test_remove_with_delete_key_drops_staged_rows(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    window = make_app().window
    photos = add_photos(qtbot, window, tmp_path / "camera", 3)
    window.table.setFocus()
    window.table.selectAll()
    window.remove_action.trigger()
    assert window.model.rowCount() == 0
    assert all(p.exists() for p in photos)
    assert window.drop_zone.showing_hint()
