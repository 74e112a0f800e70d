"""Lazy thumbnails: made on the worker pool when a visible row first asks, cached as pixmaps.

Work for one photo (its thumbnail, its size estimate) is cancelled when the photo leaves the
list, so removing photos never leaves the pool busy with them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage, QPixmap

from maxupload.gui.photo_model import PhotoModel
from maxupload.gui.tasks import TaskPool

#: Decode-and-shrink function run on a worker: path -> QImage (or raise).
ThumbnailMaker = Callable[[Path], QImage]


class JobsByPath(QObject):
    """Pool jobs keyed by photo path; those of photos no longer in ``model`` are cancelled.

    Signals: none.
    """

    def __init__(self, model: PhotoModel, pool: TaskPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._pool = pool
        self._jobs: dict[Path, int] = {}
        model.rowsRemoved.connect(self._cancel_gone)
        model.modelReset.connect(self._cancel_gone)

    def submit(
        self,
        path: Path,
        fn: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
        priority: int = 0,
    ) -> None:
        def finished(result: Any) -> None:
            self._jobs.pop(path, None)
            done(result)

        def broke(exc: BaseException) -> None:
            self._jobs.pop(path, None)
            failed(exc)

        old = self._jobs.pop(path, None)
        if old is not None:
            self._pool.cancel(old)
        self._jobs[path] = self._pool.submit(fn, finished, broke, priority=priority)

    def pending(self) -> set[Path]:
        """Photos with a job asked for and not finished yet."""
        return set(self._jobs)

    @Slot()
    def _cancel_gone(self, *_args: object) -> None:
        listed = {r.path for r in self._model.rows()}
        for path in [p for p in self._jobs if p not in listed]:
            self._pool.cancel(self._jobs.pop(path))


class ThumbnailLoader(QObject):
    """Feeds a ``PhotoModel`` its thumbnails; decoding runs on the pool, pixmaps are made here.

    Signals: none (results go straight into the model).
    """

    def __init__(
        self,
        model: PhotoModel,
        pool: TaskPool,
        maker: ThumbnailMaker,
        device_pixel_ratio: float = 1.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._maker = maker
        self._dpr = device_pixel_ratio
        self.failed: dict[Path, str] = {}
        self.jobs = JobsByPath(model, pool, self)
        model.thumbnail_wanted.connect(self._wanted)

    @Slot(object)
    def _wanted(self, path: Path) -> None:
        maker = self._maker
        self.jobs.submit(
            path,
            lambda: maker(path),
            lambda image: self._loaded(path, image),
            lambda exc: self._failed(path, exc),
            priority=1,
        )

    def _loaded(self, path: Path, image: QImage) -> None:
        if image.isNull():
            self._failed(path, ValueError("empty image"))
            return
        pix = QPixmap.fromImage(image)
        pix.setDevicePixelRatio(self._dpr)
        self._model.set_thumbnail(path, pix)

    def _failed(self, path: Path, exc: BaseException) -> None:
        self.failed[path] = type(exc).__name__
        self._model.set_thumbnail(path, None)
