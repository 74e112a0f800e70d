"""How soon added photos are listed: rows saved at once and each photo read for the checks
afterwards (the window), against the checks read inline before anything is saved.

    .venv/bin/python tests/benchmarks/bench_staging.py [--photos 20] [--size 4000x3000]

Prints wall-clock seconds for each way; run on an otherwise idle machine. The figures only mean
something with the product's photo checks in place (they decode the photo and scan it for
barcodes); with empty checks, reading is free.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class _RestingEngine:
    """Staging needs no engine; the service is built with one that does nothing."""

    def recover(self) -> list[object]:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--size", default="4000x3000")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="maxupload-bench-staging-") as tmp_dir:
        tmp = Path(tmp_dir)
        os.environ["MAXUPLOAD_HOME"] = str(tmp / "home")
        sys.path.insert(0, str(ROOT))
        from maxupload.core.queue.store import QueueStore
        from maxupload.core.uploads import UploadService
        from tests.plugins.images import photo, write_jpeg

        folder = tmp / "photos"
        folder.mkdir()
        paths = [
            write_jpeg(folder / f"IMG_{i:04d}.jpg", photo(width, height, seed=i))
            for i in range(args.photos)
        ]
        for read_now in (False, True):
            with QueueStore(tmp / f"queue-{read_now}.sqlite3") as store:
                service = UploadService(store, _RestingEngine())  # type: ignore[arg-type]
                start = time.perf_counter()
                result = service.stage(paths, read_now=read_now)
                listed = time.perf_counter() - start
                start = time.perf_counter()
                for snap in result.photos:
                    service.read_facts_of(snap.id)
                later = time.perf_counter() - start
            how = "read inline" if read_now else "saved first"
            print(
                f"{how}: {args.photos} photos listed after {listed:.2f} s; "
                f"read for the checks afterwards in {later:.2f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
