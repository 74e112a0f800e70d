"""What grouping the photo list by patient costs the GUI thread.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_groups.py [--repeat 20]

A list already holds 50 photos queued for 5 notes (interleaved, so the first insert regroups
them); then 100 new photos are dropped. Printed: the time of that 100-row insert (with the
regrouping check), of sizing the header rows over the 150 rows, and of switching the banner's
note (every row repainted as "other" or not), median and worst of the repetitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QTableView

from maxupload.gui.photo_groups import GroupHeights
from maxupload.gui.photo_model import PhotoModel, PhotoRow


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    insert, heights, switch = [], [], []
    for _ in range(args.repeat):
        model = PhotoModel()
        table = QTableView()
        table.setModel(model)
        groups = GroupHeights(table, model)
        model.add_rows(
            [
                PhotoRow(
                    path=Path(f"/photos/q{i}.jpg"),
                    size_before=1,
                    item_id=i,
                    state="verified",
                    note_id=f"nte_{i % 5}",
                    target_label=f"Patient {i % 5}, Demo (MRN {i % 5})",
                )
                for i in range(50)
            ]
        )
        new = [PhotoRow(path=Path(f"/photos/{i}.jpg"), size_before=1) for i in range(100)]
        start = time.perf_counter()
        model.add_rows(new)
        insert.append(_ms(start))
        start = time.perf_counter()
        groups.apply()
        heights.append(_ms(start))
        start = time.perf_counter()
        model.set_current_note("nte_1")
        groups.apply()
        switch.append(_ms(start))
        table.deleteLater()
        app.processEvents()
    for name, values in (
        ("insert 100 rows (regroup check)", insert),
        ("size header rows (150 rows)", heights),
        ("switch the banner's note", switch),
    ):
        median, worst = statistics.median(values), max(values)
        print(f"{name:34s} median {median:6.2f} ms   worst {worst:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
