"""What the GUI thread was doing during its long stalls (benchmark instrumentation only).

A sampling thread reads the GUI thread's Python stack every millisecond
(``sys._current_frames``); after a run, the samples that fall inside each stall longer than a
threshold name the code behind it. A stall with samples sitting in the event loop's own call
(``processEvents``) was spent in Qt's C++ (layout, painting) or waiting for the GIL.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from types import FrameType
from typing import Any

ROOT_MARKERS = ("maxupload", "PySide6")


def _describe(frame: FrameType | None) -> str:
    """The innermost frame, with the innermost MaxUpload frame that led to it."""
    inner = None
    ours = None
    while frame is not None:
        code = frame.f_code
        where = f"{code.co_filename.rsplit('/', 2)[-1]}:{code.co_name}:{frame.f_lineno}"
        if inner is None:
            inner = where
        if ours is None and "/maxupload/" in code.co_filename:
            ours = where
        frame = frame.f_back
    if ours is None or ours == inner:
        return inner or "?"
    return f"{ours} -> {inner}"


class StallProbe:
    """Samples one thread's stack; call :meth:`report` with the stalls' time spans."""

    def __init__(self, thread_id: int, interval: float = 0.001) -> None:
        self.thread_id = thread_id
        self.interval = interval
        self.samples: list[tuple[float, str]] = []
        #: When the probe itself waited > 4 ms for the GIL: where the other threads were then.
        self.starved: list[tuple[float, float, list[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        asked = time.perf_counter()  # when the probe was due to run again
        while not self._stop.is_set():
            frames = sys._current_frames()
            now = time.perf_counter()
            self.samples.append((now, _describe(frames.get(self.thread_id))))
            if now - asked > 0.004:
                others = [_describe(f) for t, f in frames.items() if t not in (me, self.thread_id)]
                self.starved.append((asked, now, others))
            asked = time.perf_counter() + self.interval
            time.sleep(self.interval)  # returns only once this thread holds the GIL again

    def report(
        self, spans: list[tuple[float, float]], top: int = 3, origin: float = 0.0
    ) -> list[str]:
        """One line per stall span (start, end): its length, when it began (seconds after
        ``origin``) and its most sampled places."""
        lines = []
        for begin, end in spans:
            inside = Counter(s for t, s in self.samples if begin <= t <= end)
            total = sum(inside.values()) or 1
            parts = ", ".join(f"{n * 100 // total}% {s}" for s, n in inside.most_common(top))
            lines.append(
                f"{(end - begin) * 1000:6.1f} ms at {begin - origin:5.2f} s "
                f"({total} samples): {parts}"
            )
            held: Counter[str] = Counter()
            for a, b, others in self.starved:
                if a < end and b > begin:
                    for o in others:
                        held[o] += round((min(b, end) - max(a, begin)) * 1000)
            if held:
                busy = ", ".join(f"{ms} ms {o}" for o, ms in held.most_common(4))
                lines.append(f"         probe waited for the GIL; other threads then: {busy}")
        return lines


class EventSpy:
    """Records when the application delivers each Qt event (an application-wide event filter);
    the time to the next delivery is what handling that event took, at most."""

    def __init__(self, app: Any) -> None:
        from PySide6.QtCore import QObject

        events: list[tuple[float, str]] = []
        self.events = events

        class _Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                name = f"{event.type().name} to {type(obj).__name__}"
                events.append((time.perf_counter(), name))
                return False

        self._app = app
        self._filter = _Filter()
        app.installEventFilter(self._filter)

    def stop(self) -> None:
        self._app.removeEventFilter(self._filter)

    def report(
        self, begin: float, end: float, cpu_ms: float, origin: float = 0.0, over_ms: float = 0.7
    ) -> list[str]:
        """The stall (begin, end): its length, the GUI thread's own CPU in it, and every event
        delivered in it that took over ``over_ms``."""
        lines = [
            f"{(end - begin) * 1000:6.1f} ms at {begin - origin:5.2f} s, "
            f"GUI thread's own CPU {cpu_ms:5.1f} ms"
        ]
        inside = [e for e in self.events if begin - 0.001 <= e[0] <= end]
        for (at, name), (after, _) in zip(inside, [*inside[1:], (end, "")], strict=True):
            took = (after - at) * 1000
            if took > over_ms:
                lines.append(f"    {took:5.1f} ms {name}")
        return lines
