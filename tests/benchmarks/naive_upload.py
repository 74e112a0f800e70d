"""The baseline for ``bench_upload``: what a short script written in an afternoon would do.

For each photo, one after the other: open with Pillow, ``exif_transpose``, ``thumbnail`` to
2000 px (LANCZOS), save JPEG quality 85, POST it to the note as ``multipart/form-data`` with
httpx. No queue, no verification, no metadata receipt. Usage (the key comes from the
environment, as ``MAXUPLOAD_API_KEY``)::

    python -m tests.benchmarks.naive_upload BASE_URL ORG_ID NOTE_ID PROVIDER_ID PHOTO...
"""

from __future__ import annotations

import io
import os
import sys

import httpx
from PIL import Image, ImageOps


def main(argv: list[str]) -> int:
    base_url, org_id, note_id, provider_id, *photos = argv
    headers = {
        "Authorization": f"Bearer {os.environ['MAXUPLOAD_API_KEY']}",
        "X-Organization-Id": org_id,
    }
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for path in photos:
            im = ImageOps.exif_transpose(Image.open(path))
            im.thumbnail((2000, 2000), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=85)
            answer = client.post(
                f"/notes/{note_id}/images",
                params={"providerId": provider_id},
                files={"file": (os.path.basename(path), buf.getvalue(), "image/jpeg")},
            )
            answer.raise_for_status()
            print(path, answer.json()["data"]["id"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
