"""Prepared copies made once per photo and preset, kept on disk, shared by preview and upload.

Preparing decodes the photo; doing it for the preview, again for the exact size and again for
the upload would decode a 12 MP photo three times. ``PreparedCopies`` keeps each prepared copy
(the exact bytes to send, plus its facts) in a private cache folder, keyed by the source file
(path, size, modification time) and the preset; the preview gets a display image from the same
decode. A copy is only handed out while the source's bytes still hash to what was prepared, so a
photo edited in the meantime is prepared afresh. The engine drops the copy once the upload is
verified; copies nobody asked for in a day are swept.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from PIL import Image

from maxupload.core.imaging.formats import read_failure
from maxupload.core.imaging.prepare import Prepared, Receipt, prepare_with_view
from maxupload.core.imaging.presets import Preset, get_preset
from maxupload.core.system.paths import write_private

#: Copies not used for this long are deleted when the cache is opened.
MAX_AGE_S = 24 * 3600
#: Display images kept in memory. A view keeps the prepared copy's own pixels up to 4096 px
#: (9 MB at Standard), so the preview's 100 % is the photo exactly as it is sent.
VIEWS_KEPT = 4
VIEW_PX = 4096


class PreparedCopies:
    """Thread-safe cache of prepared copies in ``folder`` (created owner-only)."""

    def __init__(self, folder: Path, *, view_px: int = VIEW_PX, max_age_s: float = MAX_AGE_S):
        self.folder = folder
        self.view_px = view_px
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._views: OrderedDict[str, Image.Image] = OrderedDict()
        self._retired: set[str] = set()  # sent and verified: shown again, never stored again
        self.sweep(max_age_s)

    # --- public ---------------------------------------------------------------------------
    def get(self, source: Path, preset: Preset | str) -> Prepared:
        """The prepared copy of ``source`` with ``preset``: from the cache, else made now."""
        return self._get(source, preset, want_view=False)[0]

    def get_with_view(
        self,
        source: Path,
        preset: Preset | str,
        *,
        decoded: Callable[[Image.Image], None] | None = None,
    ) -> tuple[Prepared, Image.Image]:
        """The prepared copy and a display image of it (long edge at most ``view_px``).

        The view comes from the same decode when the copy is made now, from memory when it was
        made recently, and otherwise from decoding the small prepared copy (never the photo).
        ``decoded`` is shown the photo's decoded pixels when the copy is made now (only then).
        """
        prepared, view = self._get(source, preset, want_view=True, decoded=decoded)
        if view is None:
            with Image.open(io.BytesIO(prepared.data)) as im:
                im.draft("RGB", (self.view_px, self.view_px))
                view = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
            view.thumbnail((self.view_px, self.view_px), Image.Resampling.BILINEAR)
        return prepared, view

    def size(self, source: Path, preset: Preset | str) -> int | None:
        """The exact size of a copy already made (no decoding), else None."""
        meta = self._read_meta(self._key(source, preset))
        size = meta.get("size") if meta else None
        return size if isinstance(size, int) else None

    def discard(self, source: Path, preset: Preset | str) -> None:
        """Delete the copy (it was sent and verified, or the photo was removed); a later
        ``get`` (the preview of a finished photo) prepares it for display without storing."""
        key = self._key(source, preset)
        with self._lock:
            self._views.pop(key, None)
            self._retired.add(key)
        for path in self._files(key):
            path.unlink(missing_ok=True)

    def sweep(self, max_age_s: float = MAX_AGE_S) -> int:
        """Delete copies not used for ``max_age_s``; returns how many files were deleted."""
        if not self.folder.is_dir():
            return 0
        cutoff = time.time() - max_age_s
        deleted = 0
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
        return deleted

    # --- inside ---------------------------------------------------------------------------
    def _key(self, source: Path, preset: Preset | str) -> str:
        chosen = get_preset(preset)
        try:
            st = source.stat()
        except OSError as exc:
            raise read_failure(exc) from exc
        ident = (
            f"{source.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0"
            f"{chosen.name}:{chosen.long_edge}:{chosen.quality}:{chosen.force_jpeg}"
        )
        return hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    def _files(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"copy-{key}.bin", self.folder / f"copy-{key}.json"

    def _read_meta(self, key: str) -> dict[str, object] | None:
        try:
            meta = json.loads(self._files(key)[1].read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _get(
        self,
        source: Path,
        preset: Preset | str,
        *,
        want_view: bool,
        decoded: Callable[[Image.Image], None] | None = None,
    ) -> tuple[Prepared, Image.Image | None]:
        key = self._key(source, preset)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # the preview and the engine asking at once: one of them prepares
            cached = self._load(key, source)
            if cached is not None:
                with self._lock:
                    view = self._views.get(key)
                    if view is not None:
                        self._views.move_to_end(key)
                return cached, view
            prepared, view = prepare_with_view(source, preset, self.view_px, decoded=decoded)
            with self._lock:
                retired = key in self._retired
            if not retired:
                self._save(key, prepared)
            with self._lock:
                self._views[key] = view
                while len(self._views) > VIEWS_KEPT:
                    self._views.popitem(last=False)
            return prepared, view if want_view else None

    def _load(self, key: str, source: Path) -> Prepared | None:
        """The stored copy, when it is whole and the source still has the bytes it came from."""
        meta = self._read_meta(key)
        if meta is None:
            return None
        data_path, meta_path = self._files(key)
        try:
            data = data_path.read_bytes()
            original = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            return None
        try:
            fields = dict(meta["prepared"])  # type: ignore[call-overload]
            receipt = Receipt(**fields.pop("receipt"))
            prepared = Prepared(data=data, receipt=receipt, **fields)
        except (KeyError, TypeError, ValueError):
            return None
        if (
            hashlib.sha256(data).hexdigest() != prepared.sha256_output
            or original != prepared.sha256_original
        ):
            return None
        for path in (data_path, meta_path):
            with contextlib.suppress(OSError):
                path.touch()  # used now: the sweep keeps it
        return prepared

    def _save(self, key: str, prepared: Prepared) -> None:
        fields = asdict(prepared)
        fields.pop("data")
        data_path, meta_path = self._files(key)
        with contextlib.suppress(OSError):  # a full disk only costs a later decode
            write_private(data_path, prepared.data)
            write_private(meta_path, json.dumps({"prepared": fields, "size": prepared.size}))
