"""Cold start of the window: process start until the window is shown and its event loop idle.

Run: ``.venv/bin/python -m tests.benchmarks.bench_startup [--runs 10]`` (offscreen unless a
display is set). Each run is a fresh process (``tests/benchmarks/startup_probe.py``: the real
``maxupload --sandbox`` start-up, in demo mode with a fresh home folder); the baseline is a bare
``python -c pass`` measured in the same rounds. Target: 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time_until_ready(
    cmd: list[str], env: dict[str, str], marker: str | None, cwd: Path | None = None
) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    ready = None
    if marker is None:
        proc.wait()
        ready = time.perf_counter() - start
    else:
        for line in proc.stdout:
            if line.decode().strip() == marker:
                ready = time.perf_counter() - start
                break
        proc.wait(timeout=60)
    if ready is None:
        raise SystemExit(f"{cmd} never reported {marker}")
    return ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_startup")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also start the maxupload package found in DIR (an earlier source tree) in the "
        "same rounds",
    )
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parents[2]  # this tree: the probe module comes from here
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    window: list[float] = []
    bare: list[float] = []
    earlier: list[float] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="maxupload-bench-start-") as home:
            env["MAXUPLOAD_HOME"] = home
            bare.append(_time_until_ready([sys.executable, "-c", "pass"], env, None))
            cmd = [sys.executable, "-m", "tests.benchmarks.startup_probe"]
            window.append(_time_until_ready(cmd, env, "READY"))
            if args.baseline:
                base_env = dict(env, PYTHONPATH=str(here))
                earlier.append(_time_until_ready(cmd, base_env, "READY", cwd=args.baseline))
    print(f"Window cold start, {args.runs} runs, {os.cpu_count()} cores:\n")
    print("| measure | median | slowest | target |")
    print("|---|---|---|---|")
    print(
        f"| `maxupload --sandbox`: process start to window shown, event loop idle "
        f"| {statistics.median(window):.2f} s | {max(window):.2f} s | <= 1.5 s |"
    )
    if earlier:
        print(
            f"| same, code from {args.baseline} | {statistics.median(earlier):.2f} s "
            f"| {max(earlier):.2f} s | |"
        )
    print(
        f"| bare `python -c pass` (same rounds) | {statistics.median(bare):.2f} s "
        f"| {max(bare):.2f} s | |"
    )
    return 0 if max(window) <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
