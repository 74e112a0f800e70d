"""Start-up work the first paint does not need, done after it in short slices.

Image codecs (every Pillow plugin, pillow-heif), the barcode reader of the photo checks and the
settings dialog are loaded before anyone needs them: an import on a worker thread later would
hold Python's lock (PySide6 inspects every newly imported module) and stall the window. They
used to load before the window was shown, which cost the cold start about 0.2 s; now each one
loads in its own turn of the event loop after the window is up, so a click or key press
between them is handled at once.
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QTableView

from maxupload.core.imaging.formats import register_heif
from maxupload.core.system import processes

log = logging.getLogger(__name__)

Step = Callable[[], object]


def _import(name: str) -> Step:
    return lambda: importlib.import_module(name)


#: Made-up rows painted: more than a screenful, so the list's scroll bar is painted too.
SAMPLE_ROWS = 30


def paint_sample_rows(view: QTableView) -> None:
    """Paint a few made-up rows once, offscreen, with the list's delegate, font and palette.

    The list's first paint of photo rows costs the window's thread extra work once (PySide6
    builds the Python enum types the delegate uses on first touch, Qt shapes and rasterises the
    fonts' glyphs): the event-loop pass that showed the first rows took 15-29 ms of CPU, 8-14 ms
    after this step. Done here, after the window's first paint, instead of when the first photos
    are added. Nothing here is shown or kept.
    """
    from maxupload.core.queue.model import ItemState
    from maxupload.gui.photo_delegate import PhotoDelegate
    from maxupload.gui.photo_model import PhotoModel
    from maxupload.gui.photo_row import PhotoRow

    model = PhotoModel()
    model.set_current_note("sample-note")
    rows = [  # the first without its size yet
        PhotoRow(
            path=Path(f"IMG_{i:04d}.JPG"),
            size_before=2_000_000,
            size_after=900_000 if i else None,
        )
        for i in range(SAMPLE_ROWS)
    ]
    rows.append(
        PhotoRow(
            path=Path("IMG_9999.JPG"),
            size_before=2_000_000,
            state=ItemState.UPLOADING,
            sent=1,
            total=2,
            note_id="other-note",
            target_label="Sample, visit",
        )
    )
    model.add_rows(rows)
    # A hidden child of the list's own parent: the same style sheet cascade, so the same style
    # object paints it (under a style sheet, not the application's style).
    sample = QTableView(view.parentWidget())
    sample.hide()
    sample.setFont(view.font())
    sample.setPalette(view.palette())
    sample.setItemDelegate(PhotoDelegate(sample))
    sample.setModel(model)
    sample.setShowGrid(view.showGrid())
    sample.setAlternatingRowColors(view.alternatingRowColors())
    sample.verticalHeader().setVisible(False)
    sample.verticalHeader().setDefaultSectionSize(view.verticalHeader().defaultSectionSize())
    sample.resize(max(view.width(), 800), max(view.height(), 400))  # a scroll bar shows too
    sample.selectRow(1)
    image = QImage(sample.size(), QImage.Format.Format_ARGB32_Premultiplied)
    sample.render(image)
    sample.setModel(None)
    sample.deleteLater()
    model.deleteLater()


def set_start_up_objects_aside() -> None:
    """Take every object alive after start-up (modules, Qt's type wrappers, the window's own
    objects: about 67,000) out of the cycle collector's view (``gc.freeze``). A full collection
    walked them all on whichever thread triggered it, holding Python's lock: 35-41 ms, a stall
    of the window now and then in a long session; 0.5 ms after this step. They live as long
    as the window anyway; ``AppContext.shutdown`` gives them back (``gc.unfreeze``)."""
    gc.freeze()


def start_up_steps(view: QTableView) -> list[Step]:
    """What is loaded after the first paint, one short step each, in the order needed;
    ``view``: the photo list, whose row painting is warmed up first."""
    from PIL import Image

    plugins = [f"PIL.{p}" for p in getattr(Image, "_plugins", [])]  # Image.init's list
    return [
        lambda: paint_sample_rows(view),
        *(_import(name) for name in plugins),
        Image.init,  # registers what the steps above loaded (each import is cached by now)
        _import("pillow_heif"),
        register_heif,  # needs Image.init done, else it runs it in one long step
        _import("zxingcpp"),  # the photo checks' label scan
        # Size estimates and photo checks decode in worker processes: started now, not on a drop.
        lambda: processes.warm(
            "maxupload.core.imaging.estimate", "maxupload.core.checks.photo", "zxingcpp"
        ),
        _import("maxupload.gui.settings_dialog"),
        set_start_up_objects_aside,  # last: after everything start-up loads
    ]


class WarmUp(QObject):
    """Runs ``steps`` one per turn of the event loop; ``finished`` is True after the last."""

    def __init__(self, steps: list[Step], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps = list(steps)
        self.finished = not self._steps

    def start(self) -> None:
        QTimer.singleShot(0, self, self._next)

    def _next(self) -> None:
        if not self._steps:
            self.finished = True
            return
        step = self._steps.pop(0)
        try:
            step()
        except Exception as exc:  # a codec missing from this install: it is loaded when used
            log.debug("start-up step failed: %s", exc)
        QTimer.singleShot(0, self, self._next)
