"""A photo's facts and check findings as they are kept in its queue row (JSON text columns).

The facts are read once when the photo is staged; the findings are worked out again for each
target and recorded, so the window and the command line show the same ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from maxupload.core.checks.photo import CheckCode, Finding, PhotoFacts, Severity
from maxupload.core.queue.model import QueueItem


def facts_of(item: QueueItem) -> PhotoFacts:
    """The facts read when the photo was staged."""
    codes = tuple(json.loads(item.label_codes)) if item.label_codes else ()
    return PhotoFacts(captured_at=parse_time(item.captured_at), codes=codes)


def findings_of(item: QueueItem) -> tuple[Finding, ...]:
    """The findings last recorded for the item's target."""
    if not item.findings:
        return ()
    return tuple(
        Finding(
            code=CheckCode(f["code"]),
            severity=Severity(f["severity"]),
            message=str(f["message"]),
            captured_at=parse_time(f.get("capturedAt")),
            label=f.get("label"),
        )
        for f in json.loads(item.findings)
    )


def findings_json(findings: Sequence[Finding]) -> str:
    """The findings as the JSON text kept in the queue row."""
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


def parse_time(text: str | None) -> datetime | None:
    """A time kept as ISO text in the queue row."""
    return datetime.fromisoformat(text) if text else None
