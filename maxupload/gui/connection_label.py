"""The status bar's plain answer to "where do my photos go": the clinic and the environment.

The clinic is the facility of the chosen note; the environment is named in words (Production,
Staging, Local sandbox). Addresses and organization ids stay in Settings, not on screen.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


class ConnectionLabel(QLabel):
    """``Clinic: Westside Dermatology  ·  Production``.

    Signals: none.
    """

    def __init__(self, environment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionLabel")
        self._environment = environment
        self._clinic = ""
        self._show()

    def set_environment(self, environment: str) -> None:
        self._environment = environment
        self._clinic = ""  # another connection: the clinic is known again once a note is chosen
        self._show()

    def set_clinic(self, name: str | None) -> None:
        self._clinic = name or ""
        self._show()

    def _show(self) -> None:
        clinic = (
            f"Clinic: {self._clinic}" if self._clinic else "Clinic: shown once a note is chosen"
        )
        text = f"{clinic}  ·  {self._environment}" if self._environment else clinic
        self.setText(text)
        self.setAccessibleName(text)
