"""Each thing the sandbox can do to an upload shows one honest label and colour per photo; the
counts line says what the rows say; the bar turns amber while any photo needs the user."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from maxupload.gui.photo_model import Column
from maxupload.gui.status_text import ACCENTS, Tone
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, add_photos, ready_to_upload
from tests.gui.test_plain_words import assert_plain

#: What a row's status column says -> the words of the counts line it belongs under. Written
#: out here from what a user reads, not taken from the code under test.
_LINE_WORDS: list[tuple[str, str]] = [
    ("In EHR", "in EHR"),
    ("Archived", "in EHR"),
    ("Saved to Max AI", "saved, not confirmed in EHR"),
    ("Skipped: a copy", "skipped (same picture)"),
    ("Not sent yet", "not sent yet"),
    ("Held", "held back"),
    ("Not sent to this patient", "held back"),
    ("Not sent", "not sent"),
    ("Waiting to send", "sending"),
    ("Preparing", "sending"),
    ("Ready to send", "sending"),
    ("Sending", "sending"),
    ("Waiting", "will retry"),
    ("Will retry", "will retry"),
    ("Stored copy not", "will retry"),
    ("Cancelled", "cancelled"),
]
_NEED_YOU = {"need your decision", "not sent", "held back", "saved, not confirmed in EHR"}
_SETTLED = {"in EHR", "saved, not confirmed in EHR", "need your decision", "not sent"}


def _words_of(label: str) -> str:
    if "a copy may be stored" in label or "Stored copy differs" in label:
        return "need your decision"
    for start, words in _LINE_WORDS:
        if label.startswith(start):
            return words
    raise AssertionError(f"a status the test does not know: {label!r}")


def row_labels(window: Any) -> list[str]:
    model = window.model
    labels = [
        str(model.index(i, Column.STATUS).data(Qt.ItemDataRole.DisplayRole))
        for i in range(model.rowCount())
    ]
    return [re.sub(r" \d+%$", "", text) for text in labels]


def rows_by_words(window: Any) -> Counter[str]:
    return Counter(_words_of(label) for label in row_labels(window))


def line_by_words(window: Any) -> Counter[str]:
    text = window.status_panel.counts.text()
    total, _, rest = text.partition(": ")
    found: Counter[str] = Counter()
    for part in rest.split("  ·  "):
        n, _, words = part.partition(" ")
        found[words] += int(n)
    assert int(total.split()[0]) == sum(found.values()), text
    return found


def assert_line_matches_rows(window: Any) -> None:
    """The counts line, the rows and the bar agree (amber while anyone needs the user)."""
    rows = rows_by_words(window)
    assert line_by_words(window) == rows, (window.status_panel.counts.text(), row_labels(window))
    bar = window.status_panel.progress
    need = sum(n for words, n in rows.items() if words in _NEED_YOU)
    if need:
        assert bar.property("tone") == "warning"
        chunk = bar.palette().color(QPalette.ColorRole.Highlight).name()
        assert chunk == ACCENTS[Tone.WARNING]
        assert f"{need} need" in bar.format()
    else:
        assert bar.property("tone") != "warning"
        assert "need" not in bar.format()
    assert bar.value() <= bar.maximum()


def settled(window: Any) -> bool:
    """Nothing is on its way any more (every row is in a group that waits for nobody)."""
    return all(_words_of(label) not in ("sending", "will retry") for label in row_labels(window))


def _signed(ctx: Any, sandbox: SandboxServer) -> None:
    sandbox.demo.note(sandbox.demo.open_note_id)["status"] = "signed"


def _gone(ctx: Any, sandbox: SandboxServer) -> None:
    note = sandbox.demo.note(sandbox.demo.open_note_id)
    sandbox.demo.notes.remove(note)


#: name -> (faults, change made while the photos are queued, key, the failed photo's label,
#: its tone, what the announcement of the finished batch says).
SCENARIOS: dict[str, tuple[dict[str, int], Callable[..., None] | None, str, str, str, str]] = {
    "502 EHR sync failed": (
        {"ehr_fail": 1},
        None,
        "",
        "EHR push failed; a copy may be stored in Max AI",
        "error",
        "need your decision",
    ),
    "500 while sending": (
        {"error_500": 1},
        None,
        "",
        "may be stored",
        "error",
        "need your decision",
    ),
    "connection dropped after sending": (
        {"drop_connection": 1},
        None,
        "",
        "No answer after sending; a copy may be stored",
        "error",
        "need your decision",
    ),
    "409 note signed meanwhile": (
        {},
        _signed,
        "",
        "Not sent: the note is signed",
        "error",
        "not sent",
    ),
    "404 note gone meanwhile": (
        {},
        _gone,
        "",
        "Not sent: the note was not found",
        "error",
        "not sent",
    ),
    "403 key without write permission": (
        {},
        None,
        "readonly",
        "Not sent: the API key lacks a permission",
        "error",
        "not sent",
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_failure_has_its_own_label_colour_and_count(
    name: str, qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    faults, meanwhile, key, label, tone, summary = SCENARIOS[name]
    ctx = make_app(key=sandbox.demo.readonly_key if key == "readonly" else None)
    window = ctx.window
    said: list[str] = []
    window.announcer.announced.connect(lambda text, _urgent: said.append(text))
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 1)
    if faults:
        sandbox.set_faults(**faults)
    ctx.engine.pause()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        window.status_panel.upload.click()
    # Queued and waiting: counted as sending, and nothing else.
    assert_line_matches_rows(window)
    if meanwhile is not None:
        meanwhile(ctx, sandbox)
    ctx.engine.resume()
    qtbot.waitUntil(lambda: settled(window), timeout=60_000)
    row = window.model.rows()[0]
    assert label in row.status.label, row.status.label
    assert row.status.tone == tone
    assert "need your decision" not in row.status.label
    assert_plain(row.status.label, row.status_outcome.code)
    assert_line_matches_rows(window)
    qtbot.waitUntil(lambda: any("needs you" in t for t in said), timeout=TIMEOUT_MS)
    announced = next(t for t in said if "needs you" in t)
    assert summary in announced, announced
    if summary == "not sent":
        assert "decision" not in announced  # a failure is not called a decision
    # The details panel under the list says it in plain words, with the matching action.
    panel = window.status_panel
    qtbot.waitUntil(panel.error_panel.isVisible, timeout=TIMEOUT_MS)
    assert_plain(panel.error_text.text(), row.status_outcome.code)
    assert panel.error_accent.property("tone") == row.status.tone  # the row's colour


def test_photos_added_or_held_while_others_are_sent_are_not_counted_as_sending(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 2)
    ctx.engine.pause()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        window.status_panel.upload.click()
    add_photos(qtbot, window, tmp_path / "later", 3)  # the next photos, not confirmed yet
    assert_line_matches_rows(window)
    line = line_by_words(window)
    assert line["sending"] == 2 and line["not sent yet"] == 3
    ctx.engine.resume()
    qtbot.waitUntil(lambda: rows_by_words(window)["in EHR"] == 2, timeout=60_000)
    assert_line_matches_rows(window)
    assert window.status_panel.progress.format() == "%v of %m done"
    assert window.status_panel.progress.value() == 2


def test_a_photo_saved_but_not_confirmed_in_the_ehr_is_amber_and_needs_you(
    qtbot: Any, make_app: Any, make_sandbox: Any, tmp_path: Path
) -> None:
    server = make_sandbox(upload_status="pending_upload")
    window = make_app(server=server).window
    ready_to_upload(qtbot, window, server, tmp_path / "cam")
    window.status_panel.upload.click()
    qtbot.waitUntil(
        lambda: rows_by_words(window)["saved, not confirmed in EHR"] == 1, timeout=60_000
    )
    row = window.model.rows()[0]
    assert row.status.tone == "warning"
    assert "EHR push failed" not in row.status.label
    assert_line_matches_rows(window)
