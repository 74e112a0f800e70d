"""Imaging benchmark: MaxUpload's fast path against the naive Pillow path (and libvips, if present).

Run: ``.venv/bin/python -m tests.benchmarks.bench_imaging`` (options: ``--help``). Not part of
the test run. It generates realistic 12 MP phone photos (noise and gradients, EXIF orientation 6,
GPS tags) in a temporary folder, then measures on the same files:

* Standard preset (2000 px JPEG) vs naive: open, ``exif_transpose``, ``thumbnail`` LANCZOS,
  save (quality 85). Target: at most 0.5x the naive time.
* 256 px thumbnail vs naive (open, ``exif_transpose``, ``thumbnail`` LANCZOS). Target: 0.3x.
* Standard preset vs libvips ``thumbnail`` + ``jpegsave`` (one libvips thread, like Pillow).
* A batch of 50 photos on a process pool sized to the cores: photos per second and peak RSS
  (all workers together); then 200 photos: peak RSS within 15% of the 50-photo batch.

Each per-photo time is the median of several repetitions; ratios are medians over the photos.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # before pyvips loads: one thread, like Pillow

import psutil
from PIL import Image, ImageOps

from maxupload.core.imaging import prepare, thumbnail
from tests.plugins.images import write_realistic_photo

try:  # optional: pip install pyvips (needs libvips, e.g. apt-get install libvips42)
    import pyvips  # type: ignore[import-not-found, import-untyped, unused-ignore]
except (ImportError, OSError):
    pyvips = None


def naive_standard(path: Path) -> bytes:
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    im.thumbnail((2000, 2000), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def naive_thumbnail(path: Path) -> Image.Image:
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    im.thumbnail((256, 256), Image.Resampling.LANCZOS)
    return im


def fast_standard(path: Path) -> bytes:
    return prepare(path, "standard").data


def fast_thumbnail(path: Path) -> Image.Image:
    return thumbnail(path, 256)


def vips_standard(path: Path) -> bytes:
    assert pyvips is not None
    im = pyvips.Image.thumbnail(str(path), 2000)  # shrink-on-load, auto-rotate
    data: bytes = im.jpegsave_buffer(Q=85, strip=True)
    return data


def vips_thumbnail(path: Path) -> bytes:
    assert pyvips is not None
    data: bytes = pyvips.Image.thumbnail(str(path), 256).write_to_memory()
    return data


def _median_time(fn: Callable[[Path], object], path: Path, reps: int) -> float:
    fn(path)  # warm caches (file in page cache, codecs loaded)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _generate(args: tuple[Path, int]) -> Path:
    path, seed = args
    return write_realistic_photo(path, (4000, 3000), seed=seed, orientation=6)


def _prepare_one(path: str) -> tuple[int, str]:
    prepared = prepare(path, "standard")
    return prepared.size, prepared.sha256_output


class PeakRss:
    """Samples the summed RSS of this process and its children (or the children only)."""

    def __init__(self, interval: float = 0.01, *, children_only: bool = False) -> None:
        self.children_only = children_only
        self.peak = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            procs = me.children(recursive=True)
            for proc in procs if self.children_only else [me, *procs]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_batch(files: list[Path], count: int, workers: int) -> tuple[float, int]:
    """Prepare ``count`` photos (cycling ``files``) on a fresh pool: photos/s and peak RSS.

    Workers are spawned (not forked) so their RSS is their own, not pages shared with this
    process; the peak is the sum over the workers.
    """
    jobs = [str(files[i % len(files)]) for i in range(count)]
    context = multiprocessing.get_context("spawn")
    with PeakRss(children_only=True) as rss:
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_prepare_one, jobs, chunksize=1))
        elapsed = time.perf_counter() - start
    assert len(results) == count
    return count / elapsed, rss.peak


def _verdict(value: float, target: float) -> str:
    return "OK" if value <= target else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_imaging")
    parser.add_argument("--photos", type=int, default=6, help="distinct 12 MP photos (default 6)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per photo (default 5)")
    parser.add_argument("--batch", type=int, default=50, help="photos in the batch (default 50)")
    parser.add_argument("--big-batch", type=int, default=200, help="memory check batch (200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, help="folder for the photos (default: temporary)")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="maxupload-bench-") if args.dir is None else None
    folder = Path(tmp.name) if tmp else args.dir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        wanted = [(folder / f"IMG_{i:04d}.JPG", 100 + i) for i in range(args.photos)]
        missing = [w for w in wanted if not w[0].exists()]
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(_generate, missing))
        files = [w[0] for w in wanted]
        sizes = [f.stat().st_size for f in files]
        print(
            f"MaxUpload imaging benchmark: {len(files)} photos 4000x3000 (EXIF orientation 6, GPS),"
            f" mean {statistics.mean(sizes) / 1e6:.1f} MB, generated in "
            f"{time.perf_counter() - start:.1f} s; {args.reps} reps each; {args.workers} cores;"
            f" Pillow {Image.__version__}"
            + (
                f"; libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
                if pyvips
                else "; pyvips not installed"
            )
        )

        def compare(
            name: str, ours: Callable[[Path], object], base: Callable[[Path], object]
        ) -> float:
            ratios, ours_t, base_t = [], [], []
            for f in files:
                b = _median_time(base, f, args.reps)
                o = _median_time(ours, f, args.reps)
                ratios.append(o / b)
                ours_t.append(o)
                base_t.append(b)
            ratio = statistics.median(ratios)
            print(
                f"  {name:<34} ours {statistics.median(ours_t) * 1000:7.1f} ms   "
                f"baseline {statistics.median(base_t) * 1000:7.1f} ms   ratio {ratio:.2f}x"
            )
            return ratio

        print("Per photo (median):")
        std = compare("standard 2000 px vs naive", fast_standard, naive_standard)
        thumb = compare("thumbnail 256 px vs naive", fast_thumbnail, naive_thumbnail)
        vips_std = vips_thumb = None
        if pyvips is not None:
            vips_std = compare("standard 2000 px vs libvips", fast_standard, vips_standard)
            vips_thumb = compare("thumbnail 256 px vs libvips", fast_thumbnail, vips_thumbnail)

        print(f"Batch on a pool of {args.workers} processes:")
        rate50, rss50 = run_batch(files, args.batch, args.workers)
        print(
            f"  {args.batch} photos: {rate50:.1f} photos/s, peak RSS {rss50 / 1e6:.0f} MB "
            f"(all {args.workers} workers together)"
        )
        rate200, rss200 = run_batch(files, args.big_batch, args.workers)
        growth = rss200 / rss50 - 1
        print(
            f"  {args.big_batch} photos: {rate200:.1f} photos/s, peak RSS {rss200 / 1e6:.0f} MB "
            f"({growth * 100:+.1f}% vs {args.batch})"
        )

        print("Targets:")
        print(f"  standard vs naive  {std:.2f}x  (target <= 0.50x)  {_verdict(std, 0.5)}")
        print(f"  thumbnail vs naive {thumb:.2f}x  (target <= 0.30x)  {_verdict(thumb, 0.3)}")
        print(
            f"  peak RSS {args.big_batch} vs {args.batch}  {growth * 100:+.1f}%  (target <= 15%)"
            f"  {_verdict(growth, 0.15)}"
        )
        if vips_std is not None and vips_thumb is not None:
            print(
                f"  standard vs libvips {vips_std:.2f}x, thumbnail vs libvips {vips_thumb:.2f}x"
                "  (aim: about 1.0x)"
            )
        ok = std <= 0.5 and thumb <= 0.3 and growth <= 0.15
        return 0 if ok else 1
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
