"""Imaging benchmark on the photos phones really produce, against naive Pillow and libvips.

Run: ``.venv/bin/python -m tests.benchmarks.bench_imaging`` (``--help`` for options; a few
minutes on 2 cores). Not part of the test run. It generates, once, in a temporary folder:
phone JPEGs of 4032x3024 (iPhone), 4000x3000 and 4080x3072 (Android) and 8064x6048 (48 MP
modes), all with EXIF orientation 6 and GPS tags; a 12 MP HEIC (orientation 6); a 2880x1800 PNG
screenshot. For each photo and preset (Standard 2000 px q85, High 3000 px q90) it times, one
after the other in every round so machine noise hits all three alike:

* naive Pillow: open, ``exif_transpose``, ``thumbnail`` LANCZOS, save JPEG at the preset quality;
* MaxUpload: ``prepare`` (the exact bytes sent, receipt and hashes included);
* libvips (when pyvips is installed): ``thumbnail`` (shrink-on-load, auto-rotate) +
  ``jpegsave`` with Huffman optimisation and no metadata, like MaxUpload; one libvips thread.

Times are medians over the rounds; ratios divide medians. Peak memory is measured apart: each
(photo, preset, way) runs once in a fresh process, and the rise of its peak RSS over the
process's own start-up is reported. Then a batch on a process pool sized to the cores: photos
per second and peak RSS of 50 and of 200 photos (memory must stay flat).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes.util
import io
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("VIPS_CONCURRENCY", "1")  # before pyvips loads: one thread, like Pillow
# A worker process started with MAXUPLOAD_BENCH_BASELINE=DIR imports maxupload from DIR
# (``--baseline``): DIR goes first on the path before anything imports it (else the path's
# first entry is repeated, which changes nothing).
sys.path.insert(0, os.environ.get("MAXUPLOAD_BENCH_BASELINE") or sys.path[0])

import psutil
from PIL import Image, ImageOps

from maxupload.core.imaging.formats import register_heif
from maxupload.core.imaging.prepare import prepare
from maxupload.core.imaging.presets import get_preset
from maxupload.core.imaging.thumbnails import thumbnail
from tests.plugins.images import identifying_exif, photo, screenshot, write_realistic_photo

#: ``MAXUPLOAD_BENCH_LIBVIPS=system``: pyvips uses the system's libvips (Debian: ``apt-get install
#: libvips42``) even where pyvips-binary is installed. pyvips takes pyvips-binary's compiled
#: module ``_libvips`` when it can import it, and otherwise loads ``libvips.so.42`` (cffi ABI mode).
LIBVIPS_ENV = "MAXUPLOAD_BENCH_LIBVIPS"
BASELINE_ENV = "MAXUPLOAD_BENCH_BASELINE"  # see the path above
if os.environ.get(LIBVIPS_ENV) == "system":
    sys.modules["_libvips"] = None  # type: ignore[assignment]
try:  # optional: pip install -e '.[bench]' (pyvips + pyvips-binary, or apt libvips42)
    import pyvips  # type: ignore[import-not-found, import-untyped, unused-ignore]
except (ImportError, OSError):
    pyvips = None

JPEG_SIZES = [(4032, 3024), (4000, 3000), (4080, 3072), (8064, 6048)]
PRESETS = ("standard", "high")


@dataclass(frozen=True)
class Case:
    """One test photo: a label for the table and its file."""

    label: str
    path: Path


# --- the three ways ---------------------------------------------------------------------------
def naive(path: Path, preset: str) -> bytes:
    """What a short script does: decode everything, rotate, LANCZOS thumbnail, save."""
    chosen = get_preset(preset)
    edge = chosen.long_edge or 100_000
    im = ImageOps.exif_transpose(Image.open(path))
    im.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=chosen.quality)
    return buf.getvalue()


def ours(path: Path, preset: str) -> bytes:
    return prepare(path, preset).data


def vips(path: Path, preset: str) -> bytes:
    assert pyvips is not None
    chosen = get_preset(preset)
    im = pyvips.Image.thumbnail(str(path), chosen.long_edge or 100_000, size="down")
    # No metadata in the output: ``keep`` since libvips 8.15, ``strip`` before (Debian 12: 8.14).
    bare = {"keep": "none"} if pyvips.at_least_libvips(8, 15) else {"strip": True}
    data: bytes = im.jpegsave_buffer(Q=chosen.quality, optimize_coding=True, **bare)
    return data


def naive_thumb(path: Path, _preset: str) -> Image.Image:
    im = ImageOps.exif_transpose(Image.open(path))
    im.thumbnail((256, 256), Image.Resampling.LANCZOS)
    return im


def ours_thumb(path: Path, _preset: str) -> Image.Image:
    return thumbnail(path, 256)


def vips_thumb(path: Path, _preset: str) -> bytes:
    assert pyvips is not None
    data: bytes = pyvips.Image.thumbnail(str(path), 256).write_to_memory()
    return data


WAYS: dict[str, Callable[[Path, str], object]] = {
    "naive": naive,
    "ours": ours,
    "vips": vips,
    "naive_thumb": naive_thumb,
    "ours_thumb": ours_thumb,
    "vips_thumb": vips_thumb,
}


# --- worker processes: the system's libvips, an earlier MaxUpload ----------------------------
def system_libvips_env() -> dict[str, str]:
    """The environment in which a spawned process loads the system's libvips. libvips finds its
    format modules (HEIF is one, on Debian) under VIPSHOME, which it guesses from argv[0] when
    unset: in a spawned worker that guess is the venv, not /usr."""
    return {LIBVIPS_ENV: "system", "VIPSHOME": os.environ.get("VIPSHOME", "/usr")}


@contextlib.contextmanager
def spawn_env(env: dict[str, str]) -> Iterator[None]:
    """Processes spawned inside this block start with ``env`` added to this one's."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _timed(args: tuple[str, str, str]) -> float:
    way, path, preset = args
    start = time.perf_counter()
    WAYS[way](Path(path), preset)
    return time.perf_counter() - start


def _describe(_: object = None) -> str:
    import maxupload

    vips = f"libvips {_libvips_version()}" if pyvips else "no libvips"
    return f"{vips}, maxupload from {Path(maxupload.__file__).parent.parent}"


def _libvips_version() -> str:
    assert pyvips is not None
    return f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"


class Worker:
    """One spawned process with an environment of its own (the system's libvips, or an earlier
    MaxUpload's code); each way it runs is timed inside it, so only the work is counted."""

    def __init__(self, env: dict[str, str]) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.about = ""
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            with spawn_env(env):  # the process starts on the first submit
                self.about = pool.submit(_describe).result()
            self.pool = pool
        except Exception as exc:
            print(f"    a worker with {env} cannot start: {exc}", file=sys.stderr)
            pool.shutdown()

    def time(self, way: str, path: Path, preset: str) -> float:
        assert self.pool is not None
        return self.pool.submit(_timed, (way, str(path), preset)).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def system_libvips_worker() -> Worker | None:
    """The system's libvips, for the photos that pyvips-binary's cannot read (it has no HEVC
    decoder; Debian's reads HEIC); None when there is none or it is already the one in use."""
    if os.environ.get(LIBVIPS_ENV) == "system" or not ctypes.util.find_library("vips"):
        return None
    worker = Worker(system_libvips_env())
    return worker if worker.pool is not None else None


# --- photos ---------------------------------------------------------------------------------
def _make(args: tuple[str, Path]) -> Path:
    kind, path = args
    if path.exists():
        return path
    if kind == "heic":
        # x265's "ultrafast" preset on a low-grain photo: the slow default would take minutes.
        register_heif()
        exif = identifying_exif(orientation=6).tobytes()
        im = photo(4032, 3024, seed=7, noise=6)
        im.save(path, "HEIF", quality=80, exif=exif, enc_params={"preset": "ultrafast"})
        return path
    if kind == "png":
        screenshot((2880, 1800)).save(path, "PNG")
        return path
    w, h = (int(v) for v in kind.split("x"))
    return write_realistic_photo(path, (w, h), seed=w, orientation=6)


def make_cases(folder: Path, workers: int) -> list[Case]:
    specs = [(f"{w}x{h}", folder / f"IMG_{w}x{h}.JPG", f"JPEG {w}x{h}") for w, h in JPEG_SIZES]
    specs.append(("heic", folder / "IMG_HEIC.HEIC", "HEIC 4032x3024"))
    specs.append(("png", folder / "Screenshot.png", "PNG screenshot 2880x1800"))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_make, [(kind, path) for kind, path, _ in specs]))
    return [Case(label, path) for _, path, label in specs]


# --- timing and memory -----------------------------------------------------------------------
def time_interleaved(
    path: Path,
    preset: str,
    ways: list[str],
    rounds: int,
    remote: dict[str, tuple[Worker | None, str]] | None = None,
    system: Worker | None = None,
) -> tuple[dict[str, float | None], set[str]]:
    """Median seconds per way; in each round every way runs once, in turn. ``remote`` ways run
    in a worker (name -> worker and the way it runs there). A libvips way whose libvips cannot
    read the photo runs on ``system`` instead; those ways are returned too."""
    remote = dict(remote or {})
    times: dict[str, list[float]] = {w: [] for w in ways}
    broken: set[str] = set()
    on_system: set[str] = set()

    def run(w: str) -> float:
        if w in remote:
            worker, way = remote[w]
            assert worker is not None
            return worker.time(way, path, preset)
        return _timed((w, str(path), preset))

    for w in ways:  # warm-up: page cache, codecs, lazy imports
        try:
            run(w)
        except Exception as exc:  # libvips built without a codec: report it, go on
            print(f"    {w} cannot read {path.name}: {str(exc)[:160]}", file=sys.stderr)
            if w == "vips" and system is not None:
                remote[w] = (system, w)
                on_system.add(w)
                try:
                    run(w)
                    continue
                except Exception as again:
                    print(f"    the system's libvips cannot either: {again}", file=sys.stderr)
            broken.add(w)
    for _ in range(rounds):
        for w in ways:
            if w not in broken:
                times[w].append(run(w))
    return {w: (statistics.median(t) if t else None) for w, t in times.items()}, on_system


def _peak_rise(args: tuple[str, str, str]) -> int:
    """In a fresh process: peak RSS growth (bytes) while one way handles one photo once."""
    way, path, preset = args
    register_heif()
    with PeakRss(interval=0.002, own=True) as rss:
        before = psutil.Process().memory_info().rss
        WAYS[way](Path(path), preset)
    return max(0, rss.peak - before)


def peak_memory(
    path: Path, preset: str, ways: list[str], on_system: set[str]
) -> dict[str, int | None]:
    context = multiprocessing.get_context("spawn")
    out: dict[str, int | None] = {}
    for w in ways:
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                with spawn_env(system_libvips_env() if w in on_system else {}):
                    job = pool.submit(_peak_rise, (w, str(path), preset))
                out[w] = job.result()
        except Exception:
            out[w] = None
    return out


class PeakRss:
    """Samples the summed RSS of this process's children (or, ``own``, of this process)."""

    def __init__(self, interval: float = 0.01, *, own: bool = False) -> None:
        self.own = own
        self.peak = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me] if self.own else me.children(recursive=True):
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


def _prepare_one(path: str) -> int:
    return prepare(path, "standard").size


def run_batch(files: list[Path], count: int, workers: int) -> tuple[float, int]:
    """Prepare ``count`` photos (cycling ``files``) on a fresh spawned pool: photos/s, peak RSS."""
    jobs = [str(files[i % len(files)]) for i in range(count)]
    with PeakRss() as rss:
        start = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_prepare_one, jobs, chunksize=1))
        elapsed = time.perf_counter() - start
    assert len(results) == count
    return count / elapsed, rss.peak


# --- report ---------------------------------------------------------------------------------
def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v * 1000:.0f} ms"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.2f}x"


def _mb(v: int | None) -> str:
    return "—" if v is None else f"{v / 1e6:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_imaging")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--batch", type=int, default=50, help="photos in the batch (default 50)")
    parser.add_argument("--big-batch", type=int, default=200, help="memory check batch (200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    parser.add_argument("--dir", type=Path, help="folder for the photos (default: temporary)")
    parser.add_argument(
        "--only", default="", help="photos whose label holds one of these words (e.g. HEIC,PNG)"
    )
    parser.add_argument("--no-batch", action="store_true", help="skip the batch pass")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also time `prepare` of the maxupload package in DIR (an earlier source tree, "
        "e.g. git archive REV maxupload | tar -x -C DIR) in the same rounds",
    )
    args = parser.parse_args(argv)

    register_heif()
    tmp = tempfile.TemporaryDirectory(prefix="maxupload-bench-") if args.dir is None else None
    folder = Path(tmp.name) if tmp else args.dir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        cases = make_cases(folder, args.workers)
        system = system_libvips_worker() if pyvips else None
        vips_version = (
            f"libvips {_libvips_version()} (1 thread"
            + (f"; {system.about.split(',')[0]} where that cannot read a photo)" if system else ")")
            if pyvips
            else "libvips not installed (its columns are skipped)"
        )
        # Before/after: both trees' prepare in worker processes alike (a process's own history
        # of allocations moves its times, so this one's in-process figure is not compared).
        earlier = Worker({BASELINE_ENV: str(args.baseline.resolve())}) if args.baseline else None
        current = Worker({}) if earlier and earlier.pool else None
        remote = {"earlier": (earlier, "ours"), "current": (current, "ours")} if current else {}
        if args.baseline and not (current and current.pool):
            return 2
        words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        chosen = [c for c in cases if not words or any(w in c.label.lower() for w in words)]
        print(
            f"MaxUpload imaging benchmark: Python {sys.version.split()[0]}, Pillow "
            f"{Image.__version__}, {vips_version}; {os.cpu_count()} cores; {args.rounds} "
            f"interleaved rounds, medians; photos generated in {time.perf_counter() - start:.0f} s"
        )
        ways = ["naive", "ours"] + (["vips"] if pyvips else []) + list(remote)
        rows: list[str] = []
        before_rows: list[str] = []
        worst_naive = worst_vips = 0.0
        for case in chosen:
            for preset in PRESETS:
                t, on_system = time_interleaved(
                    case.path, preset, ways, args.rounds, remote, system
                )
                mem: dict[str, int | None] = {}
                if not args.no_memory:
                    mem = peak_memory(case.path, preset, ways[:3], on_system)
                vs_naive = _ratio(t["ours"], t["naive"])
                vs_vips = _ratio(t["ours"], t.get("vips"))
                if t["ours"] and t["naive"]:
                    worst_naive = max(worst_naive, t["ours"] / t["naive"])
                if t["ours"] and t.get("vips"):
                    worst_vips = max(worst_vips, t["ours"] / (t["vips"] or 1))
                mark = f" ({system.about.split(',')[0]})" if system and "vips" in on_system else ""
                row = (
                    f"| {case.label} | {preset} | {_ms(t['naive'])} | {_ms(t['ours'])} | "
                    f"{_ms(t.get('vips'))}{mark} | {vs_naive} | {vs_vips} | "
                    f"{_mb(mem.get('ours'))} / {_mb(mem.get('naive'))} / {_mb(mem.get('vips'))} |"
                )
                rows.append(row)
                print("  " + row, flush=True)
                if remote:
                    before_rows.append(
                        f"| {case.label} | {preset} | {_ms(t['earlier'])} | {_ms(t['current'])} | "
                        f"{_ratio(t['current'], t['earlier'])} |"
                    )
        thumb_ways = ["naive_thumb", "ours_thumb"] + (["vips_thumb"] if pyvips else [])
        thumb, _ = time_interleaved(cases[0].path, "standard", thumb_ways, args.rounds)
        for worker in (system, earlier, current):
            if worker:
                worker.close()

        print("\nPrepare one photo (MaxUpload `prepare` = the exact bytes sent):\n")
        print(
            "| photo | preset | naive Pillow | MaxUpload | libvips | vs naive | vs libvips "
            "| peak MB ours / naive / libvips |"
        )
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        print(
            f"| {cases[0].label} | 256 px thumbnail | {_ms(thumb['naive_thumb'])} | "
            f"{_ms(thumb['ours_thumb'])} | {_ms(thumb.get('vips_thumb'))} | "
            f"{_ratio(thumb['ours_thumb'], thumb['naive_thumb'])} | "
            f"{_ratio(thumb['ours_thumb'], thumb.get('vips_thumb'))} | |"
        )
        print(
            f"\nWorst ratio: {worst_naive:.2f}x naive, {worst_vips:.2f}x libvips (target ≤ 1.00x)"
        )
        if before_rows and earlier:
            print(f"\nSame rounds, `prepare` of {earlier.about.split('from ')[-1]}:\n")
            print("| photo | preset | earlier code | this code | this / earlier |")
            print("|---|---|---|---|---|")
            print("\n".join(before_rows))

        growth = 0.0
        if not args.no_batch:
            jpegs = [c.path for c in cases[:3]]
            rate_small, rss_small = run_batch(jpegs, args.batch, args.workers)
            rate_big, rss_big = run_batch(jpegs, args.big_batch, args.workers)
            growth = rss_big / rss_small - 1
            print(
                f"Batch, Standard, 12 MP JPEGs on {args.workers} processes: {args.batch} photos "
                f"at {rate_small:.1f}/s, peak RSS {rss_small / 1e6:.0f} MB; {args.big_batch} "
                f"photos at {rate_big:.1f}/s, peak RSS {rss_big / 1e6:.0f} MB "
                f"({growth * 100:+.1f} %, target ≤ 15 %)"
            )
        ok = worst_naive <= 0.5 and (not pyvips or worst_vips <= 1.0) and growth <= 0.15
        return 0 if ok else 1
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
