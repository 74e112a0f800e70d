"""Responsiveness of the window while 100 twelve-megapixel photos are dropped.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_gui.py [--runs 10]

Each run is a fresh process (a new window, a cold image cache); the summary gives every run's
figures and the targets: longest stall <= 33 ms in every run, first screen of thumbnails
<= 0.5 s, every thumbnail <= 3 s.

A 5 ms heartbeat timer on the GUI thread records every tick; a stall is the time between ticks
beyond the interval. Printed: the longest and the 99th-percentile stall (target: none over
50 ms), the time until the first screen of thumbnails shows, the time until every row's
thumbnail has been shown while scrolling down the list a page at a time as a user would, then
(from the top again) every estimated sent size (both are made lazily, for visible rows only),
and the time until the background work (every photo's checks) is done; then how long a full
collection of Python's cycle collector takes (it holds Python's lock while it runs).
Photos are generated once into a cache folder (``--photos-dir``) and reused.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEventLoop, QMimeData, QTimer, QUrl
from PySide6.QtWidgets import QApplication

HEARTBEAT_MS = 5


#: Distinct generated photos; the others are byte-level variants of these (a different JPEG
#: comment, so a different file and hash, with the same decoding work): generating 100 photos
#: one by one takes minutes on a busy machine.
DISTINCT = 10


def make_photos(folder: Path, count: int) -> list[Path]:
    from tests.plugins.images import insert_jpeg_segment, photo, write_phone_jpeg_with_thumbnail

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:04d}.JPG"
        if not path.exists():
            tmp = path.with_suffix(".part")
            if i < DISTINCT:
                # As phones write them: EXIF orientation and a 160 px EXIF thumbnail.
                im = photo(4000, 3000, seed=i + 1)
                write_phone_jpeg_with_thumbnail(tmp, im, orientation=6)
            else:
                base = (folder / f"IMG_{i % DISTINCT:04d}.JPG").read_bytes()
                tmp.write_bytes(insert_jpeg_segment(base, 0xFE, f"copy {i}".encode()))
            tmp.rename(path)
        paths.append(path)
    return paths


class Heartbeat:
    """Records the gaps between ticks of a short GUI-thread timer."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.ends: list[float] = []  # perf_counter() at the end of each gap
        self.cpu: list[float] = []  # ms of CPU the GUI thread itself used in each gap
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append((now - self._last) * 1000.0)
        self.ends.append(now)
        self.cpu.append((cpu - self._last_cpu) * 1000.0)
        self._last, self._last_cpu = now, cpu

    def long_gaps(self, over_ms: float) -> list[tuple[float, float]]:
        """(start, end) of every stall longer than ``over_ms``."""
        return [
            (end - gap / 1000.0, end)
            for gap, end in zip(self.gaps, self.ends, strict=True)
            if gap - HEARTBEAT_MS > over_ms
        ]

    def stalls(self) -> list[float]:
        return sorted(max(0.0, g - HEARTBEAT_MS) for g in self.gaps)


#: ``--poll-loop``: wait by calling ``processEvents`` and sleeping 1 ms in a Python loop (how this
#: benchmark waited before) instead of in Qt's own event loop, as the app does.
POLL_LOOP = False


def spin(app: QApplication, until: object, timeout: float) -> float:
    """Run the window's event loop until ``until()`` is true; seconds waited."""
    start = time.perf_counter()
    if POLL_LOOP:
        while not until():  # type: ignore[operator]
            if time.perf_counter() - start > timeout:
                raise TimeoutError("benchmark step timed out")
            app.processEvents()
            time.sleep(0.001)
        return time.perf_counter() - start
    loop = QEventLoop()
    timed_out: list[bool] = []

    def check() -> None:
        if until():  # type: ignore[operator]
            loop.quit()
        elif time.perf_counter() - start > timeout:
            timed_out.append(True)
            loop.quit()

    timer = QTimer()
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(check)
    timer.start()
    if not until():  # type: ignore[operator]
        loop.exec()  # blocks in Qt's event loop, Python's lock released, as in the app
    timer.stop()
    if timed_out:
        raise TimeoutError("benchmark step timed out")
    return time.perf_counter() - start


def one_run(args: argparse.Namespace) -> dict[str, float]:
    """One drop of the photo folder on a fresh window; the figures of this run."""
    photos = make_photos(args.photos_dir, args.photos)
    with tempfile.TemporaryDirectory(prefix="maxupload-bench-") as home:
        os.environ["MAXUPLOAD_HOME"] = home
        from maxupload.app import build_demo

        app = QApplication.instance() or QApplication(sys.argv[:1])
        ctx = build_demo()
        window = ctx.window
        model = window.model
        try:
            ctx.start()
            if os.environ.get("BENCH_SWITCH_INTERVAL"):  # experiments: the app's own value
                sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
            window.resize(1280, 800)
            spin(app, lambda: window.isVisible(), 10)
            settle_until = time.perf_counter() + 0.5
            spin(app, lambda: time.perf_counter() > settle_until, 5)
            spy = None
            if args.gaps:
                from tests.benchmarks.stall_probe import EventSpy

                spy = EventSpy(app)
            beat = Heartbeat()
            probe = None
            if args.why:
                import threading

                from tests.benchmarks.stall_probe import StallProbe

                probe = StallProbe(threading.get_ident())
                probe.start()
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(args.photos_dir))])
            listed: list[float] = []  # when the last row was listed, whatever is awaited then

            def on_rows(*_args: object) -> None:
                if not listed and model.rowCount() == len(photos):
                    listed.append(time.perf_counter())

            model.rowsInserted.connect(on_rows)
            beat.start()
            start = time.perf_counter()
            window.drop_zone.handle_mime(mime)
            drop_returned = time.perf_counter() - start
            table = window.table
            spin(app, lambda: model.rowCount() > 0, 300)
            first_rows = time.perf_counter() - start

            def visible_rows() -> list[int]:
                first = table.rowAt(0)
                last = table.rowAt(table.viewport().height() - 1)
                last = model.rowCount() - 1 if last < 0 else last
                return list(range(max(first, 0), last + 1))

            def visible_done() -> bool:
                return all(
                    model.has_thumbnail(model.row_at(i).path) and model.row_at(i).size_after
                    for i in visible_rows()
                )

            def visible_thumbs() -> bool:
                return all(model.has_thumbnail(model.row_at(i).path) for i in visible_rows())

            def screen_full() -> bool:
                """A screenful of rows is listed (or every row, when fewer)."""
                bottom = table.rowAt(table.viewport().height() - 1)
                return model.rowCount() == len(photos) or bottom >= 0

            spin(app, lambda: screen_full() and visible_thumbs(), 300)
            first_thumbs = time.perf_counter() - start
            spin(app, lambda: screen_full() and visible_done(), 300)
            first_screen = time.perf_counter() - start
            spin(app, lambda: bool(listed), 300)
            rows_shown = listed[0] - start
            bar = table.verticalScrollBar()

            def page_through(ready: Callable[[], bool]) -> float:
                """Scroll down a page at a time, each page once ``ready``; seconds since drop."""
                bar.setValue(0)
                while True:
                    spin(app, ready, 300)
                    if bar.value() >= bar.maximum():
                        return time.perf_counter() - start
                    bar.setValue(bar.value() + bar.pageStep())

            all_thumbs = page_through(visible_thumbs)
            all_sizes = page_through(visible_done)  # from the top again, for the sizes
            assert all(r.size_after for r in model.rows())
            spin(app, lambda: ctx.image_pool.pending() == 0, 600)
            all_work = time.perf_counter() - start  # the photo checks of every row included
            beat.timer.stop()
            # What a full collection of Python's cycle collector would hold the window up now
            # (it runs now and then, on whichever thread allocates, holding Python's lock).
            collect_start = time.perf_counter()
            gc.collect()
            full_collection = time.perf_counter() - collect_start
            if probe is not None:
                probe.stop()
                for line in probe.report(beat.long_gaps(args.why), origin=start):
                    print("WHY " + line, flush=True)
            if spy is not None:
                spy.stop()
                for gap, end, cpu in zip(beat.gaps, beat.ends, beat.cpu, strict=True):
                    if gap - HEARTBEAT_MS > args.gaps:
                        for line in spy.report(end - gap / 1000.0, end, cpu, origin=start):
                            print("WHY " + line, flush=True)
        finally:
            window._force_close = True
            window.close()
            ctx.shutdown()

    stalls = beat.stalls()
    return {
        "drop_ms": drop_returned * 1000,
        "first_rows_s": first_rows,
        "rows_s": rows_shown,
        "first_thumbs_s": first_thumbs,
        "first_screen_s": first_screen,
        "all_thumbs_s": all_thumbs,
        "all_sizes_s": all_sizes,
        "all_work_s": all_work,
        "ticks": float(len(beat.gaps)),
        "longest_ms": stalls[-1] if stalls else 0.0,
        "p99_ms": stalls[min(len(stalls) - 1, int(len(stalls) * 0.99))] if stalls else 0.0,
        "over_33": float(sum(1 for v in stalls if v > 33.0)),
        "full_gc_ms": full_collection * 1000,
    }


def summary(runs: list[dict[str, float]], photos: int, title: str) -> bool:
    """Print the table of ``runs``; True when every run met every target."""

    def col(key: str) -> list[float]:
        return [r[key] for r in runs]

    def rng(key: str, unit: str, scale: float = 1.0, digits: int = 1) -> str:
        values = [v * scale for v in col(key)]
        return (
            f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})"
        )

    met_stall = sum(1 for v in col("longest_ms") if v <= 33.0)
    met_first = sum(1 for v in col("first_thumbs_s") if v <= 0.5)
    met_all = sum(1 for v in col("all_thumbs_s") if v <= 3.0)
    n = len(runs)
    print(f"\nDropping {photos} x 12 MP photos on the window, {title}, {n} runs:\n")
    print("| measure | median (range) | target | runs meeting it |")
    print("|---|---|---|---|")
    print(f"| drop handler returns | {rng('drop_ms', 'ms')} | | |")
    print(f"| first rows listed | {rng('first_rows_s', 's', digits=2)} | | |")
    print(f"| all rows listed | {rng('rows_s', 's', digits=2)} | | |")
    print(f"| longest GUI-thread stall | {rng('longest_ms', 'ms')} | <= 33 ms | {met_stall}/{n} |")
    print(f"| 99th-percentile stall | {rng('p99_ms', 'ms')} | | |")
    print(
        f"| first screen of thumbnails | {rng('first_thumbs_s', 's', digits=2)} "
        f"| <= 0.5 s | {met_first}/{n} |"
    )
    print(f"| first screen of thumbnails and sizes | {rng('first_screen_s', 's', digits=2)} | | |")
    print(
        f"| every thumbnail (a page at a time) | {rng('all_thumbs_s', 's', digits=2)} "
        f"| <= 3 s | {met_all}/{n} |"
    )
    print(f"| every size estimate (from the top again) | {rng('all_sizes_s', 's', digits=2)} | | |")
    if all("full_gc_ms" in r for r in runs):  # runs of an earlier benchmark may not say
        print(f"| a full cycle collection, after the run | {rng('full_gc_ms', 'ms')} | | |")
    print(f"| every photo checked (labels, dates) | {rng('all_work_s', 's', digits=2)} | | |")
    return met_stall == met_first == met_all == n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MaxUpload window responsiveness benchmark")
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10, help="fresh-process runs (default 10)")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)  # maxupload from here
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also run the maxupload package found in DIR (an earlier source tree), "
        "alternating with this one",
    )
    parser.add_argument(
        "--why",
        type=float,
        metavar="MS",
        help="sample the GUI thread's stack and name what it ran in every stall over MS ms",
    )
    parser.add_argument(
        "--gaps",
        type=float,
        metavar="MS",
        help="for every stall over MS ms: the GUI thread's own CPU time in it (the rest was "
        "waiting for Python's lock or a core) and the Qt events that took longest",
    )
    parser.add_argument(
        "--poll-loop",
        action="store_true",
        help="wait in a Python loop (processEvents, then sleep 1 ms) instead of Qt's event loop "
        "(how earlier figures were measured)",
    )
    parser.add_argument(
        "--photos-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "maxupload-bench-12mp-phone",
    )
    args = parser.parse_args(argv)
    global POLL_LOOP
    POLL_LOOP = bool(args.poll_loop)
    if args.single:
        if args.code:
            sys.path.insert(0, str(args.code))
        print("RESULT " + json.dumps(one_run(args)), flush=True)
        return 0

    t0 = time.perf_counter()
    make_photos(args.photos_dir, args.photos)
    print(
        f"photos ready: {args.photos} x 12 MP in {args.photos_dir} "
        f"({time.perf_counter() - t0:.1f} s to generate or find); {args.runs} runs",
        flush=True,
    )
    runs: list[dict[str, float]] = []
    earlier: list[dict[str, float]] = []
    for n in range(args.runs * (2 if args.baseline else 1)):
        cmd = [sys.executable, __file__, "--single", "--photos", str(args.photos)]
        cmd += ["--photos-dir", str(args.photos_dir)]
        if args.why:
            cmd += ["--why", str(args.why)]
        if args.gaps:
            cmd += ["--gaps", str(args.gaps)]
        if args.poll_loop:
            cmd += ["--poll-loop"]
        is_baseline = bool(args.baseline) and n % 2 == 1
        if is_baseline:
            cmd += ["--code", str(args.baseline)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        result = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[7:])
        (earlier if is_baseline else runs).append(result)
        for line in out.splitlines():
            if line.startswith("WHY "):
                print("    " + line[4:], flush=True)
        print(
            f"  run {n + 1}{' (baseline)' if is_baseline else ''}: longest stall "
            f"{result['longest_ms']:.1f} ms, p99 "
            f"{result['p99_ms']:.1f} ms, first screen {result['first_thumbs_s']:.2f} s "
            f"(with sizes {result['first_screen_s']:.2f} s), "
            f"every thumbnail {result['all_thumbs_s']:.2f} s, every size "
            f"{result['all_sizes_s']:.2f} s, all checks {result['all_work_s']:.2f} s",
            flush=True,
        )

    met = summary(runs, args.photos, "this code")
    if earlier:
        summary(earlier, args.photos, f"code from {args.baseline}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
