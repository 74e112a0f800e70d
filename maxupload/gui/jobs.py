"""Plain functions the window runs on its worker pool (never on the GUI thread).

Each takes plain values and returns plain data or a ``QImage``; none touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QImage

from maxupload.core.api.models import SignedUrl
from maxupload.core.api.stored_copies import StoredCopies
from maxupload.core.api.verify import VerifyClient
from maxupload.core.imaging.estimate import estimate_size
from maxupload.core.imaging.prepare import get_preset, prepare
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.imaging.thumbnails import thumbnail
from maxupload.core.system import processes
from maxupload.gui.qimage import pil_to_qimage, scaled_from_bytes

THUMBNAIL_PX = 128
#: Previews keep up to this many pixels on the long edge, so 100 % shows real detail.
PREVIEW_PX = 4096


def make_thumbnail(path: Path, size: int = THUMBNAIL_PX) -> QImage:
    """A small upright thumbnail (EXIF orientation applied) as a ``QImage``."""
    return pil_to_qimage(thumbnail(path, size=size))


@dataclass(frozen=True)
class PreparedView:
    """The photo exactly as it will be sent, scaled down for display, and its facts."""

    image: QImage
    width: int
    height: int
    mime_type: str
    size: int
    file_name: str


def render_prepared(path: Path, preset: str, copies: PreparedCopies | None = None) -> PreparedView:
    """Prepare the photo with ``preset`` (as the upload will) and show the result. With
    ``copies`` the prepared copy is kept for the upload and the view comes from the same
    decode; without, the prepared bytes are decoded for display."""
    if copies is not None:
        prepared, view = copies.get_with_view(path, get_preset(preset))
        image = pil_to_qimage(view)
    else:
        prepared = prepare(path, preset=get_preset(preset))
        image = scaled_from_bytes(prepared.data, PREVIEW_PX)
    return PreparedView(
        image=image,
        width=prepared.width,
        height=prepared.height,
        mime_type=prepared.mime_type,
        size=len(prepared.data),
        file_name=prepared.file_name,
    )


def estimate_sizes(path: Path, presets: list[str]) -> dict[str, int]:
    """Estimated sent size of one photo for each preset (decoded in a worker process)."""
    return {spec: estimate_one(path, spec) for spec in presets}


def estimate_one(path: Path, preset: str) -> int:
    """Estimated sent size with ``preset``: in a worker process, off the window's GIL."""
    get_preset(preset)  # an unknown preset fails here, as before
    return int(processes.call(estimate_size, path, preset))


@dataclass(frozen=True)
class StoredView:
    """The stored copy fetched through its signed URL."""

    signed: SignedUrl
    image: QImage
    size: int


def fetch_stored(
    client: VerifyClient, note_id: str, image_id: str, stored: StoredCopies | None = None
) -> StoredView:
    """The stored copy: the one verification downloaded when ``stored`` still has it (its link
    renewed if near expiry), else a signed URL and a download (no API headers go to storage)."""
    kept = stored.get(image_id) if stored is not None else None
    if kept is not None:
        link, data = kept
        signed = link or client.get_image_url(note_id, image_id)
    else:
        signed = client.get_image_url(note_id, image_id)
        data = client.download(signed.url)
    return StoredView(signed=signed, image=scaled_from_bytes(data, PREVIEW_PX), size=len(data))


def fetch_signed_url(client: VerifyClient, note_id: str, image_id: str) -> SignedUrl:
    return client.get_image_url(note_id, image_id)


#: Pasted images no photo in the list needs are swept at start-up once they are this old.
PASTED_MAX_AGE_S = 24 * 3600


def sweep_pasted(folder: Path, keep: set[Path], max_age_s: float = PASTED_MAX_AGE_S) -> int:
    """Delete pasted images older than ``max_age_s`` that are not in ``keep`` (left by a crash
    or by photos never sent); returns how many were deleted."""
    import time

    if not folder.is_dir():
        return 0
    cutoff = time.time() - max_age_s
    deleted = 0
    for path in folder.glob("pasted-*.png"):
        if path in keep:
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except OSError:
            continue
    return deleted


def save_clipboard_image(image: QImage, folder: Path) -> Path:
    """Write pasted image data to a private PNG in the cache folder; returns its path."""
    import os
    import time

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"pasted-{stamp}-{os.getpid()}-{id(image) & 0xFFFF:04x}.png"
    if not image.save(str(path)):  # PNG, from the suffix
        raise OSError(f"could not write {path.name}")
    os.chmod(path, 0o600)
    return path
