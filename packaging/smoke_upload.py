"""Upload smoke test of a built MaxUpload: its own sandbox, its own command line, one photo.

    python packaging/smoke_upload.py <path to the built maxupload executable> [--work DIR]

Starts ``<exe> sandbox --port 0``, reads the demo clinic it prints, draws a camera-sized JPEG
whose file name carries a patient's name, sends it with ``<exe> upload`` (key in
``MAXUPLOAD_API_KEY``, never on the command line), then checks ``GET /_sandbox/uploads``: one
upload, on the right note, provider and organization, renamed to a neutral file name, and the
key in no output. Exits 0 when all hold. Needs Pillow (the build's .venv has it). Used by
``packaging/linux/smoke.sh`` and by CI on Windows and macOS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FIELDS = {
    "base_url": "Base URL",
    "key": "Demo key",
    "org": "Organization",
    "note": "Open note",
    "provider": "Provider",
}


def start_sandbox(
    exe: str, log_path: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start the bundled sandbox and wait until it has printed its demo clinic."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [exe, "sandbox", "--port", "0"], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "Press Ctrl-C" in text or "Upload a photo" in text:
            found = {}
            for key, label in FIELDS.items():
                match = re.search(rf"^\s*{re.escape(label)}:\s*(\S+)", text, re.MULTILINE)
                if match:
                    found[key] = match.group(1)
            missing = [FIELDS[k] for k in FIELDS if k not in found]
            if missing:
                raise SystemExit(f"FAIL: the sandbox did not print {', '.join(missing)}:\n{text}")
            return proc, found
        if proc.poll() is not None:
            raise SystemExit(f"FAIL: the sandbox exited with {proc.returncode}:\n{text}")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("FAIL: the sandbox did not start within 60 s")


def draw_photo(path: Path) -> None:
    from PIL import Image

    width, height = 1600, 1200
    image = Image.new("RGB", (width, height))
    image.putdata(
        [
            ((x * 255) // width, (y * 255) // height, 140)
            for y in range(height)
            for x in range(width)
        ]
    )
    image.save(path, "JPEG", quality=90)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exe", help="the built maxupload executable (maxupload-cli.exe on Windows)")
    parser.add_argument("--work", help="folder for the photo, logs and MAXUPLOAD_HOME")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="maxupload-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MAXUPLOAD_HOME": str(work / "home")}
    env.pop("MAXUPLOAD_API_KEY", None)

    proc, demo = start_sandbox(args.exe, work / "sandbox.log", env)
    try:
        root_url = re.sub(r"/v\d+$", "", demo["base_url"])
        print(f"   sandbox at {demo['base_url']} (organization {demo['org']}, note {demo['note']})")
        photo = work / "Rivera_Maria_left_forearm.jpg"
        draw_photo(photo)
        upload = subprocess.run(
            [
                args.exe,
                "upload",
                "--base-url",
                demo["base_url"],
                "--org",
                demo["org"],
                "--note",
                demo["note"],
                "--provider",
                demo["provider"],
                "--yes",
                str(photo),
            ],
            env={**env, "MAXUPLOAD_API_KEY": demo["key"]},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = upload.stdout + upload.stderr
        print("\n".join(f"   {line}" for line in output.splitlines()))
        if upload.returncode != 0:
            raise SystemExit(f"FAIL: maxupload upload exited {upload.returncode}")
        if demo["key"] in output:
            raise SystemExit("FAIL: the API key appeared in the upload output")
        with urllib.request.urlopen(f"{root_url}/_sandbox/uploads", timeout=30) as answer:
            uploads = json.load(answer)["uploads"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    if len(uploads) != 1:
        raise SystemExit(f"FAIL: expected 1 upload in the sandbox, found {len(uploads)}")
    got = uploads[0]
    expected = {
        "noteId": demo["note"],
        "providerId": demo["provider"],
        "orgId": demo["org"],
        "mimeType": "image/jpeg",
    }
    problems = [f"{k} is {got.get(k)!r}, not {v!r}" for k, v in expected.items() if got.get(k) != v]
    if "Rivera" in str(got.get("fileName", "")):
        problems.append(f"file name {got['fileName']!r} still carries the patient's name")
    if problems:
        raise SystemExit("FAIL: " + "; ".join(problems))
    print(
        f"   sandbox has it: {got['fileName']} {got['size']} bytes, status {got['status']}, "
        f"note {got['noteId']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
