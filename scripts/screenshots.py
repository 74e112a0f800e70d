"""Make the README screenshots by driving the real window offscreen in demo mode.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

It picks a demo patient (the banner asks for the visit note), drops a folder of generated
photos, confirms the patient, uploads them, waits until each is verified, selects one so its
stored copy shows, then picks another patient and drops their photos (the earlier rows are
grouped apart), and saves PNGs of what the window shows; then, in a fresh demo window, a batch
with the patient's own wristband label (the banner's badge) and another patient's label (not
sent).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")

from PIL import Image, ImageDraw, ImageFilter
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget


def clinical_photo(path: Path, seed: int, size: tuple[int, int] = (2400, 1800)) -> Path:
    """A made-up close-up: skin-toned surface, a reddish patch and a measuring scale."""
    rng = random.Random(seed)
    w, h = size
    base = (rng.randint(200, 230), rng.randint(150, 180), rng.randint(120, 150))
    img = Image.new("RGB", (w // 4, h // 4), base)
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rng.randint(0, w // 4), rng.randint(0, h // 4)
        r = rng.randint(10, 60)
        shade = tuple(max(0, min(255, c + rng.randint(-18, 12))) for c in base)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=shade)
    cx, cy = rng.randint(w // 12, w // 6), rng.randint(h // 12, h // 6)
    rx, ry = rng.randint(40, 90), rng.randint(30, 70)
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=(170, 70, 70))
    draw.ellipse((cx - rx // 2, cy - ry // 2, cx + rx // 3, cy + ry // 3), fill=(140, 45, 50))
    img = img.filter(ImageFilter.GaussianBlur(6)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    top = h - 160
    draw.rectangle((60, top, 60 + 1000, top + 90), fill=(245, 245, 240))
    for i in range(0, 101):
        x = 70 + i * 9.8
        length = 50 if i % 10 == 0 else (32 if i % 5 == 0 else 20)
        draw.line((x, top, x, top + length), fill=(30, 30, 30), width=3)
    noise = Image.effect_noise(size, 10).convert("RGB")
    img = Image.blend(img, noise, 0.04)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


class _NoItem:
    """Stands in for a list row that is not there yet."""

    @staticmethod
    def text() -> str:
        return ""


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state in time")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(widget: QWidget, path: Path) -> None:
    """Grab the widget and write a small PNG."""
    image = widget.grab().toImage()
    buf = io.BytesIO()
    from PySide6.QtCore import QBuffer, QIODevice

    qbuf = QBuffer()
    qbuf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(qbuf, "PNG")
    buf.write(bytes(qbuf.data()))
    buf.seek(0)
    rgb = Image.open(buf).convert("RGB")
    # 256 colours without dithering: sharp text, small files for the README.
    small = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, "PNG", optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def label_photo(path: Path, patient: dict[str, object], seed: int) -> Path:
    """A made-up close-up with the patient's printed wristband label lying on it."""
    from maxupload.sandbox.labels import label_for

    clinical_photo(path, seed=seed)
    with Image.open(path) as base:
        photo = base.convert("RGB")
    label = label_for(patient)
    width = int(photo.width * 0.6)
    label = label.resize((width, width * label.height // label.width), Image.Resampling.LANCZOS)
    mask = Image.new("L", label.size, 255).rotate(4, expand=True)
    photo.paste(label.rotate(4, expand=True), (photo.width // 3, photo.height // 6), mask)
    photo.save(path, "JPEG", quality=90)
    return path


#: The size of the README's main screenshots.
SIZE = (1280, 800)


def label_shots(app: QApplication, out: Path, tmp: Path) -> None:
    """06: Rivera's own wristband in her batch (badge); 07: Okafor's label in it (not sent)."""
    from maxupload.app import build_demo
    from maxupload.gui.target_panel import DATA_ROLE

    os.environ["MAXUPLOAD_HOME"] = str(tmp / "home-labels")
    ctx = build_demo()
    window = ctx.window
    try:
        ctx.start()
        window.resize(*SIZE)
        demo = ctx.demo_server.demo
        rivera, okafor = demo.patients[0], demo.patients[1]
        folder = tmp / "Labels"
        folder.mkdir()
        first = [label_photo(folder / "IMG_5001.JPG", rivera, seed=31)]
        first += [clinical_photo(folder / f"IMG_{5002 + i}.JPG", seed=40 + i) for i in range(2)]
        drop_files(window, first)
        wait_until(app, lambda: window.model.rowCount() == len(first))
        target = window.target
        target.search.setText("Rivera")
        target.run_search()
        wait_until(app, lambda: target.patients.count() > 0)
        target.patients.setCurrentRow(0)
        wait_until(app, lambda: target.notes.count() > 0)
        for i in range(target.notes.count()):
            if target.notes.item(i).data(DATA_ROLE).id == demo.open_note_id:
                target.notes.setCurrentRow(i)
        wait_until(app, lambda: target.current_provider() is not None)
        wait_until(app, lambda: window.banner.label_match.isVisible(), 120)
        window.select_row(0)
        wait_until(app, lambda: window.preview.local.has_image())
        settle(app, 1.0)
        save(window, out / "06-label-match.png")

        other = label_photo(folder / "IMG_5004.JPG", okafor, seed=33)
        drop_files(window, [other])
        wait_until(app, lambda: any(r.check_stop for r in window.model.rows()), 120)
        last = window.model.rowCount() - 1
        window.select_row(last)
        wait_until(app, lambda: window.preview.local.has_image())
        settle(app, 1.0)
        save(window, out / "07-label-mismatch.png")

        # A photo taken weeks before the visit: held until "Send photos from another day".
        note = window.banner.note
        visit = note.visit_datetime if note is not None else None
        if visit is not None:
            old = clinical_photo(folder / "IMG_4890.JPG", seed=35)
            exif = Image.Exif()
            taken = visit - timedelta(days=37)
            exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
            with Image.open(old) as im:
                im.convert("RGB").save(old, "JPEG", quality=90, exif=exif)
            drop_files(window, [old])
            wait_until(app, lambda: window.held_ack.isVisible(), 120)
            window.select_row(window.model.rowCount() - 1)
            wait_until(app, lambda: window.preview.local.has_image())
            settle(app, 1.0)
            save(window, out / "12-capture-date.png")
    finally:
        window._force_close = True
        window.close()
        ctx.shutdown()


def drop_files(window: QWidget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.drop_zone.handle_mime(mime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--dark", action="store_true", help="use a dark palette (checks contrast)")
    parser.add_argument("--size", default="1280x800", help="window size, e.g. 1024x700")
    parser.add_argument(
        "--only",
        default="",
        help="save only this shot (e.g. 03-verified) under --name, for extra sizes and palettes",
    )
    parser.add_argument("--name", default="", help="file name for --only (without .png)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    def shot(widget: QWidget, stem: str) -> None:
        if args.only and stem != args.only:
            return
        save(widget, args.out / f"{args.name or stem}.png")

    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="maxupload-shots-") as tmp:
        os.environ["MAXUPLOAD_HOME"] = str(Path(tmp) / "home")
        from maxupload.app import build_demo
        from maxupload.gui.drop_zone import DropZone
        from maxupload.gui.palettes import dark_palette
        from maxupload.gui.target_panel import DATA_ROLE

        app = QApplication.instance() or QApplication(sys.argv[:1])
        app.setStyle("Fusion")
        if args.dark:
            app.setPalette(dark_palette())
        app.setFont(QFont("DejaVu Sans", 10))
        ctx = build_demo()
        window = ctx.window
        try:
            ctx.start()
            window.resize(width, height)
            settle(app)
            shot(window, "01-start")

            demo = ctx.demo_server.demo
            target = window.target
            target.search.setText("Rivera")
            target.run_search()
            wait_until(app, lambda: target.patients.count() > 0)
            target.patients.setCurrentRow(0)
            wait_until(app, lambda: target.notes.count() > 0)
            settle(app)
            shot(window, "10-pick-the-note")
            for i in range(target.notes.count()):
                note = target.notes.item(i).data(DATA_ROLE)
                if note.id == demo.open_note_id:
                    target.notes.setCurrentRow(i)
            wait_until(app, lambda: target.current_provider() is not None)

            folder = Path(tmp) / "Visit photos"
            folder.mkdir()
            for i in range(args.photos):
                clinical_photo(folder / f"IMG_{4101 + i}.JPG", seed=i + 7)
            (folder / "notes.txt").write_text("not a photo\n")
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(folder))])
            assert DropZone.accepts(mime)
            window.drop_zone.handle_mime(mime)
            wait_until(app, lambda: window.model.rowCount() == args.photos)
            # Sizes are estimated for the rows on screen.
            wait_until(app, lambda: all(r.size_after for r in window.model.rows()[:4]))
            window.select_row(0)
            wait_until(app, lambda: window.preview.local.has_image())
            settle(app, 1.0)
            shot(window, "02-confirm-patient")

            window.banner.confirm_box.click()
            window.upload()
            wait_until(app, lambda: not window.model.staged_rows())
            wait_until(app, lambda: all(r.state == "verified" for r in window.model.rows()), 120)
            window.rejections.clear()  # the user has read the list of files not added
            window.select_row(2)
            wait_until(app, lambda: window.preview.stored.has_image())
            settle(app, 1.0)
            shot(window, "03-verified")

            # The EHR push fails for one more photo: the window asks the user, never re-sends.
            ctx.demo_server.set_faults(ehr_fail=1)
            # A copy of a picture already sent comes along: it is skipped, not sent twice.
            extra = clinical_photo(Path(tmp) / "IMG_4199.JPG", seed=99)
            copy = Path(tmp) / "IMG_4101 copy.JPG"
            copy.write_bytes((folder / "IMG_4101.JPG").read_bytes())
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(extra)), QUrl.fromLocalFile(str(copy))])
            window.drop_zone.handle_mime(mime)
            wait_until(app, lambda: len(window.model.staged_rows()) == 2)
            window.rejections.clear()
            window.banner.confirm_box.click()  # the last batch's confirmation ended with it
            window.upload()
            wait_until(
                app, lambda: any(r.state == "needs_decision" for r in window.model.rows()), 60
            )
            wait_until(app, lambda: any(r.is_skipped_copy for r in window.model.rows()), 60)
            failed = next(
                i for i, r in enumerate(window.model.rows()) if r.state == "needs_decision"
            )
            window.select_row(failed)
            window.table.scrollToBottom()
            wait_until(app, lambda: window.status_panel.error_panel.isVisible())
            settle(app, 1.0)
            shot(window, "05-needs-decision")

            # The next patient: the earlier rows are grouped apart, never sent under this banner.
            window.status_panel.show_error(None)
            target.search.setText("Okafor")
            target.run_search()
            wait_until(app, lambda: "Okafor" in (target.patients.item(0) or _NoItem()).text())
            target.patients.setCurrentRow(0)
            wait_until(app, lambda: target.notes.count() > 0)
            target.notes.setCurrentRow(0)
            wait_until(app, lambda: target.current_provider() is not None)
            okafor = Path(tmp) / "Okafor"
            okafor.mkdir()
            for i in range(2):
                clinical_photo(okafor / f"IMG_{4301 + i}.JPG", seed=i + 31)
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(okafor))])
            window.drop_zone.handle_mime(mime)
            wait_until(app, lambda: len(window.model.staged_rows()) == 2)
            window.banner.confirm_box.click()
            window.resize(SIZE[0], 1020)  # tall enough to show both groups' headers
            settle(app)
            window.select_row(window.model.rowCount() - 1)
            window.table.scrollToTop()
            wait_until(app, lambda: window.preview.local.has_image())
            settle(app, 1.0)
            shot(window, "11-grouped-rows")
            window.resize(*SIZE)

            ctx.open_settings()
            dialog = ctx.settings_dialog
            wait_until(app, lambda: "Checking" not in dialog.health.text())
            dialog.test_connection()
            wait_until(app, lambda: dialog.test_button.isEnabled())
            settle(app, 0.5)
            shot(dialog, "04-settings")
            dialog.close()
            if not args.only:
                label_shots(app, args.out, Path(tmp))
        finally:
            window._force_close = True
            window.close()
            ctx.shutdown()
            QGuiApplication.clipboard().clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
