"""Messages to the user: the notice above the banner, batch-finished notifications, failed
jobs in the status panel and the rate-limit countdown."""

from __future__ import annotations

from PySide6.QtCore import Slot

from maxupload.core.outcome_labels import batch_summary
from maxupload.core.outcomes import describe_error
from maxupload.gui import names
from maxupload.gui.status_text import ACCENTS, Tone


class WindowNotices:
    """Notices, notifications and the rate-limit countdown.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    @Slot(object)
    def _show_exception(self, exc: BaseException) -> None:
        """A failed lookup or pool job: its plain message and next step in the status panel."""
        self.shown_error.show(describe_error(exc))

    @Slot(object)
    def _batch_finished(self, _counts: dict[str, int]) -> None:
        needs_user, text = batch_summary(self.model.group_counts())
        if needs_user:
            self.deps.notifier.notify("MaxUpload needs you", text, warning=True)
        else:
            self.deps.notifier.notify("Upload finished", text)

    @Slot(str, str)
    def _notice_from_notifier(self, title: str, text: str) -> None:
        if not self.deps.notifier.uses_tray or not self.isActiveWindow():
            tone = Tone.SUCCESS if title == "Upload finished" else Tone.WARNING
            self.show_notice(f"{title}: {text}", tone)

    def show_notice(self, text: str, tone: Tone = Tone.BUSY) -> None:
        """A one-line message above the banner (empty text hides it)."""
        color = ACCENTS[tone]
        self.notice.setStyleSheet(
            f"#{names.NOTICE_BANNER} {{ border: 1px solid {color}; border-left: 6px solid "
            f"{color}; border-radius: 6px; padding: 8px 12px; font-weight: 600; }}"
        )
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    @Slot()
    def _tick_rate_limit(self) -> None:
        engine = self.deps.engine
        seconds = engine.rate_limit_pause_remaining() if engine is not None else 0.0
        self.status_panel.set_rate_limit(seconds)
