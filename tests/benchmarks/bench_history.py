"""Upload history benchmark: what recording costs each queue change, and a year of searching.

Run: ``.venv/bin/python -m tests.benchmarks.bench_history [--photos N]``. Not part of the test
run. Records each photo's usual walk (queued, preparing, ready, uploading, synced, verified)
into a fresh history file, as the engine's workers do, then searches the whole history, one
MRN and one day, and exports it as CSV and JSON. Prints the median time per recorded change
(each is one committed SQLite transaction) and the search and export times.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from maxupload.core.history.export import to_csv, to_json
from maxupload.core.history.store import HistoryStore
from maxupload.core.queue.model import ItemState, QueueItem

WALK = (
    ItemState.QUEUED,
    ItemState.PREPARING,
    ItemState.READY,
    ItemState.UPLOADING,
    ItemState.SYNCED,
    ItemState.VERIFIED,
)


def _timed(label: str, fn: object) -> object:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    print(f"{label}: {(time.perf_counter() - start) * 1000:.0f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000, help="photos to record (default 2000)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="maxupload-bench-history-"))
    history = HistoryStore(folder / "history.sqlite3")
    now = time.time()
    base = QueueItem(
        id=0,
        source_path="/media/card/DCIM/IMG_0000.JPG",
        file_name="IMG_0000.JPG",
        size_original=3_500_000,
        sha256_original="0" * 64,
        org_id="org_bench",
        note_id="nte_0",
        provider_id="prv_1",
        patient_label="Doe, Jane (MRN 0, DOB 1980-01-02)",
        base_url="https://api.maxcare.ai/v3",
        preset="standard",
        state=ItemState.QUEUED,
        created_at=now,
        updated_at=now,
    )
    per_change: list[float] = []
    for n in range(args.photos):
        queued = now - (args.photos - n) * 600  # one photo every ten minutes, back in time
        item = dataclasses.replace(
            base, id=n + 1, note_id=f"nte_{n // 5}", created_at=queued, updated_at=queued
        )
        for state in WALK:
            snapshot = dataclasses.replace(item, state=state, image_id=f"img_{n}")
            start = time.perf_counter()
            history.record(snapshot)
            per_change.append(time.perf_counter() - start)
    per_change.sort()
    p95 = per_change[int(len(per_change) * 0.95)]
    print(
        f"{len(per_change)} recorded changes: median {statistics.median(per_change) * 1000:.2f}"
        f" ms, 95th percentile {p95 * 1000:.2f} ms"
    )
    everything = _timed(f"search all {args.photos} photos", history.search)
    _timed("search one note", lambda: history.search(note="nte_3"))
    _timed("search one day", lambda: history.search(since=date.today(), until=date.today()))
    _timed("CSV export of all", lambda: to_csv(everything))  # type: ignore[arg-type]
    _timed("JSON export of all", lambda: to_json(everything))  # type: ignore[arg-type]
    history.close()
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"history file: {size / 1024 / 1024:.1f} MiB for {args.photos} photos")


if __name__ == "__main__":
    main()
