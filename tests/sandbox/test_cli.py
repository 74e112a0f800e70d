"""``maxupload sandbox`` as a real process: prints what to paste, serves, refuses remote hosts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def sandbox_process() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maxupload", "sandbox", "--port", "0", "--rate-limit", "50",
         "--burst-429", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=REPO,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _read_banner(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            return "".join(lines)
    raise AssertionError(
        "no banner: " + "".join(lines) + (proc.stderr.read() if proc.stderr else "")
    )


def test_cli_prints_url_key_ids_and_a_ready_upload_command(
    sandbox_process: subprocess.Popen[str],
) -> None:
    banner = _read_banner(sandbox_process)
    base = re.search(r"Base URL:\s+(http://127\.0\.0\.1:\d+/v3)", banner)
    key = re.search(r"Demo key:\s+(max_dev_ak_[0-9a-f]{32})", banner)
    org = re.search(r"Organization:\s+(\S+)", banner)
    note = re.search(r"Open note:\s+(nte_[0-9a-f]{32})", banner)
    provider = re.search(r"Provider:\s+(prv_[0-9a-f]{32})", banner)
    assert base and key and org and note and provider, banner
    command = re.search(r"MAXUPLOAD_API_KEY=\S+ .*maxupload upload .*photo\.jpg", banner)
    assert command, banner
    for value in (base[1], org[1], note[1], provider[1]):
        assert value in command[0]
    headers = {"Authorization": f"Bearer {key[1]}", "X-Organization-Id": org[1]}
    with httpx.Client(base_url=base[1], headers=headers) as client:
        burst = client.get(f"/notes/{note[1]}")  # --burst-429 1
        assert burst.status_code == 429
        r = client.get(f"/notes/{note[1]}")
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == "50"


def test_cli_refuses_a_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "maxupload", "sandbox", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert result.stdout == ""
