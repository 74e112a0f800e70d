"""What the photo checks add to staging: ``read_facts`` time per photo.

    .venv/bin/python -m tests.benchmarks.bench_checks [--repeat 5]

Writes a 4032x3024 JPEG (q90, about 2.3 MB) and a 12 MP HEIC (4032x3024, q80, less grain so
its size is a phone's, about 3 MB), each a generated photo with a demo wristband label spanning
30 % of its width and an EXIF capture time, and prints the median,
minimum and maximum of ``read_facts`` over the repetitions (after one warm-up call that loads
the codecs), plus the split between making the working copy and decoding the codes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from maxupload.core.checks import labels
from maxupload.core.checks.photo import read_facts
from maxupload.core.imaging.formats import open_image, register_heif
from maxupload.sandbox.demo_data import build_demo_data
from maxupload.sandbox.labels import label_for
from tests.plugins.images import photo


def _scene(folder: Path) -> list[Path]:
    register_heif()
    label = label_for(build_demo_data().patients[0])
    width = int(4032 * 0.3)
    label = label.resize((width, width * label.height // label.width), Image.Resampling.LANCZOS)
    label = label.rotate(5, expand=True, fillcolor=(190, 160, 140))
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2026:03:20 11:30:00", 0x9011: "-07:00"})
    jpeg, heic = folder / "photo.jpg", folder / "photo.heic"
    for path, noise, options in (
        (jpeg, 24.0, {"exif": exif}),
        (heic, 6.0, {"exif": exif.tobytes()}),
    ):
        base = photo(4032, 3024, seed=7, noise=noise)
        base.paste(label, (1100, 1000))
        base.save(path, "HEIF" if path == heic else "JPEG", quality=90 if path == jpeg else 80,
                  **options)  # fmt: skip
    return [jpeg, heic]


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up: codec libraries and zxing-cpp load once per process
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _line(name: str, ms: list[float]) -> str:
    return (
        f"{name:<34} median {statistics.median(ms):7.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for path in _scene(Path(tmp)):
            facts = read_facts(path)
            assert facts.codes and facts.captured_at, f"{path.name}: label or date not read"

            def copy(path: Path = path) -> Image.Image:
                with open_image(str(path)) as im:
                    return labels.working_copy(im)

            grey = copy()
            print(f"{path.name} ({path.stat().st_size / 1e6:.1f} MB), working copy {grey.size}:")
            print("  " + _line("read_facts", _times(lambda p=path: read_facts(p), args.repeat)))
            print("  " + _line("  working copy (decode + shrink)", _times(copy, args.repeat)))
            print(
                "  "
                + _line(
                    "  decode codes", _times(lambda g=grey: labels.decode_codes(g), args.repeat)
                )
            )


if __name__ == "__main__":
    main()
