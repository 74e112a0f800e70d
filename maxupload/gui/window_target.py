"""Wiring of the target panel and the patient banner: the chosen note, provider and
confirmation, the photo checks' findings, and the error panel's actions."""

from __future__ import annotations

from PySide6.QtCore import Slot

from maxupload.core.api.models import Note, Provider
from maxupload.core.checks.confirmation import Expiry
from maxupload.core.checks.photo import CheckCode
from maxupload.core.outcomes import Action, OutcomeKind
from maxupload.core.queue.model import ItemState
from maxupload.core.uploads import PhotoSnapshot
from maxupload.gui.status_text import Tone


class WindowTarget:
    """Reacts to the patient, note and provider the user picks, and to the error panel's actions.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    # ------------------------------------------------------------------ target
    @Slot(object)
    def _note_chosen(self, note: Note | None) -> None:
        self.banner.set_target(note, self._provider)
        self.shown_error.note_changed(note.id if note else None)
        if note is not None and note.facility is not None:
            self.connection_label.set_clinic(note.facility.name)
        self.model.set_current_note(note.id if note else None)
        self._check_staged()
        self._refresh_state()

    def _check_staged(self) -> None:
        """Show the photo checks' findings of the staged photos for the chosen note."""
        note = self.banner.note
        staged = [r.item_id for r in self.model.staged_rows() if r.item_id is not None]
        if staged:
            self.uploads.check(staged, note)  # no note: findings of the last one go
        self._show_checks()

    @Slot(object)
    def _facts_read(self, snap: PhotoSnapshot) -> None:
        """The checks read one photo: show it, and judge it against the chosen note."""
        self._apply_item(snap)
        note = self.banner.note
        if note is not None and snap.state == ItemState.STAGED:
            self.uploads.check([snap.id], note)

    @Slot(list)
    def _checked(self, snapshots: list[PhotoSnapshot]) -> None:
        self._apply_items(snapshots)
        self._show_checks()
        self._selection_changed()  # the selected photo's finding shows in the status panel

    def _show_checks(self) -> None:
        """The acknowledgement box while photos are held, and the label badge on the banner."""
        staged = self.model.staged_rows()
        held = [r for r in staged if r.check_stop and r.check_stop.kind is OutcomeKind.HELD]
        self.held_ack.set_held(len(held))
        found = [f.code for r in staged for f in r.findings]
        matches = [f for r in staged for f in r.findings if f.code is CheckCode.LABEL_MATCH]
        if CheckCode.LABEL_MISMATCH in found:
            # Never a reassuring badge while another patient's label is in the batch.
            others = found.count(CheckCode.LABEL_MISMATCH)
            text = (
                f"{'A photo shows' if others == 1 else f'{others} photos show'} another "
                "patient's label: not sent to this patient"
            )
            self.banner.show_label_match(text, Tone.ERROR)
        else:
            # The core words it: the chart's MRN, whichever identifier the label carried.
            self.banner.show_label_match(matches[0].message if matches else "")

    @Slot(object)
    def _provider_chosen(self, provider: Provider | None) -> None:
        self._provider = provider
        self.banner.set_provider(provider)
        self._refresh_state()

    @Slot(bool)
    def _confirmation_changed(self, _confirmed: bool) -> None:
        self._refresh_state()

    def reset_target(self) -> None:
        """Forget the chosen note and end the confirmation (the organization, environment or
        key changed)."""
        self.confirmation.end(Expiry.CONNECTION_CHANGED)
        self.target.clear()

    @Slot(str)
    def _error_action(self, action: str) -> None:
        if action == Action.SETTINGS:
            self.deps.open_settings()
        elif action == Action.CHOOSE_NOTE:
            self.choose_another_note()
        elif action in (Action.SEND_AGAIN, Action.RETRY, Action.INCLUDE):
            i = self.model.find_item(self._latest_error_item or -1)
            if i is not None and not self.selected_indexes():
                self.select_row(i)
            if action == Action.SEND_AGAIN:
                self.send_again_selected()
            elif action == Action.INCLUDE:
                self.include_copies.include_selected()
            else:
                self.retry_selected()
