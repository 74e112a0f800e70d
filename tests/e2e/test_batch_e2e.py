"""The queue's "done when": 100 photos through a sandbox throwing 429s, 502s and dropped
connections, the uploader killed twice, and every photo ends verified or waiting for a decision
with its reason; none lost, none sent twice unasked; ``maxupload queue`` shows it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from maxupload.sandbox import SandboxServer
from tests.e2e.test_crash_safety import Uploader, make_photos

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]

COUNT = 100


@pytest.fixture
def uploader(sandbox: SandboxServer, app_home: Path, tmp_path: Path) -> Uploader:
    u = Uploader(sandbox, app_home, tmp_path / "logs")
    yield u  # type: ignore[misc]
    u.cleanup()


def test_hundred_photos_faults_and_two_kills(
    uploader: Uploader, sandbox: SandboxServer, tmp_path: Path
) -> None:
    make_photos(tmp_path / "batch", COUNT)
    # Faults are switched on one kind at a time while the uploader runs, so that two never
    # land on the same request.
    sandbox.set_faults(rate_limit_burst=3, retry_after_s=1)
    proc = uploader.upload(tmp_path / "batch")
    uploader.wait_for(proc, arrivals=5)
    sandbox.set_faults(ehr_fail=2)
    uploader.wait_for(proc, arrivals=12)
    sandbox.set_faults(drop_connection=2)
    uploader.kill_when(proc, arrivals=25)  # first crash

    sandbox.set_faults(rate_limit_burst=2)
    proc = uploader.start("queue", "resume", "--json")
    uploader.wait_for(proc, arrivals=35)
    sandbox.set_faults(ehr_fail=2)
    uploader.wait_for(proc, arrivals=45)
    sandbox.set_faults(drop_connection=2)
    uploader.kill_when(proc, arrivals=60)  # second crash

    sandbox.set_faults(rate_limit_burst=2)
    code, out = uploader.run("queue", "resume", "--json", timeout=120)
    assert code == 1, out  # some photos wait for a decision

    # What the user sees.
    code, listing = uploader.run("queue", "--json")
    assert code == 0
    records = [json.loads(line) for line in listing.splitlines() if line.startswith("{")]
    assert len(records) == COUNT
    assert len({r["file"] for r in records}) == COUNT  # every photo accounted for
    arrivals = Counter(u["sha256"] for u in sandbox.uploads())
    assert all(n == 1 for n in arrivals.values()), "a photo arrived twice without being asked"

    rows = {r.id: r for r in uploader.rows()}
    states = Counter(r["state"] for r in records)
    assert set(states) <= {"verified", "needs_decision"}, states
    codes = Counter(r["errorCode"] for r in records if r["state"] == "needs_decision")
    # Work out from the sandbox's own log what each upload request met: an answer lost
    # (dropped connection) or an EHR failure leaves one photo waiting for the user, unless the
    # uploader was killed first, in which case that photo is "interrupted".
    faults = [
        str(e.get("fault") or "")
        for e in sandbox.request_log()
        if e["method"] == "POST" and e["path"].endswith("/images")
    ]
    lost = sum(1 for f in faults if "drop_connection" in f)
    # A 429 is answered before any processing, so an EHR fault on the same request is moot.
    ehr = sum(
        1
        for f in faults
        if "ehr_fail" in f and "drop_connection" not in f and "rate_limit_burst" not in f
    )
    assert lost >= 1 and ehr >= 1, faults
    assert any("rate_limit_burst" in str(e.get("fault")) for e in sandbox.request_log())
    assert set(codes) <= {"unexpected_integration_error", "no_answer", "interrupted"}
    assert codes["no_answer"] <= lost and codes["unexpected_integration_error"] <= ehr
    missing = lost + ehr - codes["no_answer"] - codes["unexpected_integration_error"]
    assert 0 <= missing <= codes["interrupted"]
    for record in records:
        row = rows[record["itemId"]]
        if record["state"] == "verified":
            assert record["imageId"] and arrivals[row.sha256_sent or ""] == 1
        else:
            assert record["message"] and record["nextStep"]
            assert f"send-again {record['itemId']}" in record["nextStep"]
            if record["errorCode"] == "unexpected_integration_error":
                assert record["traceId"]
            assert arrivals[row.sha256_sent or ""] <= 1
    assert states["verified"] + states["needs_decision"] == COUNT

    code, human = uploader.run("queue")
    assert f"{states['verified']} verified" in human
    assert f"{states['needs_decision']} needs_decision" in human
    assert "EHR sync failed" in human
