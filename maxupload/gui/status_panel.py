"""The status strip under the photos: overall progress and counts, the rate-limit countdown,
details of the latest problem (with its trace id and a copy button), and the Upload button.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.outcome_labels import NEEDS_USER, SETTLED, CountGroup, counts_text
from maxupload.core.outcomes import ACTION_LABELS, Outcome
from maxupload.gui import names
from maxupload.gui.status_text import ACCENTS, KIND_TONES, Tone
from maxupload.gui.tone_colors import set_tone_text


class StatusPanel(QFrame):
    """Progress, counts, rate-limit countdown, the current problem and the Upload button.

    Signals:
        upload_clicked(): the user pressed Upload.
        action_requested(str): the error's action button was pressed (an ``Action`` value).
        error_shown(str): a problem was put on screen (its file, summary and next step).
    """

    upload_clicked = Signal()
    action_requested = Signal(str)
    error_shown = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(names.STATUS_PANEL)
        self._error: Outcome | None = None
        self._error_file = ""

        self.progress = QProgressBar()
        self.progress.setObjectName(names.OVERALL_PROGRESS)
        self.progress.setAccessibleName("Overall upload progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Nothing sent yet")
        self.progress.setTextVisible(True)
        self.counts = QLabel(counts_text({}))
        self.counts.setObjectName(names.COUNTS_LABEL)
        self.counts.setAccessibleName("Photo counts")
        self.counts.setWordWrap(True)  # wraps rather than running under its neighbours
        self.rate = QLabel()
        self.rate.setObjectName(names.RATE_LIMIT_LABEL)
        set_tone_text(self.rate, Tone.WARNING)
        self.rate.hide()

        self.upload = QPushButton("Upload")
        self.upload.setObjectName(names.UPLOAD_BUTTON)
        self.upload.setAccessibleName("Upload photos to the confirmed note")
        self.upload.setDefault(True)
        self.upload.setEnabled(False)
        self.upload.setMinimumHeight(40)
        self.upload.setMinimumWidth(220)
        font = self.upload.font()
        font.setWeight(font.Weight.DemiBold)
        self.upload.setFont(font)
        self.upload.clicked.connect(self.upload_clicked)
        self.upload_hint = QLabel()
        self.upload_hint.setWordWrap(True)
        self.upload_hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.error_panel = QFrame()
        self.error_panel.setObjectName(names.ERROR_PANEL)
        self.error_panel.setFrameShape(QFrame.Shape.StyledPanel)
        self.error_text = QLabel()
        self.error_text.setObjectName(names.ERROR_TEXT)
        self.error_text.setWordWrap(True)
        self.error_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_copy = QPushButton("Copy details")
        self.error_copy.setObjectName(names.ERROR_COPY)
        self.error_copy.setAccessibleName("Copy the error details and trace id")
        self.error_copy.clicked.connect(self.copy_details)
        self.error_action = QPushButton()
        self.error_action.setObjectName(names.ERROR_ACTION)
        self.error_action.clicked.connect(self._action_clicked)
        self.error_dismiss = QPushButton("Dismiss")
        self.error_dismiss.setAccessibleName("Dismiss the error details")
        self.error_dismiss.clicked.connect(lambda: self.show_error(None))
        err = QHBoxLayout(self.error_panel)
        err.setContentsMargins(12, 8, 12, 8)
        self.error_accent = QFrame()
        self.error_accent.setFixedWidth(4)
        self._tone_accent(Tone.ERROR)
        err.addWidget(self.error_accent)
        err.addWidget(self.error_text, 1)
        err.addWidget(self.error_action)
        err.addWidget(self.error_copy)
        err.addWidget(self.error_dismiss)
        self.error_panel.hide()

        left = QVBoxLayout()
        left.setSpacing(4)
        left.addWidget(self.progress)
        row = QHBoxLayout()
        row.addWidget(self.counts, 1)
        row.addWidget(self.rate)
        left.addLayout(row)
        self._counts_row = row
        right = QVBoxLayout()
        right.setSpacing(2)
        right.addWidget(self.upload)
        right.addWidget(self.upload_hint)
        top = QHBoxLayout()
        top.setSpacing(16)
        top.addLayout(left, 1)
        top.addLayout(right)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.error_panel)
        layout.addLayout(top)

    def set_counts(self, counts: dict[CountGroup, int]) -> None:
        """Show photos per group (``PhotoModel.group_counts``); the bar turns amber while any
        photo needs the user, so a batch is never shown as simply done while one waits."""
        self.counts.setText(counts_text(counts))
        waiting = (CountGroup.NOT_SENT_YET, CountGroup.CHECKING, CountGroup.HELD)
        queued = sum(n for g, n in counts.items() if g not in waiting)
        settled = sum(n for g, n in counts.items() if g in SETTLED)
        need = sum(n for g, n in counts.items() if g in NEEDS_USER)
        self.progress.setRange(0, max(1, queued))
        self.progress.setValue(settled)
        if need:
            text = f"%v of %m done  ·  {need} need{'s' if need == 1 else ''} you"
        else:
            text = "%v of %m done" if queued else "Nothing sent yet"
        self.progress.setFormat(text)
        self._tone_bar(Tone.WARNING if need else Tone.BUSY)

    def _tone_accent(self, tone: Tone) -> None:
        """The panel's stripe takes the colour of the photo's outcome (amber for a skipped
        copy or a held photo, red for a failure), as its row does."""
        self.error_accent.setProperty("tone", str(tone))
        self.error_accent.setStyleSheet(f"background: {ACCENTS[tone]}; border-radius: 2px;")

    def _tone_bar(self, tone: Tone) -> None:
        """Colour the bar's filled part (amber: something needs the user)."""
        if self.progress.property("tone") == str(tone):
            return
        self.progress.setProperty("tone", str(tone))
        palette = self.progress.palette()
        palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENTS[tone]))
        ink = "#000000" if tone is Tone.WARNING else "#ffffff"
        palette.setColor(QPalette.ColorRole.HighlightedText, QColor(ink))
        self.progress.setPalette(palette)

    def set_rate_limit(self, seconds: float) -> None:
        if seconds <= 0.05:
            self.rate.hide()
            return
        self.rate.setText(f"Max AI asked to slow down: sending resumes in {seconds:.0f} s")
        self.rate.show()

    def set_upload_state(self, enabled: bool, label: str, hint: str) -> None:
        self.upload.setEnabled(enabled)
        self.upload.setText(label)
        self.upload_hint.setText(hint)

    def show_error(self, text: Outcome | None, file_name: str = "") -> None:
        self._error = text
        self._error_file = file_name
        if text is None:
            self.error_panel.hide()
            return
        self._tone_accent(KIND_TONES[text.kind])
        head = f"<b>{file_name}</b>: " if file_name else ""
        # The trace id is for support: it goes to the clipboard with "Copy details", not on screen.
        lines = [f"{head}{_esc(text.summary)}", _esc(text.next_step)]
        self.error_text.setText("<br>".join(lines))
        label = ACTION_LABELS.get(text.action)
        self.error_action.setVisible(label is not None)
        if label:
            self.error_action.setText(label)
            self.error_action.setAccessibleName(label)
        self.error_panel.show()
        head = f"{file_name}: " if file_name else ""
        self.error_shown.emit(f"{head}{text.summary} {text.next_step}")

    def current_error(self) -> Outcome | None:
        return self._error if self.error_panel.isVisible() or self._error else None

    @Slot()
    def copy_details(self) -> None:
        if self._error is not None:
            QGuiApplication.clipboard().setText(self._error.details(self._error_file))

    @Slot()
    def _action_clicked(self) -> None:
        if self._error is not None:
            self.action_requested.emit(str(self._error.action))

    def add_batch_choice(self, widget: QWidget) -> None:
        """Show a choice about the next batch beside the counts, next to Upload."""
        self._counts_row.insertWidget(1, widget)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
