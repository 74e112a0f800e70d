"""Background worker threads yield the CPU to the window's own thread.

Decoding, resizing and hashing run on worker threads; on a 2-core machine three of them would
take the cores from the GUI thread, whose paints and model updates then wait. The window turns
this on once at start (:func:`yield_to_window`); every pool (the window's image pools, the
upload engine's workers, preparing ahead, the checks) calls :func:`worker_started` first thing
on its thread, which lowers that thread's scheduling priority. The command line never turns
it on: it has no window to keep responsive, and its batch keeps its full share of the machine.

Linux: nice is per thread there (``setpriority`` on the thread id). A worker takes the window's
own nice +10 as a value, before every job. It is not lowered one more step per job: Qt's pool
threads get a new Python thread state for each job, so a flag kept on the thread is forgotten,
and steps of +10 took them to 19, below the worker processes; the window's thread then waited
for Python's lock behind them.

Windows: the thread's priority is set below normal. macOS: the thread's quality of service
becomes "utility". Other systems, or a call the system refuses: the thread keeps its priority
(nothing else changes).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading

#: How much nicer (Linux) a background worker is than the window's thread.
NICE_STEP = 10
#: Windows ``THREAD_PRIORITY_BELOW_NORMAL``.
_WIN_BELOW_NORMAL = -1
#: macOS ``QOS_CLASS_UTILITY`` (sys/qos.h).
_MAC_QOS_UTILITY = 0x11

_enabled = threading.Event()
_local = threading.local()
#: Linux: the nice value workers take (the window's thread's own plus NICE_STEP).
_worker_nice: int | None = None


def yield_to_window(enabled: bool = True) -> None:
    """From now on, worker threads lower their priority when they start work (the window).
    Called on the window's thread: workers then run NICE_STEP nicer than it (Linux)."""
    global _worker_nice
    if enabled:
        base = thread_nice()
        _worker_nice = None if base is None else min(19, base + NICE_STEP)
        _enabled.set()
    else:
        _enabled.clear()


def yielding() -> bool:
    """True when workers lower their priority (the window runs in this process)."""
    return _enabled.is_set()


def worker_started() -> bool:
    """Call first thing on a worker thread: lowers it, when :func:`yield_to_window` is on, to
    the workers' priority (on Linux the window's nice + NICE_STEP, however often it is called).

    Cheap to call before every job. True when this thread runs lowered.
    """
    if not _enabled.is_set():
        return False
    target = _worker_nice
    if target is not None:
        return nice_at_least(target)
    if not getattr(_local, "lowered", False):
        _local.lowered = lower_this_thread()
    return bool(_local.lowered)


def lower_this_thread(nice_step: int = NICE_STEP) -> bool:
    """Lower the calling thread's scheduling priority (on Linux by ``nice_step``); True when the
    system accepted it."""
    try:
        if sys.platform.startswith("linux"):
            tid = threading.get_native_id()
            now = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, now + nice_step))
            return True
        if sys.platform == "win32":
            kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined,unused-ignore]
            kernel32.GetCurrentThread.restype = ctypes.c_void_p
            kernel32.SetThreadPriority.argtypes = [ctypes.c_void_p, ctypes.c_int]
            return bool(kernel32.SetThreadPriority(kernel32.GetCurrentThread(), _WIN_BELOW_NORMAL))
        if sys.platform == "darwin":
            libc = ctypes.CDLL("/usr/lib/libSystem.dylib")
            set_qos = libc.pthread_set_qos_class_self_np
            set_qos.argtypes = [ctypes.c_uint, ctypes.c_int]
            set_qos.restype = ctypes.c_int
            return set_qos(_MAC_QOS_UTILITY, 0) == 0
    except (OSError, AttributeError):
        pass
    return False


def nice_at_least(nice: int) -> bool:
    """Linux: make the calling thread at least this nice (never less nice than it is); True
    when it is now. Elsewhere: False (use :func:`lower_this_thread`)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, nice))
        return True
    except OSError:
        return False


def thread_nice() -> int | None:
    """The calling thread's nice value on Linux (None elsewhere); for tests and diagnostics."""
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    return None
