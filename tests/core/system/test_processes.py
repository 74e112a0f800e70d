"""Size estimates and photo checks in worker processes: the same answers as in this thread, the
same exceptions for bad files, a dead worker costs no answer, and the processes run lowered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.checks.photo import read_facts
from maxupload.core.imaging.estimate import estimate_size
from maxupload.core.imaging.formats import ImageRejected
from maxupload.core.system import processes
from maxupload.core.system.processes import PROCESS_NICE_STEP
from maxupload.core.system.worker_priority import NICE_STEP, thread_nice
from tests.plugins.images import photo, write_jpeg


@pytest.fixture
def in_processes() -> Iterator[None]:
    processes.start(1)
    try:
        yield
    finally:
        processes.stop()


def test_without_start_calls_run_in_this_process() -> None:
    assert not processes.running()
    assert processes.call(os.getpid) == os.getpid()


def test_estimates_and_checks_come_from_another_process_with_the_same_answer(
    in_processes: None, tmp_path: Path
) -> None:
    source = write_jpeg(tmp_path / "a.jpg", photo(2400, 1800, seed=5), orientation=6)
    assert processes.call(os.getpid) != os.getpid()
    assert processes.call(estimate_size, source, "standard") == estimate_size(source, "standard")
    assert processes.call(read_facts, source) == read_facts(source)


def test_a_bad_file_raises_the_same_error_as_here(in_processes: None, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    with pytest.raises(ImageRejected) as here:
        estimate_size(bad, "standard")
    with pytest.raises(ImageRejected) as there:
        processes.call(estimate_size, bad, "standard")
    assert there.value.reason == here.value.reason
    assert there.value.next_step == here.value.next_step


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_worker_process_that_dies_costs_no_answer(in_processes: None, tmp_path: Path) -> None:
    source = write_jpeg(tmp_path / "a.jpg", photo(1600, 1200, seed=2))
    child = processes.call(os.getpid)
    assert child != os.getpid()
    os.kill(child, signal.SIGKILL)  # killed (out of memory, say) between two photos
    # The next call is answered all the same (here, while the dead process is noticed) ...
    assert processes.call(estimate_size, source, "standard") == estimate_size(source, "standard")
    # ... and a new worker process takes the calls after it.
    pids = [processes.call(os.getpid) for _ in range(3)]
    assert pids[-1] not in (child, os.getpid())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_worker_processes_start_early_and_run_lowered(in_processes: None) -> None:
    base = thread_nice()
    assert base is not None
    processes.warm("maxupload.core.imaging.estimate")  # as the window does after its first paint
    assert processes.call(thread_nice) == min(19, base + PROCESS_NICE_STEP)
    assert PROCESS_NICE_STEP > NICE_STEP  # below the window's worker threads too


CRASHING_WINDOW = """
import os, signal, sys
from maxupload.core.system import processes

if __name__ == "__main__":
    processes.start(1)
    print(processes.call(os.getpid), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing is shut down
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_worker_process_ends_when_the_window_dies(tmp_path: Path) -> None:
    script = tmp_path / "crashing_window.py"
    script.write_text(CRASHING_WINDOW)
    out = tmp_path / "out.txt"
    with out.open("w") as sink:  # a file, not a pipe: a worker left running would hold a pipe
        subprocess.run([sys.executable, str(script)], stdout=sink, timeout=120, check=False)
    child = int(out.read_text().split()[0])
    deadline = time.monotonic() + 30
    while alive(child):
        assert time.monotonic() < deadline, "the worker process outlived the window"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
