"""The upload history as CSV and JSON, for audits: one row (object) per photo.

Times are ISO 8601 with this computer's UTC offset; status changes are listed in order
("2026-11-02T09:14:03+01:00 verified; ..."); trace ids are separated by spaces.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from maxupload.core.history.store import HistoryEntry

#: CSV columns, in order, and the entry field each one comes from.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("when", "queued_at"),
    ("os_user", "os_user"),
    ("patient", "patient_name"),
    ("mrn", "mrn"),
    ("patient_label", "patient_label"),
    ("note_id", "note_id"),
    ("visit", "visit"),
    ("provider", "provider_name"),
    ("provider_id", "provider_id"),
    ("organization", "org_id"),
    ("server", "base_url"),
    ("file_name", "file_name"),
    ("source_path", "source_path"),
    ("size_original", "size_original"),
    ("size_sent", "size_sent"),
    ("sha256_original", "sha256_original"),
    ("sha256_sent", "sha256_sent"),
    ("image_id", "image_id"),
    ("status", "state"),
    ("server_status", "server_status"),
    ("verification", "verification"),
    ("original", "original"),
    ("problem", "problem"),
    ("trace_ids", "trace_ids"),
    ("status_changes", "changes"),
)


def iso_time(seconds: float) -> str:
    """Unix seconds as local ISO 8601 with the offset, to the second."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def entry_record(entry: HistoryEntry) -> dict[str, Any]:
    """One photo as a JSON-ready dictionary (the CSV's columns plus the changes as a list)."""
    record: dict[str, Any] = {}
    for column, name in CSV_COLUMNS:
        value = getattr(entry, name)
        if name == "queued_at":
            value = iso_time(value)
        elif name == "changes":
            value = [{"at": iso_time(c.at), "status": c.state, "message": c.message} for c in value]
        record[column] = value
    return record


def to_json(entries: Iterable[HistoryEntry]) -> str:
    return json.dumps([entry_record(e) for e in entries], indent=2, ensure_ascii=False) + "\n"


def to_csv(entries: Iterable[HistoryEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column for column, _ in CSV_COLUMNS])
    for entry in entries:
        record = entry_record(entry)
        record["status_changes"] = "; ".join(
            f"{c['at']} {c['status']}" + (f" ({c['message']})" if c["message"] else "")
            for c in record["status_changes"]
        )
        writer.writerow(["" if record[c] is None else record[c] for c, _ in CSV_COLUMNS])
    return out.getvalue()
