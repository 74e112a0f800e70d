"""Photos coming into the window: file dialogs, paste, drops, staging and size estimates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QFileDialog,
)

from maxupload.gui import jobs
from maxupload.gui.after_paint import after_next_paint
from maxupload.gui.drop_zone import image_from_mime, paths_from_mime
from maxupload.gui.photo_model import PhotoRow, row_from_item

IMAGE_FILTER = (
    "Photos (*.jpg *.jpeg *.png *.heic *.heif *.tif *.tiff *.webp *.bmp *.gif);;All files (*)"
)


class WindowIntake:
    """Takes photos in (dialogs, paste, drop) and shows them once the core has staged them.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    # ------------------------------------------------------------------ photos in
    @Slot()
    def choose_files(self) -> None:
        dialog = QFileDialog(self, "Add photos")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(IMAGE_FILTER)
        dialog.filesSelected.connect(lambda files: self.add_paths([Path(f) for f in files]))
        dialog.open()
        self._file_dialog = dialog

    @Slot()
    def choose_folder(self) -> None:
        dialog = QFileDialog(self, "Add a folder of photos")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda folder: self.add_paths([Path(folder)]))
        dialog.open()
        self._file_dialog = dialog

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        paths = paths_from_mime(mime)
        if paths:
            self.add_paths(paths)
            return
        image = image_from_mime(mime)
        if image is not None:
            self.add_image(image)
            return
        self.show_notice("The clipboard holds no photo or file.")

    @Slot(QImage)
    def add_image(self, image: QImage) -> None:
        """Raw image data (pasted or dropped): saved as a private PNG in the cache, then added."""
        copy = image.copy()
        folder = self._pasted_dir
        self.deps.image_pool.submit(
            lambda: jobs.save_clipboard_image(copy, folder),
            lambda path: self.add_paths([path]),
            self._show_exception,
        )

    @Slot(list)
    def add_paths(self, paths: list[Path]) -> None:
        """Scan files and folders on the pool; rows and rejections appear when it is done."""
        if not paths:
            return
        wanted = [Path(p) for p in paths]
        self.statusBar().showMessage(
            "Checking the photo you added…" if len(wanted) == 1 else "Checking what you added…"
        )
        self.uploads.stage(wanted)

    def _list_rows(self, result: Any) -> list[PhotoRow]:
        """Rows for staged photos not listed yet (a large drop is listed part by part)."""
        rows = [row_from_item(s) for s in result.photos if self.model.find_item(s.id) is None]
        with self.model.changing_many():
            for snap in result.photos:  # listed already by a queue notice: the newer snapshot
                if self.model.find_item(snap.id) is not None:  # wins (a copy's mark, say)
                    self._apply_item(snap)
        self.model.add_rows(rows)
        if result.photos and not self.table.selectionModel().hasSelection():
            first = self.model.find_item(result.photos[0].id)  # listed here or by a notice
            if first is not None:
                self.table.selectRow(first)
        if rows:  # the drop's reading goes on once these rows are on screen
            after_next_paint(self.table.viewport(), self.uploads.first_rows_shown)
        else:
            self.uploads.first_rows_shown()
        return rows

    @Slot(object)
    def _staged(self, result: Any) -> None:
        """Photos saved as staged: new rows (a file added twice keeps its one row)."""
        self._list_rows(result)
        for rejection in result.intake.rejected:
            self.rejections.add(
                rejection.path.name, rejection.reason, rejection.next_step, str(rejection.path)
            )
        n_ok, n_bad = len(result.added), len(result.intake.rejected)
        text = f"Added {n_ok} photo{'s' if n_ok != 1 else ''}"
        if n_bad:
            text += f"; {n_bad} file{'s' if n_bad != 1 else ''} not added (see the list below)"
        self.statusBar().showMessage(text + ".", 8000)
        self._check_staged()
        self.intake_done.emit(n_ok, n_bad)

    @Slot(object)
    def _estimate_wanted(self, path: Path) -> None:
        """A visible staged row needs its size after preparation (estimated on the pool)."""
        spec = self.preview.preset_spec()

        def done(size: int) -> None:
            self._estimate_done(path, spec, size)

        self._estimates.submit(
            path, lambda: jobs.estimate_one(path, spec), done, lambda _exc: None, priority=-1
        )

    def _estimate_done(self, path: Path, spec: str, size: int) -> None:
        if spec != self.preview.preset_spec():
            return
        for i, row in enumerate(self.model.rows()):
            if row.is_staged and row.path == path:
                self.model.update_row(i, size_after=size, size_after_is_estimate=True)

    @Slot(str)
    def _preset_changed(self, _spec: str) -> None:
        self.model.reset_estimates()  # visible rows ask again, with the new preset
