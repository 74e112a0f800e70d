"""Size presets: how large the sent photo is and how hard JPEG compresses it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """A named output size. ``long_edge`` None keeps the original size; images are never enlarged.

    ``force_jpeg`` flattens transparency onto white instead of sending a PNG.
    """

    name: str
    long_edge: int | None
    quality: int
    force_jpeg: bool = False
    label: str = ""


PRESETS: dict[str, Preset] = {
    "original": Preset("original", None, 92, label="Original size"),
    "high": Preset("high", 3000, 90, label="High (3000 px)"),
    "standard": Preset("standard", 2000, 85, label="Standard (2000 px)"),
    "small": Preset("small", 1200, 82, label="Small (1200 px)"),
}
DEFAULT_PRESET_NAME = "standard"
DEFAULT_PRESET = PRESETS[DEFAULT_PRESET_NAME]

MIN_LONG_EDGE = 64
MAX_LONG_EDGE = 20_000


def get_preset(spec: str | Preset) -> Preset:
    """A preset by name, or ``custom:<long_edge>:<quality>[:jpeg]`` (e.g. ``custom:1600:85``).

    Raises ValueError with a message that says what is accepted.
    """
    if isinstance(spec, Preset):
        return spec
    text = spec.strip().lower()
    if text in PRESETS:
        return PRESETS[text]
    if text.startswith("custom:"):
        parts = text.split(":")
        if len(parts) in (3, 4) and parts[1].isdigit() and parts[2].isdigit():
            long_edge, quality = int(parts[1]), int(parts[2])
            force_jpeg = len(parts) == 4
            if force_jpeg and parts[3] != "jpeg":
                raise ValueError(f"unknown option {parts[3]!r} in {spec!r}; only 'jpeg' is known")
            if not MIN_LONG_EDGE <= long_edge <= MAX_LONG_EDGE:
                raise ValueError(
                    f"long edge must be between {MIN_LONG_EDGE} and {MAX_LONG_EDGE} px, "
                    f"not {long_edge}"
                )
            if not 30 <= quality <= 95:
                raise ValueError(f"JPEG quality must be between 30 and 95, not {quality}")
            return Preset(
                text,
                long_edge,
                quality,
                force_jpeg,
                label=f"Custom ({long_edge} px, quality {quality})",
            )
    names = ", ".join(PRESETS)
    raise ValueError(
        f"unknown preset {spec!r}: use one of {names}, or custom:<long_edge>:<quality> "
        "(for example custom:1600:85)"
    )
