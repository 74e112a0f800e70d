"""Render the app icon SVG to the PNG sizes and the Windows .ico that the installers ship.

Run after editing ``resources/icons/maxupload.svg``:
``QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py``. The PNGs are
committed so that builds need no renderer; macOS makes its ``.icns`` from them at build time.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "maxupload.svg"
#: The sizes hicolor themes, Windows and macOS ask for (macOS wants 16..512 and their @2x).
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(size: int) -> bytes:
    """Render the SVG into a transparent ``size`` x ``size`` PNG."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # stubs say bytes; PySide6 wants str
    buffer.close()
    return bytes(data.data())


def shrink_png(png: bytes) -> bytes:
    """Re-encode with Pillow's optimiser so the committed PNGs stay small."""
    from PIL import Image

    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as im:
        im.save(out, "PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    pngs: dict[int, bytes] = {}
    for size in SIZES:
        png = shrink_png(render_png(size))
        target = ICONS / f"{size}x{size}" / "maxupload.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
        pngs[size] = png
        print(f"{target.relative_to(ROOT)}  {len(png):>7} bytes")
    # One .ico holding every size, each rendered from the SVG (no blurry downscaling).
    frames = [Image.open(io.BytesIO(pngs[s])) for s in ICO_SIZES]
    ico = ICONS / "maxupload.ico"
    frames[-1].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=frames[:-1])
    print(f"{ico.relative_to(ROOT)}  {ico.stat().st_size:>7} bytes")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
