"""Colours for each kind of outcome, and the words a photo row shows for its outcome.

Accents are mid-tones for marks (dots, bars, borders: 3:1 is enough for those); text in a tone
uses ``TEXT_ON_LIGHT`` or ``TEXT_ON_DARK``, which keep WCAG AA (4.5:1) on the window and list
backgrounds of light and dark palettes. Everything else follows the system palette.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from maxupload.core.outcome_labels import status_label
from maxupload.core.outcomes import Outcome, OutcomeKind


class Tone(enum.StrEnum):
    """The kind of state, which decides the accent colour."""

    NEUTRAL = "neutral"
    BUSY = "busy"
    SUCCESS = "success"
    WARNING = "warning"
    MUTED = "muted"
    ERROR = "error"


#: Accent colours per tone (hex), chosen to keep contrast on light and dark backgrounds.
ACCENTS: dict[Tone, str] = {
    Tone.NEUTRAL: "#7b8794",
    Tone.BUSY: "#2f7fd8",
    Tone.SUCCESS: "#2f9e44",
    Tone.WARNING: "#d98a06",
    Tone.MUTED: "#8a8f98",
    Tone.ERROR: "#e03131",
}


#: Text colours per tone on light backgrounds (white to #e0e0e0): each at least 4.5:1.
TEXT_ON_LIGHT: dict[Tone, str] = {
    Tone.NEUTRAL: "#4f5964",
    Tone.BUSY: "#1f5fa6",
    Tone.SUCCESS: "#1e6b32",
    Tone.WARNING: "#8a5200",
    Tone.MUTED: "#5b6068",
    Tone.ERROR: "#b02a22",
}

#: Text colours per tone on dark backgrounds (#1f2023 to #34363a): each at least 4.5:1.
TEXT_ON_DARK: dict[Tone, str] = {
    Tone.NEUTRAL: "#b3bcc6",
    Tone.BUSY: "#8cbcf2",
    Tone.SUCCESS: "#74d08a",
    Tone.WARNING: "#f2b54e",
    Tone.MUTED: "#a9aeb6",
    Tone.ERROR: "#ff8f85",
}

#: WCAG AA minimum contrast for normal-size text.
MIN_TEXT_CONTRAST = 4.5


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    h = color.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def tone_text_color(tone: Tone, background: str) -> str:
    """The text colour of ``tone`` that reads on ``background`` (light or dark variant)."""
    dark_bg = relative_luminance(background) < 0.2
    return (TEXT_ON_DARK if dark_bg else TEXT_ON_LIGHT)[tone]


#: The colour of each kind of outcome (the meaning itself comes from the core).
KIND_TONES: dict[OutcomeKind, Tone] = {
    OutcomeKind.OK: Tone.SUCCESS,
    OutcomeKind.UNCONFIRMED: Tone.WARNING,
    OutcomeKind.SKIPPED: Tone.WARNING,
    OutcomeKind.WORKING: Tone.BUSY,
    OutcomeKind.STAGED: Tone.NEUTRAL,
    OutcomeKind.HELD: Tone.WARNING,
    OutcomeKind.BLOCKED: Tone.ERROR,
    OutcomeKind.RETRY_LATER: Tone.BUSY,
    OutcomeKind.NEEDS_DECISION: Tone.ERROR,
    OutcomeKind.FAILED: Tone.ERROR,
    OutcomeKind.CANCELLED: Tone.MUTED,
}


@dataclass(frozen=True)
class StatusText:
    """What the photo list shows for one photo: a short label, a longer hint, a tone."""

    label: str
    hint: str
    tone: Tone


def outcome_status(outcome: Outcome) -> StatusText:
    """The label, hint and colour of a photo's outcome: the label comes from the core
    (``core.outcome_labels``), the colour from the outcome's kind; nothing else decides."""
    hint = outcome.next_step or outcome.message
    return StatusText(status_label(outcome), hint, KIND_TONES[outcome.kind])
