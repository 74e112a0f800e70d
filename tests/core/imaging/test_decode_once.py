"""Each photo's pixels are decoded once on the way to the server: preview, size and upload share
one prepared copy. Decodes are counted at Pillow's decoder entry point (``Image._getdecoder``,
which every ``load`` of a file goes through; rows handed over from memory by ``frombytes`` are
not a decode) and at libvips's loaders, on MaxUpload's threads (the sandbox, which checks what
it receives, runs on its own)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.queue.model import ItemState
from maxupload.sandbox import SandboxServer
from tests.core.engine.test_engine import Harness
from tests.plugins.images import photo, write_jpeg


class DecodeCounter:
    """Wraps Pillow's decoder factory and records each decode outside the sandbox's threads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.decodes: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        real = Image._getdecoder

        def counting(mode: str, decoder_name: str, args: Any, extra: tuple[Any, ...] = ()) -> Any:
            if sys._getframe(1).f_code.co_name != "frombytes":
                self._count(decoder_name)
            return real(mode, decoder_name, args, extra)

        monkeypatch.setattr(Image, "_getdecoder", counting)
        try:
            import pyvips  # type: ignore[import-untyped]
        except ImportError:
            return
        for loader in ("jpegload", "jpegload_buffer", "pngload", "pngload_buffer"):
            monkeypatch.setattr(pyvips.Image, loader, self._counting_loader(loader, pyvips))

    def _counting_loader(self, loader: str, pyvips: Any) -> Any:
        real = getattr(pyvips.Image, loader)

        def counting(*args: Any, **kwargs: Any) -> Any:
            self._count(f"libvips {loader}")
            return real(*args, **kwargs)

        return staticmethod(counting)

    def _count(self, what: str) -> None:
        thread = threading.current_thread().name
        if not thread.startswith("sandbox-"):
            with self._lock:
                self.decodes.append((what, thread))

    def count(self) -> int:
        with self._lock:
            return len(self.decodes)


@pytest.fixture
def harness(sandbox: SandboxServer, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(sandbox, tmp_path)
    yield h
    h.close()


def test_preview_size_and_upload_decode_the_photo_once(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jpeg(tmp_path / "IMG_0001.JPG", photo(2400, 1800), orientation=6)
    counter = DecodeCounter(monkeypatch)
    copies = PreparedCopies(tmp_path / "copies")

    prepared, view = copies.get_with_view(source, "standard")  # the preview pane
    assert counter.count() == 1
    assert max(view.size) <= copies.view_px and view.size[0] < view.size[1]  # upright
    assert copies.size(source, "standard") == prepared.size  # the exact size shown
    again, _view = copies.get_with_view(source, "standard")  # shown again: from the cache
    assert again.sha256_output == prepared.sha256_output
    assert counter.count() == 1

    engine = harness.engine(copies=copies)
    engine.add([source], harness.target, "standard")
    harness.run(engine)
    (item,) = harness.store.items()
    assert item.state == ItemState.VERIFIED, item
    assert item.sha256_sent == prepared.sha256_output  # the copy previewed is the copy sent
    assert counter.count() == 1, counter.decodes
    assert not list(copies.folder.iterdir())  # deleted once verified


def test_without_a_preview_the_upload_decodes_once(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jpeg(tmp_path / "IMG_0002.JPG", photo(2400, 1800), orientation=6)
    counter = DecodeCounter(monkeypatch)
    engine = harness.engine(copies=PreparedCopies(tmp_path / "copies"))
    engine.add([source], harness.target, "high")
    harness.run(engine)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED]
    assert counter.count() == 1, counter.decodes


def test_a_photo_changed_after_its_preview_is_prepared_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jpeg(tmp_path / "IMG_0003.JPG", photo(800, 600, seed=1))
    copies = PreparedCopies(tmp_path / "copies")
    first = copies.get(source, "small")
    stat = source.stat()
    write_jpeg(source, photo(800, 600, seed=2))  # edited in place, old time stamp put back
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    counter = DecodeCounter(monkeypatch)
    second = copies.get(source, "small")
    assert counter.count() == 1
    assert second.sha256_original != first.sha256_original
    assert second.sha256_output != first.sha256_output


def test_copies_nobody_used_for_a_day_are_swept(tmp_path: Path) -> None:
    source = write_jpeg(tmp_path / "IMG_0004.JPG", photo(400, 300))
    copies = PreparedCopies(tmp_path / "copies")
    copies.get(source, "small")
    assert len(list(copies.folder.iterdir())) == 2
    assert copies.sweep(max_age_s=3600) == 0
    assert copies.sweep(max_age_s=-1) == 2
    assert copies.size(source, "small") is None


def test_the_next_photos_are_prepared_while_one_is_sent(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one worker sending, the photos after it are prepared ahead on other threads, each
    still decoded once; those threads end with the engine."""
    harness.srv.set_faults(latency_ms=300)  # each answer takes a while: time to work ahead
    sources = [write_jpeg(tmp_path / f"IMG_{n}.JPG", photo(1600, 1200, seed=n)) for n in range(4)]
    counter = DecodeCounter(monkeypatch)
    engine = harness.engine(workers=1, copies=PreparedCopies(tmp_path / "copies"))
    engine.add(sources, harness.target, "standard")
    harness.run(engine)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED] * 4
    assert counter.count() == 4, counter.decodes
    ahead = [t for _kind, t in counter.decodes if t.startswith("maxupload-prepare-ahead")]
    assert len(ahead) >= 2, counter.decodes
    assert engine.shutdown(wait=True)
    assert not [t for t in threading.enumerate() if t.name.startswith("maxupload-prepare")]
