"""What the window does once Settings were saved: the new connection is used at once.

The connection builds new clients for the next call (the window's lookups, the preview, and
every upload worker, which rebuilds its client before its next request), so the next upload
and every retry use the key just saved, with no restart. Another clinic or key ends the note
and the confirmation; an error about the old key or connection is cleared.
"""

from __future__ import annotations

from typing import Any, Protocol

from maxupload.core.config.settings import Settings
from maxupload.core.outcomes import Action


class Connection(Protocol):
    """The composition root's connection (``maxupload.app.Connection``)."""

    def current(self) -> tuple[str, str]: ...

    def update(self, settings: Settings) -> None: ...

    def describe(self) -> str: ...


def apply_saved_settings(window: Any, connection: Connection, result: Any) -> None:
    """Apply a ``SaveResult`` of the Settings dialog to the connection and the window."""
    before = connection.current()
    connection.update(result.settings)  # new clients, workers' included, from the next call
    window.show_notice("")
    shown = window.status_panel.current_error()
    if shown is not None and shown.action == Action.SETTINGS:
        window.shown_error.clear()  # the key or permission it spoke of was just replaced
    if connection.current() != before or result.key_changed:
        window.reset_target()  # another clinic or key: the note and confirmation end
    window.connection_label.set_environment(connection.describe())
    window.preview.set_preset_spec(result.settings.preset)
