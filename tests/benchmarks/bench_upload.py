"""Batch benchmark: ``maxupload upload`` of 12 phone photos against a naive resize + POST script.

Run: ``.venv/bin/python -m tests.benchmarks.bench_upload`` (``--help`` for options; about two
minutes on 2 cores). Not part of the test run. Both run as separate processes, whole process
timed (interpreter start, imports, reading the note, preparing, sending; for MaxUpload also the
queue and downloading every stored copy to verify it), against the same local sandbox, in
interleaved rounds; medians and the peak RSS of each process tree are reported. The naive
script is ``tests/benchmarks/naive_upload.py``. Target: MaxUpload at most 0.4x the naive time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

from maxupload.sandbox import SandboxConfig, SandboxServer
from tests.commands.test_upload import upload_args
from tests.plugins.images import write_realistic_photo

PHOTO_SIZE = (4032, 3024)


def _make(args: tuple[Path, int]) -> Path:
    path, seed = args
    if path.exists():
        return path
    return write_realistic_photo(path, PHOTO_SIZE, seed=seed, orientation=6)


def run_timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, process tree) of one command; fails loudly."""
    start = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):
                for p in [proc, *proc.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            peak = max(peak, total)
            stop.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[2:4]} failed ({proc.returncode}):\n{out.decode()}\n{err.decode()}")
    return elapsed, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_upload")
    parser.add_argument("--photos", type=int, default=12, help="photos per batch (default 12)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--dir", type=Path, help="folder for the photos (default: temporary)")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also time the maxupload package found in DIR (e.g. an earlier release unpacked "
        "with 'git archive REV maxupload | tar -x -C DIR'), in the same interleaved rounds",
    )
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="maxupload-bench-upload-")
    folder = args.dir or Path(tmp.name) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [(folder / f"IMG_{i:04d}.JPG", 500 + i) for i in range(args.photos)]
    with ProcessPoolExecutor() as pool:
        files = [str(p) for p in pool.map(_make, wanted)]

    srv = SandboxServer(SandboxConfig()).start()
    try:
        demo = srv.demo
        base_env = dict(os.environ, MAXUPLOAD_API_KEY=demo.api_key, PYTHONUNBUFFERED="1")
        # Installed apps run from compiled bytecode: let both write it, in an untimed first run.
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        naive_cmd = [
            sys.executable,
            "-m",
            "tests.benchmarks.naive_upload",
            srv.base_url,
            demo.org_id,
            demo.open_note_id,
            demo.provider_id,
            *files,
        ]
        ours_cmd = [sys.executable, "-m", "maxupload", *upload_args(srv, "--yes", *files)]
        naive_t: list[float] = []
        ours_t: list[float] = []
        naive_m: list[int] = []
        ours_m: list[int] = []
        base_t: list[float] = []
        base_m: list[int] = []
        print(
            f"MaxUpload batch benchmark: {args.photos} photos {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}, "
            f"{args.rounds} interleaved rounds, {os.cpu_count()} cores",
            flush=True,
        )
        warm_env = dict(base_env, MAXUPLOAD_HOME=str(Path(tmp.name) / "home-warm-up"))
        run_timed(naive_cmd[: -len(files)] + files[:1], warm_env)
        run_timed(ours_cmd[: -len(files)] + files[:1], warm_env)
        if args.baseline:
            run_timed(ours_cmd[: -len(files)] + files[:1], warm_env, cwd=args.baseline)
        for r in range(args.rounds):
            home = Path(tmp.name) / f"home-{r}"  # a fresh queue and settings each round
            env = dict(base_env, MAXUPLOAD_HOME=str(home))
            t, m = run_timed(naive_cmd, env)
            naive_t.append(t)
            naive_m.append(m)
            t, m = run_timed(ours_cmd, env)
            ours_t.append(t)
            ours_m.append(m)
            line = f"  round {r + 1}: naive {naive_t[-1]:.2f} s, MaxUpload {ours_t[-1]:.2f} s"
            if args.baseline:
                env = dict(base_env, MAXUPLOAD_HOME=str(home) + "-baseline")
                t, m = run_timed(ours_cmd, env, cwd=args.baseline)
                base_t.append(t)
                base_m.append(m)
                line += f", baseline {t:.2f} s"
            print(line, flush=True)
        n, o = statistics.median(naive_t), statistics.median(ours_t)
        print("\n| batch of photos | naive resize + POST | `maxupload upload` | ratio | target |")
        print("|---|---|---|---|---|")
        print(
            f"| {args.photos} x {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG, whole process "
            f"| {n:.2f} s, peak {max(naive_m) / 1e6:.0f} MB "
            f"| {o:.2f} s, peak {max(ours_m) / 1e6:.0f} MB (verified) | {o / n:.2f}x | <= 0.40x |"
        )
        if base_t:
            b = statistics.median(base_t)
            print(
                f"| same, baseline from {args.baseline} | {n:.2f} s "
                f"| {b:.2f} s, peak {max(base_m) / 1e6:.0f} MB (verified) | {b / n:.2f}x | |"
            )
        return 0 if o / n <= 0.4 else 1
    finally:
        srv.stop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
