"""How long a new drop waits for its thumbnails while stored copies download slowly.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_drop_during_downloads.py \
        [--latency-ms 8000] [--photos 4] [--shared-pool]

The demo window uploads two photos; then every signed link takes ``--latency-ms`` to come back
(a slow network or the rate limit) while the user looks at both stored copies and drops
``--photos`` new photos. Printed: seconds from the drop until the new rows are listed and until
their thumbnails show. ``--shared-pool`` runs the stored-copy downloads on the image pool, as
before they had their own, for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtWidgets import QApplication


def wait(app: QApplication, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.005)


def slow_requests(server: object) -> int:
    """Requests the sandbox is holding back (the injected latency)."""
    log = server.request_log()  # type: ignore[attr-defined]
    return sum(1 for r in log if r.get("fault") == "latency" and r.get("status") is None)


def drop(window: object, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.drop_zone.handle_mime(mime)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=8000)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--shared-pool", action="store_true")
    args = parser.parse_args(argv)

    from tests.plugins.images import photo, write_jpeg

    with tempfile.TemporaryDirectory(prefix="maxupload-bench-") as tmp:
        os.environ["MAXUPLOAD_HOME"] = str(Path(tmp) / "home")
        from maxupload.app import build_demo
        from maxupload.gui.target_panel import DATA_ROLE

        app = QApplication.instance() or QApplication(sys.argv[:1])
        ctx = build_demo()
        window = ctx.window
        if args.shared_pool:
            window.preview._net_pool = ctx.image_pool
        try:
            ctx.start()
            server = ctx.demo_server
            first = [
                write_jpeg(Path(tmp) / f"first-{i}.jpg", photo(1600, 1200, seed=i + 1))
                for i in range(2)
            ]
            drop(window, first)
            wait(app, lambda: window.model.rowCount() == 2)
            target = window.target
            target.search.setText("Rivera")
            target.run_search()
            wait(app, lambda: target.patients.count() > 0)
            target.patients.setCurrentRow(0)
            wait(app, lambda: target.notes.count() > 0)
            for i in range(target.notes.count()):
                if target.notes.item(i).data(DATA_ROLE).id == server.demo.open_note_id:
                    target.notes.setCurrentRow(i)
            wait(app, lambda: target.current_provider() is not None)
            window.banner.confirm_box.click()
            window.upload()
            wait(app, lambda: all(r.state == "verified" for r in window.model.rows()))

            server.set_faults(
                latency_ms=args.latency_ms, paths=("*/url", "/_s3/*"), methods=("GET",)
            )
            for n, row in enumerate((1, 0), start=1):  # the user looks at both stored copies
                window.select_row(row)
                wait(app, lambda n=n: slow_requests(server) >= n)  # type: ignore[misc]
            new = [
                write_jpeg(Path(tmp) / f"new-{i}.jpg", photo(3000, 2000, seed=i + 10))
                for i in range(args.photos)
            ]
            start = time.perf_counter()
            drop(window, new)
            wait(app, lambda: window.model.rowCount() == 2 + len(new))
            listed = time.perf_counter() - start
            wait(app, lambda: all(window.model.thumbnail_for(p) is not None for p in new))
            thumbs = time.perf_counter() - start
            pool = "shared image pool" if args.shared_pool else "own network pool"
            print(
                f"stored copies on the {pool}, links {args.latency_ms} ms: "
                f"{len(new)} photos listed after {listed:.2f} s, thumbnails after {thumbs:.2f} s"
            )
            server.set_faults(latency_ms=0, paths=None, methods=None)
        finally:
            window._force_close = True
            window.close()
            ctx.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
