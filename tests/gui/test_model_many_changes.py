"""Many rows replaced at once reach the view as one change: one repaint, one regroup, one
recount, with every row's new content in place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from maxupload.core.queue.model import ItemState
from maxupload.gui.photo_model import PhotoModel
from maxupload.gui.photo_row import PhotoRow


def _rows() -> list[PhotoRow]:
    return [
        PhotoRow(path=Path(f"/photos/IMG_{i}.JPG"), size_before=1000, item_id=i) for i in range(4)
    ]


def test_rows_changed_together_are_announced_once_at_the_end(qapp: Any) -> None:
    model = PhotoModel()
    model.add_rows(_rows())
    changed: list[tuple[int, int]] = []
    counts: list[int] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    model.counts_changed.connect(lambda: counts.append(1))
    with model.changing_many():
        for i in (0, 2):  # queued for a note: a new group, a new state
            row = model.row_at(i)
            model.replace_row(
                i, replace(row, state=ItemState.QUEUED, note_id="note-b", target_label="B")
            )
        model.replace_row(3, replace(model.row_at(3), size_after=500))
        assert changed == [] and counts == []  # nothing told while inside
        assert model.row_at(2).note_id == "note-b"  # indexes stay put until the end
    assert changed == [(0, 3)] and counts == [1]
    groups = [r.group for r in model.rows()]
    assert groups == ["note-b", "note-b", "", ""]  # regrouped once, groups kept together
    assert {r.item_id for r in model.rows() if r.note_id == "note-b"} == {0, 2}
    assert next(r for r in model.rows() if r.item_id == 3).size_after == 500


def test_one_row_changed_alone_is_announced_at_once(qapp: Any) -> None:
    model = PhotoModel()
    model.add_rows(_rows())
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    model.replace_row(1, replace(model.row_at(1), size_after=10))
    assert changed == [(1, 1)]
