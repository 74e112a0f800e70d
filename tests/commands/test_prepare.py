"""``maxupload prepare``: exact upload bytes on disk, one answer per file, honest exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.imaging.prepare import prepare
from tests.plugins.images import photo, write_alpha_png, write_heic, write_jpeg

REPO = Path(__file__).parents[2]


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_mixed_folder_json_exit_1_and_exact_bytes(
    mixed_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    before = _tree(mixed_folder)

    code = main(["prepare", "--json", "--out", str(out), str(mixed_folder)])

    captured = capsys.readouterr()
    records = {Path(str(r["file"])).name: r for r in _json_lines(captured.out)}
    assert code == 1
    assert set(records) == {
        "wound.jpg",
        "IMG_0003.HEIC",
        "diagram.png",
        "cut.jpg",
        "empty.jpg",
        "notes.jpg",
    }
    for name in ("cut.jpg", "empty.jpg", "notes.jpg"):
        assert records[name]["status"] == "rejected"
        assert records[name]["reason"] and records[name]["next_step"]
    heic = records["IMG_0003.HEIC"]
    assert heic["status"] == "prepared" and heic["mime_type"] == "image/jpeg"
    assert "converted HEIC to JPEG" in heic["changes"]  # type: ignore[operator]
    assert "GPS location" in heic["removed_metadata"]  # type: ignore[operator]
    assert {"size_before", "size_after", "width", "height", "output"} <= set(heic)
    assert records["diagram.png"]["mime_type"] == "image/png"
    for name in ("wound.jpg", "IMG_0003.HEIC", "diagram.png"):
        output = Path(str(records[name]["output"]))
        assert output.parent == out
        assert output.read_bytes() == prepare(mixed_folder.rglob(name).__next__()).data
    assert "3 prepared, 3 rejected" in captured.err
    assert _tree(mixed_folder) == before, "inputs must never change"


def test_all_usable_exit_0_human_lines(
    images_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_jpeg(images_dir / "a.jpg", photo(640, 480), orientation=6)
    write_heic(images_dir / "b.heic", photo(320, 240))
    shutil.copyfile(images_dir / "a.jpg", images_dir / "a copy.jpg")
    (images_dir / ".DS_Store").write_bytes(b"junk")

    code = main(["prepare", "--preset", "small", "--out", str(tmp_path / "out"), str(images_dir)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    # "a copy.jpg" sorts before "a.jpg", so it is the first of the two identical files.
    assert lines[0].startswith("OK ") and "480x640" in lines[0] and "rotated 90°" in lines[0]
    assert lines[1].startswith("DUPLICATE ") and "a.jpg: same content as" in lines[1]
    assert lines[2].startswith("OK ") and "converted HEIC to JPEG" in lines[2]
    assert lines[3] == (
        f"2 prepared, 0 rejected, 1 duplicate, 1 system files skipped (preset small) -> "
        f"{tmp_path / 'out'}"
    )
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_never_overwrites_and_never_collides(
    images_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jpeg(images_dir / "a.jpg", photo(64, 48))
    expected = prepare(path)
    out = tmp_path / "out"
    out.mkdir()
    users_file = out / expected.file_name
    users_file.write_bytes(b"the user's own file")

    assert main(["prepare", "--json", "--out", str(out), str(path)]) == 0
    first = _json_lines(capsys.readouterr().out)[0]
    assert users_file.read_bytes() == b"the user's own file"
    written = Path(str(first["output"]))
    assert written.name == expected.file_name.replace(".jpg", "-2.jpg")
    assert written.read_bytes() == expected.data

    assert main(["prepare", "--json", "--out", str(out), str(path)]) == 0  # again: reused
    again = _json_lines(capsys.readouterr().out)[0]
    assert again["output"] == first["output"]
    assert sorted(p.name for p in out.iterdir()) == sorted([users_file.name, written.name])


def test_writes_only_inside_out_and_skips_out_when_inside_input(
    images_dir: Path, tmp_path: Path, app_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is written outside --out (the app's own log folder aside)."""
    write_jpeg(images_dir / "a.jpg", photo(64, 48))
    write_alpha_png(images_dir / "b.png", (64, 48))
    out = images_dir / "prepared"

    def outside() -> set[Path]:
        return {p for p in tmp_path.rglob("*") if not {out, app_home} & {p, *p.parents}}

    outside_before = outside()

    assert main(["prepare", "--out", str(out), str(images_dir)]) == 0
    assert main(["prepare", "--out", str(out), str(images_dir)]) == 0  # outputs not re-read
    capsys.readouterr()

    assert outside() == outside_before
    assert len(list(out.iterdir())) == 2


def test_unicode_and_long_names_get_neutral_outputs(
    images_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "Müller_Jürgen_照片_" + "x" * 180 + ".jpg"
    write_jpeg(images_dir / name, photo(64, 48))
    assert main(["prepare", "--json", "--out", str(tmp_path / "out"), str(images_dir)]) == 0
    (record,) = _json_lines(capsys.readouterr().out)
    assert record["file"] == str(images_dir / name)
    assert Path(str(record["output"])).name.startswith("photo-")
    assert "Müller" not in str(record["output"])


def test_usage_errors_exit_2(images_dir: Path, tmp_path: Path) -> None:
    path = write_jpeg(images_dir / "a.jpg", photo(64, 48))
    with pytest.raises(SystemExit) as bad_preset:
        main(["prepare", "--preset", "huge", "--out", str(tmp_path / "o"), str(path)])
    assert bad_preset.value.code == 2
    with pytest.raises(SystemExit) as no_out:
        main(["prepare", str(path)])
    assert no_out.value.code == 2
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert main(["prepare", "--out", str(not_a_folder), str(path)]) == 2
    assert not_a_folder.read_text() == "x"


def test_command_line_process_exit_code(images_dir: Path, tmp_path: Path) -> None:
    write_jpeg(images_dir / "a.jpg", photo(64, 48))
    (images_dir / "b.jpg").write_text("not a photo")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "maxupload",
            "prepare",
            "--out",
            str(tmp_path / "o"),
            str(images_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 1, done.stderr
    assert "REJECTED" in done.stdout and "b.jpg" in done.stdout
    assert "1 prepared, 1 rejected" in done.stdout


def test_a_folder_with_no_photos_is_not_a_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "visit"
    (folder / "empty").mkdir(parents=True)
    (folder / ".DS_Store").write_bytes(b"junk")

    code = main(["prepare", "--out", str(tmp_path / "out"), str(folder)])

    assert code == 1
    assert "no photos found" in capsys.readouterr().err
