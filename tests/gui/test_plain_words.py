"""Every outcome the core can produce reads in plain words in the window: no command lines, no
queue item numbers, no raw codes, no phrase said twice in parentheses. The command line keeps
its commands (``Outcome.terminal_step``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from maxupload.core.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    Cancelled,
    EhrSyncFailed,
    InsecureUrlError,
    NetworkError,
    NoteLocked,
    NotFound,
    RateLimited,
    ScopeError,
    ServerError,
    TlsNotVerified,
    UploadServerError,
    VerificationError,
)
from maxupload.core.api.verify import CopyMismatch
from maxupload.core.checks.photo import CheckCode, Finding, Severity
from maxupload.core.imaging.formats import ImageRejected
from maxupload.core.outcome_labels import status_label
from maxupload.core.outcomes import Outcome, classify, describe_error
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore
from maxupload.core.uploads import check_outcome, snapshot
from maxupload.gui.photo_model import Column, PhotoModel, PhotoRow
from maxupload.gui.status_panel import StatusPanel
from tests.core.queue.test_queue_store import TARGET, entry

#: Words that belong to the terminal or to the API, never to the window.
_COMMAND = re.compile(r"\bmaxupload |--|\b[Ii]tem \d")  # "MaxUpload" the app is fine
_RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")  # unexpected_integration_error, not_found …
_IN_PARENS = re.compile(r"\(([^()]+)\)")


def window_problems(text: str, code: str = "") -> list[str]:
    """What in ``text`` must not be shown in the window (empty when it reads plainly)."""
    found = [f"command or item number: {m.group(0)!r}" for m in _COMMAND.finditer(text)]
    found += [f"raw code: {m.group(0)!r}" for m in _RAW_CODE.finditer(text)]
    raw = code and ("_" in code or code in ("conflict", "forbidden", "unauthorized"))
    if raw and re.search(rf"\b{re.escape(code)}\b", text):
        found.append(f"the outcome's code {code!r}")
    for m in _IN_PARENS.finditer(text):
        phrase = m.group(1).strip().rstrip(".").lower()
        rest = (text[: m.start()] + text[m.end() :]).lower()
        if len(phrase) > 3 and phrase in rest:
            found.append(f"said twice: {phrase!r}")
    return found


def assert_plain(text: str, code: str = "") -> None:
    problems = window_problems(text, code)
    assert not problems, (text, problems)


def _errors() -> list[BaseException]:
    """One of each error the API client, the engine and the file checks raise."""
    return [
        AuthError("Invalid API key", trace_id="tr_1"),
        ScopeError("Missing scope. Required: write:notes", code="forbidden"),
        NotFound("Note not found", trace_id="tr_2"),
        NoteLocked("Note is signed", trace_id="tr_3"),
        BadRequest("Image too large", trace_id="tr_4"),
        RateLimited("Too many requests", trace_id="tr_5"),
        EhrSyncFailed("EHR sync failed", trace_id="tr_6"),
        ServerError("Internal error", trace_id="tr_7"),
        UploadServerError("Internal error", status=500, trace_id="tr_8"),
        ApiError("I'm a teapot", status=418, code="teapot_error"),
        ApiError("Bad gateway", status=503, code="service_unavailable"),
        NetworkError("Connection reset", request_sent=True),
        NetworkError("Connection refused", request_sent=False),
        TlsNotVerified("certificate verify failed"),
        Cancelled("Cancelled"),
        CopyMismatch("The stored copy differs from the photo sent."),
        VerificationError("The stored copy could not be fetched."),
        InsecureUrlError("http://example.org is not https"),
        ImageRejected("Not a photo.", "Add a JPEG, PNG, HEIC or TIFF."),
        OSError(2, "No such file or directory"),
        RuntimeError("boom"),
    ]


def _queue_outcomes() -> Iterator[Outcome]:
    """The outcome of a queued photo in every state, and of a copy of a picture sent before."""
    store = QueueStore()
    try:
        (first,) = store.add([entry("IMG_0001.JPG", "d" * 64)], TARGET, "standard")
        for state in ItemState:
            item = store.update(first.id, state, error_code=None, error_message=None)
            yield snapshot(item).outcome
        store.update(first.id, ItemState.SYNCED, image_id="img_1")
        (copy,) = store.add([entry("IMG_0002.JPG", "d" * 64)], TARGET, "standard")
        yield snapshot(copy).outcome
    finally:
        store.close()


def every_outcome() -> list[Outcome]:
    out: list[Outcome] = []
    for exc in _errors():
        for phase in ("prepare", "upload", "verify"):
            out.append(classify(exc, phase, 37))  # type: ignore[arg-type]
        out.append(describe_error(exc))
    day = Finding(CheckCode.OTHER_DAY, Severity.HOLD, "Taken 2026-02-11, 37 days before this visit")
    label = Finding(CheckCode.LABEL_MISMATCH, Severity.BLOCK, "This photo shows a label for MRN 2")
    out += [check_outcome([day]), check_outcome([label])]
    out += list(_queue_outcomes())
    return out


def _plain_html(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def test_the_checker_catches_what_it_must() -> None:
    """A checker that cannot fail is no test: the old wordings are caught."""
    assert window_problems("Check the note (maxupload queue send-again 37).")
    assert window_problems("already in the queue (item 1, queued).")
    assert window_problems("EHR sync failed: not in the EHR (EHR sync failed).")
    assert window_problems("Refused (unexpected_integration_error).")
    assert window_problems("Choose 'Send photos from another day' (--allow-other-dates).")
    assert not window_problems("Same picture as IMG_0001.JPG, already sent to this note.")


def test_every_outcome_reads_plainly_in_the_window(qtbot: Any) -> None:
    panel = StatusPanel()
    qtbot.addWidget(panel)
    model = PhotoModel()
    outcomes = every_outcome()
    kinds = {o.kind for o in outcomes}
    assert len(kinds) >= 10, kinds  # every kind of outcome is walked
    for outcome in outcomes:
        label = status_label(outcome)
        assert_plain(label, outcome.code)
        assert_plain(outcome.message, outcome.code)
        assert_plain(outcome.next_step, outcome.code)
        # As the window shows it: the details panel under the list …
        panel.show_error(outcome, "IMG_0001.JPG")
        shown = _plain_html(panel.error_text.text())
        assert outcome.message.split(" (")[0][:20] in shown
        assert_plain(shown, outcome.code)
        if outcome.trace_id:
            assert outcome.trace_id not in shown  # it goes with "Copy details"
        # … and the row: its status, tooltip and what a screen reader hears.
        model.clear()
        row = PhotoRow(
            path=Path("/photos/IMG_0001.JPG"),
            size_before=1,
            outcome=outcome,
            error=outcome.message,
            next_step=outcome.next_step,
        )
        model.add_rows([row])
        for role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            assert_plain(str(model.index(0, Column.STATUS).data(role)), outcome.code)


@pytest.mark.parametrize("exc", _errors(), ids=lambda e: type(e).__name__)
def test_the_command_line_keeps_its_commands(exc: BaseException) -> None:
    outcome = classify(exc, "upload", 37)
    if outcome.cli_hint:
        assert outcome.cli_hint.startswith("maxupload ")
        assert outcome.cli_hint in outcome.terminal_step
        if "queue" in outcome.cli_hint:
            assert outcome.cli_hint.endswith(" 37")  # the item the terminal acts on
    assert outcome.next_step in outcome.terminal_step.replace(f" ({outcome.cli_hint})", "")
