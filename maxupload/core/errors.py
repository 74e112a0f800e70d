"""The root of every error MaxUpload raises on purpose: a message and one next step.

Each part adds its own kinds (``core.api.errors`` for the API, the queue's, imaging's, storage's);
``core.outcomes`` turns any of them into what the user sees.
"""

from __future__ import annotations


class MaxUploadError(Exception):
    """Base of every error MaxUpload raises on purpose."""

    #: What the user should do next, in one sentence (subclasses may compute it).
    default_next_step: str = "Try again; if it keeps happening, contact support."

    def __init__(self, *args: object, next_step: str | None = None) -> None:
        super().__init__(*args)
        self._given_next_step = next_step

    @property
    def next_step(self) -> str:
        return getattr(self, "_given_next_step", None) or self.default_next_step

    @property
    def user_message(self) -> str:
        return str(self)
