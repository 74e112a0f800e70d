"""Batch benchmark: ``maxupload upload`` of 12 phone photos against a naive resize + POST script.

Run: ``.venv/bin/python -m tests.benchmarks.bench_upload`` (``--help`` for options; about two
minutes on 2 cores). Not part of the test run. Both run as separate processes, whole process
timed (interpreter start, imports, reading the note, preparing, sending; for MaxUpload also the
queue and downloading every stored copy to verify it), against the same local sandbox, in
interleaved rounds; medians and each command's peak RSS are reported. The naive script is
``tests/benchmarks/naive_upload.py``. Target: MaxUpload at most 0.4x the naive time.

Peak memory and CPU come from the kernel's accounting of the finished process (``wait4``: the
largest resident size of the process or any child it waited for), so nothing runs beside the
command while it is timed. Earlier versions polled the process tree with psutil every 10 ms
from the process that also serves the sandbox: that poller took CPU and Python's lock from
the sandbox, and slowed a command that keeps both cores busy more than the naive script,
which keeps one. POSIX only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from maxupload.sandbox import SandboxConfig, SandboxServer
from tests.commands.test_upload import upload_args
from tests.plugins.images import write_realistic_photo

PHOTO_SIZE = (4032, 3024)


def _make(args: tuple[Path, int]) -> Path:
    path, seed = args
    if path.exists():
        return path
    return write_realistic_photo(path, PHOTO_SIZE, seed=seed, orientation=6)


class Run(NamedTuple):
    wall: float  # seconds
    peak: int  # bytes of RSS, the largest process
    cpu: float  # user + system seconds of the process (steadier than wall on a busy machine)


def run_timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    """Wall and CPU seconds and peak RSS of one command; fails loudly."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            raise SystemExit(f"{cmd[2:4]} failed ({proc.returncode}):\n{out.read().decode()}")
    # Linux counts ru_maxrss in KiB (macOS in bytes).
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return Run(elapsed, peak, usage.ru_utime + usage.ru_stime)


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
        runs: dict[str, list[Run]] = {"naive": [], "ours": [], "baseline": []}
        print(
            f"MaxUpload batch benchmark: {args.photos} photos {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}, "
            f"{args.rounds} interleaved rounds, {os.cpu_count()} cores",
            flush=True,
        )
        warm_env = dict(base_env, MAXUPLOAD_HOME=str(Path(tmp.name) / "home-warm-up"))
        run_timed(naive_cmd[: -len(files)] + files[:1], warm_env)
        run_timed(ours_cmd[: -len(files)] + files[:1], warm_env)
        if args.baseline:
            # Its own queue file: an older tree refuses a file of a newer queue schema.
            warm_base = dict(warm_env, MAXUPLOAD_HOME=str(Path(tmp.name) / "home-warm-up-base"))
            run_timed(ours_cmd[: -len(files)] + files[:1], warm_base, cwd=args.baseline)
        for r in range(args.rounds):
            home = Path(tmp.name) / f"home-{r}"  # a fresh queue and settings each round
            runs["naive"].append(run_timed(naive_cmd, dict(base_env, MAXUPLOAD_HOME=str(home))))
            runs["ours"].append(run_timed(ours_cmd, dict(base_env, MAXUPLOAD_HOME=str(home))))
            if args.baseline:
                env = dict(base_env, MAXUPLOAD_HOME=str(home) + "-baseline")
                runs["baseline"].append(run_timed(ours_cmd, env, cwd=args.baseline))
            line = ", ".join(
                f"{name} {done[-1].wall:.2f} s (CPU {done[-1].cpu:.2f} s)"
                for name, done in runs.items()
                if done
            )
            print(f"  round {r + 1}: {line}", flush=True)
        n = statistics.median(x.wall for x in runs["naive"])
        n_cpu = statistics.median(x.cpu for x in runs["naive"])
        o = statistics.median(x.wall for x in runs["ours"])
        print(
            "\n| batch of photos | naive resize + POST | `maxupload upload` | ratio "
            "| CPU ratio | target |"
        )
        print("|---|---|---|---|---|---|")
        rows = [("ours", f"{args.photos} x {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG, whole process")]
        if runs["baseline"]:
            rows.append(("baseline", f"same, code from {args.baseline}"))
        for name, title in rows:
            wall = statistics.median(x.wall for x in runs[name])
            cpu = statistics.median(x.cpu for x in runs[name])
            peak = max(x.peak for x in runs[name])
            print(
                f"| {title} | {n:.2f} s, peak {max(x.peak for x in runs['naive']) / 1e6:.0f} MB "
                f"| {wall:.2f} s, peak {peak / 1e6:.0f} MB (verified) | {wall / n:.2f}x "
                f"| {cpu / n_cpu:.2f}x | {'<= 0.40x' if name == 'ours' else ''} |"
            )
        if runs["baseline"]:
            # Paired by round (the two ran back to back), which a shifting load disturbs less.
            walls = [x.wall / b.wall for x, b in zip(runs["ours"], runs["baseline"], strict=True)]
            cpus = [x.cpu / b.cpu for x, b in zip(runs["ours"], runs["baseline"], strict=True)]
            print(
                f"\nthis tree / baseline, per round: wall {' '.join(f'{r:.2f}' for r in walls)} "
                f"(median {statistics.median(walls):.2f}), CPU median {statistics.median(cpus):.2f}"
            )
        return 0 if o / n <= 0.4 else 1
    finally:
        srv.stop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
