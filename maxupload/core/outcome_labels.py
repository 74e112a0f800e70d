"""The short status label of each outcome reason, and the count group it belongs to.

Derived from the one ``Outcome`` (its code first, then its kind), so a reason reads the same
in every row, in the counts line and in the batch summary: a skipped copy is never called
"EHR push failed", a failed photo is never said to need a decision, and a photo held for
confirmation is never counted as sending.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from maxupload.core.outcomes import Outcome, OutcomeKind

#: Labels of the reasons that have their own words (by the outcome's code).
_BY_CODE: dict[tuple[OutcomeKind, str], str] = {
    (OutcomeKind.WORKING, "checking"): "Waiting for its photo checks",
    (OutcomeKind.WORKING, "queued"): "Waiting to send",
    (OutcomeKind.WORKING, "preparing"): "Preparing",
    (OutcomeKind.WORKING, "ready"): "Ready to send",
    (OutcomeKind.WORKING, "uploading"): "Sending",
    (OutcomeKind.OK, "synced"): "In EHR",
    (OutcomeKind.OK, "verified"): "In EHR, verified",
    (OutcomeKind.OK, "archived"): "Archived",
    (OutcomeKind.UNCONFIRMED, "pending_upload"): "Saved to Max AI, not confirmed in the EHR",
    (OutcomeKind.NEEDS_DECISION, "unexpected_integration_error"): (
        "EHR push failed; a copy may be stored in Max AI"
    ),
    (OutcomeKind.NEEDS_DECISION, "no_answer"): "No answer after sending; a copy may be stored",
    (OutcomeKind.NEEDS_DECISION, "cancelled_after_send"): (
        "Cancelled after sending; a copy may be stored"
    ),
    (OutcomeKind.NEEDS_DECISION, "verify_mismatch"): "Stored copy differs from the photo sent",
    (
        OutcomeKind.NEEDS_DECISION,
        "internal_error",
    ): "Server error while sending; a copy may be stored",
    (OutcomeKind.FAILED, "unauthorized"): "Not sent: the API key was rejected",
    (OutcomeKind.FAILED, "forbidden"): "Not sent: the API key lacks a permission",
    (OutcomeKind.FAILED, "conflict"): "Not sent: the note is signed",
    (OutcomeKind.FAILED, "not_found"): "Not sent: the note was not found",
    (OutcomeKind.FAILED, "bad_request"): "Not sent: the server refused the photo",
    (OutcomeKind.FAILED, "unusable_file"): "Not sent: the file cannot be used",
    (OutcomeKind.FAILED, "file_unreadable"): "Not sent: the file can no longer be read",
    (OutcomeKind.FAILED, "tls_not_verified"): "Not sent: the connection could not be verified",
    (OutcomeKind.FAILED, "insecure_url"): "Not sent: the server address is not secure",
    (OutcomeKind.RETRY_LATER, "rate_limit_exceeded"): "Waiting: Max AI asked to slow down",
    (OutcomeKind.RETRY_LATER, "network"): "Waiting for the network",
    (OutcomeKind.RETRY_LATER, "not_found"): "Stored copy not found yet; checking again",
    (OutcomeKind.RETRY_LATER, "verify_unavailable"): "Stored copy not checked yet",
    (OutcomeKind.CANCELLED, "cancelled"): "Cancelled; nothing was sent",
    # Stopped by the photo checks after an interruption (see core.batch_checks).
    (OutcomeKind.CANCELLED, "label_mismatch"): "Not sent: another patient's label",
    (OutcomeKind.CANCELLED, "other_day"): "Not sent: taken on another day",
}

#: Labels of every other reason of a kind.
_BY_KIND: dict[OutcomeKind, str] = {
    OutcomeKind.OK: "In EHR",
    OutcomeKind.UNCONFIRMED: "Saved to Max AI, status not confirmed",
    OutcomeKind.WORKING: "Sending",
    OutcomeKind.STAGED: "Not sent yet",
    OutcomeKind.HELD: "Held",
    OutcomeKind.BLOCKED: "Not sent to this patient",
    OutcomeKind.SKIPPED: "Skipped: a copy",
    OutcomeKind.RETRY_LATER: "Will retry by itself",
    OutcomeKind.NEEDS_DECISION: "Check the note: a copy may be stored",
    OutcomeKind.FAILED: "Not sent",
    OutcomeKind.CANCELLED: "Cancelled",
}

#: Reasons whose label ends with the outcome's own message (it names the file or the day).
_WITH_MESSAGE = frozenset({OutcomeKind.HELD, OutcomeKind.BLOCKED})


def status_label(outcome: Outcome) -> str:
    """The short label of ``outcome`` ("Skipped: Same picture as IMG_0002.JPG, …")."""
    label = _BY_CODE.get((outcome.kind, outcome.code)) or _BY_KIND[outcome.kind]
    if outcome.kind in _WITH_MESSAGE and outcome.message:
        return f"{label}: {outcome.message}"
    return label


class CountGroup(enum.StrEnum):
    """A group of the counts line; the value is its words ("3 sending")."""

    IN_EHR = "in EHR"
    UNCONFIRMED = "saved, not confirmed in EHR"
    SENDING = "sending"
    CHECKING = "waiting for their checks"
    WILL_RETRY = "will retry"
    NEED_DECISION = "need your decision"
    FAILED = "not sent"
    HELD = "held back"
    SKIPPED = "skipped (same picture)"
    NOT_SENT_YET = "not sent yet"
    CANCELLED = "cancelled"


_GROUP_OF_KIND: dict[OutcomeKind, CountGroup] = {
    OutcomeKind.OK: CountGroup.IN_EHR,
    OutcomeKind.UNCONFIRMED: CountGroup.UNCONFIRMED,
    OutcomeKind.WORKING: CountGroup.SENDING,
    OutcomeKind.STAGED: CountGroup.NOT_SENT_YET,
    OutcomeKind.HELD: CountGroup.HELD,
    OutcomeKind.BLOCKED: CountGroup.HELD,
    OutcomeKind.SKIPPED: CountGroup.SKIPPED,
    OutcomeKind.RETRY_LATER: CountGroup.WILL_RETRY,
    OutcomeKind.NEEDS_DECISION: CountGroup.NEED_DECISION,
    OutcomeKind.FAILED: CountGroup.FAILED,
    OutcomeKind.CANCELLED: CountGroup.CANCELLED,
}

#: Groups that wait for the user: while any photo is in one, the batch is not "done".
NEEDS_USER = frozenset(
    {CountGroup.UNCONFIRMED, CountGroup.NEED_DECISION, CountGroup.FAILED, CountGroup.HELD}
)
#: Groups with nothing left to happen for the batch that was sent.
SETTLED = frozenset(
    {
        CountGroup.IN_EHR,
        CountGroup.UNCONFIRMED,
        CountGroup.NEED_DECISION,
        CountGroup.FAILED,
        CountGroup.SKIPPED,
        CountGroup.CANCELLED,
    }
)


def count_group(outcome: Outcome) -> CountGroup:
    """The group of the counts line a photo with ``outcome`` is counted in. A photo waiting
    for its photo checks is not counted as sending: nothing goes out before they pass."""
    if outcome.kind is OutcomeKind.WORKING and outcome.code == "checking":
        return CountGroup.CHECKING
    return _GROUP_OF_KIND[outcome.kind]


def group_counts(outcomes: Iterable[Outcome]) -> dict[CountGroup, int]:
    """Photos per group, in the order of ``CountGroup`` (groups with none left out)."""
    found: dict[CountGroup, int] = {}
    for outcome in outcomes:
        group = count_group(outcome)
        found[group] = found.get(group, 0) + 1
    return {g: found[g] for g in CountGroup if g in found}


def counts_text(counts: dict[CountGroup, int]) -> str:
    """``12 photos: 8 in EHR · 2 sending · 1 not sent`` (groups with none are left out)."""
    total = sum(counts.values())
    if total == 0:
        return "No photos yet."
    parts = [f"{n} {group.value}" for group, n in counts.items() if n]
    return f"{total} photo{'s' if total != 1 else ''}: " + "  ·  ".join(parts)


def _photos(n: int) -> str:
    return f"{n} photo{'s' if n != 1 else ''}"


def batch_summary(counts: dict[CountGroup, int]) -> tuple[bool, str]:
    """``(needs the user, one line)`` for a finished batch: what reached the EHR, and each
    reason the user is needed, by its own name (a failure is not a decision)."""
    ok = counts.get(CountGroup.IN_EHR, 0)
    parts = [f"{_photos(ok)} {'is' if ok == 1 else 'are'} in the EHR"]
    wording = {
        CountGroup.NEED_DECISION: "need your decision (a copy may be stored)",
        CountGroup.FAILED: "not sent (see why in the list)",
        CountGroup.UNCONFIRMED: "saved to Max AI, not confirmed in the EHR",
        CountGroup.HELD: "held back by the photo checks",
        CountGroup.SKIPPED: "skipped (the same picture as another photo)",
    }
    for group, words in wording.items():
        n = counts.get(group, 0)
        if n:
            parts.append(f"{n} {words}")
    needs_user = any(counts.get(g, 0) for g in NEEDS_USER)
    return needs_user, "; ".join(parts) + "."
