"""Heavy reads of photos (size estimates, photo checks) in worker processes, off the window's GIL.

A 12 MP photo's estimate or check decodes it (70-100 ms of CPU). On threads, every return from
C code into Python needs Python's lock (the GIL), which the window's thread also needs for every
row it paints: while three workers decode on a 2-core machine the GUI thread waits for the
lock, and a busy machine stretches each wait (a lowered worker holding it waits for a core).
In processes the window's thread never waits for them, and the processes run at a lower
priority without that inversion.

The window turns this on (:func:`start`); until then, and in the command line, :func:`call`
runs the function in the calling thread. A call the processes cannot answer (the process died,
or the function raised: its exception may not survive pickling) runs again in the calling
thread, so the caller gets exactly the result or exception it would have had.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

from maxupload.core.system.worker_priority import lower_this_thread, nice_at_least, thread_nice

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Worker processes (each holds one decoded photo at a time). One: with two, a drop's first
#: screen of thumbnails (made on a worker thread) waited for a core (0.6-0.75 s in 3 of 6 runs).
WORKERS = 1
#: Linux: how much nicer the worker processes are than the window (its worker threads: +10).
PROCESS_NICE_STEP = 15

_lock = threading.Lock()
_pool: Executor | None = None
_workers = 0
#: Linux: the nice value of the worker processes (the window's own plus PROCESS_NICE_STEP).
_nice: int | None = None


class _Failed:
    """What a child sends back instead of an exception (which may not unpickle)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


def _child_init(nice: int | None) -> None:
    """In each worker process: yield the CPU to the window's thread and to its worker threads
    (the thumbnails of a drop's first screen come from those)."""
    if nice is None:
        lower_this_thread()
    else:
        nice_at_least(nice)
    parent = multiprocessing.parent_process()
    if parent is not None:  # the window crashed or was killed: never left running on its own
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: Any) -> None:
    parent.join()
    os._exit(0)


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except BaseException as exc:  # the caller runs it again itself, for the real exception
        return _Failed(type(exc).__name__)


def start(workers: int = WORKERS) -> None:
    """Run :func:`call` in up to ``workers`` processes from now on (started on first use)."""
    global _workers, _nice
    base = thread_nice()
    with _lock:
        _workers = max(1, workers)
        _nice = None if base is None else min(19, base + PROCESS_NICE_STEP)


def running() -> bool:
    """True when :func:`call` goes to worker processes."""
    return _workers > 0


def stop() -> None:
    """Stop the worker processes (waits for running calls); :func:`call` runs inline again."""
    global _pool, _workers
    with _lock:
        pool, _pool, _workers = _pool, None, 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _import_all(modules: tuple[str, ...]) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


def warm(*modules: str) -> None:
    """Start the worker processes now and import ``modules`` in each (the window calls this
    after its first paint, so a drop's first estimates do not wait for a process to start).

    Started from a short-lived thread at their low priority, which a new process inherits on
    Linux: the interpreter's start-up in them never competes with the window's thread.
    """

    def spawn() -> None:
        if _nice is not None:
            nice_at_least(_nice)
        pool = _executor()
        if pool is not None:
            with contextlib.suppress(RuntimeError):  # stopped meanwhile (the window closed)
                for _ in range(_workers):
                    pool.submit(_run, _import_all, (modules,))

    if _workers:
        threading.Thread(target=spawn, name="maxupload-start-processes", daemon=True).start()


def _executor() -> Executor | None:
    global _pool
    with _lock:
        if _workers and _pool is None:
            # "spawn": a fresh interpreter, safe beside the window's threads (fork is not).
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                _workers, mp_context=context, initializer=_child_init, initargs=(_nice,)
            )
        return _pool


def _discard(broken: Executor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def call(fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)``: in a worker process when started, else here. Blocks until done (call it
    from a worker thread, never the GUI thread). ``fn`` and ``args`` must pickle."""
    pool = _executor()
    if pool is None:
        return fn(*args)
    try:
        result = pool.submit(_run, fn, args).result()
    except RuntimeError as exc:  # stopped meanwhile, or a process died: a new pool next time
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            log.warning("a worker process stopped; reading the photo here instead")
            _discard(pool)
        return fn(*args)
    if isinstance(result, _Failed):
        return fn(*args)
    return result  # type: ignore[no-any-return]
