"""The demo patients' printable labels: written by ``maxupload sandbox --write-labels`` and read
back by MaxUpload's own label check (the demo shows a match and a mismatch with them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from PIL import Image

from maxupload.core.api.models import Note, Patient
from maxupload.core.checks.photo import CheckCode, evaluate, read_facts
from maxupload.sandbox import SandboxServer
from maxupload.sandbox.demo_data import build_demo_data
from maxupload.sandbox.labels import LABEL_SIZE, label_file_name, write_demo_labels

REPO = Path(__file__).resolve().parents[2]


def _patient(row: dict[str, object]) -> Patient:
    mrn = row.get("mrn")
    return Patient(str(row["id"]), str(row["firstName"]), str(row["lastName"]), mrn=mrn)  # type: ignore[arg-type]


def test_every_demo_label_reads_back_as_its_patient(tmp_path: Path) -> None:
    demo = build_demo_data()
    written = write_demo_labels(tmp_path)
    assert [p.name for p in written] == [label_file_name(p) for p in demo.patients]
    rivera = _patient(demo.patients[0])
    for row, path in zip(demo.patients, written, strict=True):
        with Image.open(path) as im:
            assert im.size == LABEL_SIZE and im.format == "PNG"
        facts = read_facts(path)
        qr = [json.loads(c) for c in facts.codes if c.startswith("{")]
        assert qr == [{k: v for k, v in (("mrn", row["mrn"]), ("patientId", row["id"])) if v}]
        if row["mrn"]:
            assert row["mrn"] in facts.codes  # the Code128 carries the bare MRN
        own = evaluate(facts, Note(id="n", patient=_patient(row)))
        assert own[0].code is CheckCode.LABEL_MATCH, row["lastName"]
        if row["id"] != rivera.id:
            [mismatch, *_] = evaluate(facts, Note(id="n", patient=rivera))
            assert mismatch.code is CheckCode.LABEL_MISMATCH, row["lastName"]


def test_cli_writes_the_labels_and_exits(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", "maxupload", "sandbox", "--write-labels", str(tmp_path / "labels")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=True,
    )  # fmt: skip
    assert "label-rivera-elena.png" in out.stdout
    assert (tmp_path / "labels" / "label-okafor-daniel.png").is_file()


def test_sandbox_serves_each_demo_patients_label(sandbox: SandboxServer, tmp_path: Path) -> None:
    listing = httpx.get(sandbox.root_url + "/_sandbox/labels").json()["labels"]
    okafor = next(entry for entry in listing if entry["name"] == "Okafor, Daniel")
    assert okafor["mrn"] == "MM0000000102" and okafor["fileName"] == "label-okafor-daniel.png"
    answer = httpx.get(okafor["url"])
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    path = tmp_path / okafor["fileName"]
    path.write_bytes(answer.content)
    assert "MM0000000102" in read_facts(path).codes
    missing = httpx.get(sandbox.root_url + "/_sandbox/labels/pat_nobody.png")
    assert missing.status_code == 404
