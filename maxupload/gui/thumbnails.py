"""Lazy thumbnails: made on the worker pool when a visible row first asks, cached as pixmaps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage, QPixmap

from maxupload.gui.photo_model import PhotoModel
from maxupload.gui.tasks import TaskPool

#: Decode-and-shrink function run on a worker: path -> QImage (or raise).
ThumbnailMaker = Callable[[Path], QImage]


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
        self._pool = pool
        self._maker = maker
        self._dpr = device_pixel_ratio
        self.failed: dict[Path, str] = {}
        model.thumbnail_wanted.connect(self._wanted)

    @Slot(object)
    def _wanted(self, path: Path) -> None:
        maker = self._maker
        self._pool.submit(
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
