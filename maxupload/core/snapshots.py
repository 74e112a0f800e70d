"""What the front ends are shown of a photo: a ``PhotoSnapshot`` with its one ``Outcome``,
worked out here from what the queue recorded (its state, error fields and check findings).

Qt-free; ``maxupload.core.uploads`` makes and returns snapshots, both front ends read them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from maxupload.core import duplicates
from maxupload.core.checks import photo as checks
from maxupload.core.checks.photo import CheckCode, Finding, PhotoFacts, Severity
from maxupload.core.outcomes import Action, Outcome, OutcomeKind
from maxupload.core.queue.model import STORED_STATES, ItemState, QueueItem

# --- snapshots ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoSnapshot:
    """One photo as the front ends show it."""

    item: QueueItem
    outcome: Outcome
    findings: tuple[Finding, ...] = ()

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def path(self) -> Path:
        return Path(self.item.source_path)

    @property
    def state(self) -> ItemState:
        return self.item.state

    @property
    def captured_at(self) -> datetime | None:
        return _parse_time(self.item.captured_at)


def facts_of(item: QueueItem) -> PhotoFacts:
    """The facts read when the photo was staged."""
    codes = tuple(json.loads(item.label_codes)) if item.label_codes else ()
    return PhotoFacts(captured_at=_parse_time(item.captured_at), codes=codes)


def findings_of(item: QueueItem) -> tuple[Finding, ...]:
    """The findings last recorded for the item's target."""
    if not item.findings:
        return ()
    return tuple(
        Finding(
            code=CheckCode(f["code"]),
            severity=Severity(f["severity"]),
            message=str(f["message"]),
            captured_at=_parse_time(f.get("capturedAt")),
            label=f.get("label"),
        )
        for f in json.loads(item.findings)
    )


def findings_json(findings: Sequence[Finding]) -> str:
    return json.dumps(
        [
            {
                "code": f.code.value,
                "severity": f.severity.value,
                "message": f.message,
                "capturedAt": f.captured_at.isoformat() if f.captured_at else None,
                "label": f.label,
            }
            for f in findings
        ]
    )


def facts_columns(facts: PhotoFacts) -> dict[str, Any]:
    """The queue columns of a photo's facts."""
    return {
        "captured_at": facts.captured_at.isoformat() if facts.captured_at else None,
        "label_codes": json.dumps(list(facts.codes)) if facts.codes else None,
        "facts_read": True,
    }


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def check_outcome(stops: Sequence[Finding]) -> Outcome:
    """The outcome of a photo the checks stop: blocked beats held."""
    blocked = [f for f in stops if f.severity is Severity.BLOCK]
    first = (blocked or list(stops))[0]
    if blocked:
        return Outcome(
            OutcomeKind.BLOCKED,
            first.code.value,
            first.message,
            "This photo is not sent to this note: remove it, or choose the right patient's note.",
            action=Action.REMOVE,
        )
    return Outcome(
        OutcomeKind.HELD,
        first.code.value,
        first.message,
        "Check the photo; to send it to this visit anyway, choose 'Send photos from another day'.",
        action=Action.ACKNOWLEDGE,
        cli_hint="maxupload upload --allow-other-dates",
    )


def item_outcome(item: QueueItem) -> Outcome:
    """The one outcome of a queue item, from what the engine recorded on it."""
    state = item.state
    if state == ItemState.STAGED:
        stops = checks.held_or_blocked(list(findings_of(item)))
        if stops:
            return check_outcome(stops)
        if duplicates.is_skipped_copy(item):
            return duplicates.copy_outcome(item)
        step = "Confirm the patient, then Upload."
        return Outcome(OutcomeKind.STAGED, "staged", "Added, not sent yet.", step)
    if state == ItemState.CHECKING:
        return Outcome(
            OutcomeKind.WORKING,
            "checking",
            "Waiting for its photo checks; nothing is sent before they pass.",
            "Nothing to do; if MaxUpload stopped, resume the queue (maxupload queue resume).",
        )
    if duplicates.is_skipped_copy(item):
        return duplicates.copy_outcome(item)
    if state in (
        ItemState.NEEDS_DECISION,
        ItemState.FAILED,
        ItemState.CANCELLED,
        ItemState.RETRY_LATER,
    ):
        return Outcome(
            OutcomeKind(state.value),
            item.error_code or state.value,
            item.error_message or "Something went wrong with this photo.",
            item.next_step
            or "Try again; if it keeps happening, contact support with the trace id.",
            item.trace_id,
        )
    if state == ItemState.PENDING_UPLOAD or (
        state == ItemState.VERIFIED
        and item.server_status not in (None, ItemState.SYNCED, ItemState.ARCHIVED)
    ):
        return Outcome(
            OutcomeKind.UNCONFIRMED,
            item.server_status or state.value,
            "Saved to Max AI; the EHR has not confirmed it.",
            "Open the note in the EHR to check the photo is there. MaxUpload does not send it "
            "again by itself.",
            item.trace_id,
        )
    if state in STORED_STATES:
        verified = state == ItemState.VERIFIED
        message = item.error_message or (
            "On the note; the stored copy matches what was sent."
            if verified
            else "On the server; checking the stored copy."
        )
        return Outcome(OutcomeKind.OK, item.error_code or state.value, message, "", item.trace_id)
    return Outcome(OutcomeKind.WORKING, state.value, "On its way.", "")


def snapshot(item: QueueItem) -> PhotoSnapshot:
    """A queue item as the front ends show it."""
    return PhotoSnapshot(item, item_outcome(item), findings_of(item))
