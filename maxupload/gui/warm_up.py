"""Start-up work the first paint does not need, done after it in short slices.

Image codecs (every Pillow plugin, pillow-heif), the barcode reader of the photo checks and the
settings dialog are loaded before anyone needs them: an import on a worker thread later would
hold Python's lock (PySide6 inspects every newly imported module) and stall the window. They
used to load before the window was shown, which cost the cold start about 0.2 s; now each one
loads in its own turn of the event loop after the window is up, so a click or key press
between them is handled at once.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from maxupload.core.imaging.formats import register_heif
from maxupload.core.system import processes

log = logging.getLogger(__name__)

Step = Callable[[], object]


def _import(name: str) -> Step:
    return lambda: importlib.import_module(name)


def start_up_steps() -> list[Step]:
    """What is loaded after the first paint, one short step each, in the order needed."""
    from PIL import Image

    plugins = [f"PIL.{p}" for p in getattr(Image, "_plugins", [])]  # Image.init's list
    return [
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
