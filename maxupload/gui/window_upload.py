"""The Upload button: which photos it sends, why it is disabled, and the service's answer."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot

from maxupload.core.checks.confirmation import Expiry
from maxupload.core.outcomes import Action, OutcomeKind, describe_error
from maxupload.core.queue.model import RESUMABLE_STATES, ItemState
from maxupload.gui.photo_model import PhotoRow
from maxupload.gui.status_text import Tone
from maxupload.gui.upload_controller import SubmitRequest
from maxupload.gui.window_recovery import movable_rows
from maxupload.gui.window_rows import RETRYABLE, photos_phrase


class WindowUpload:
    """What Upload sends, whether it may, and the upload service's answer.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    def sendable_rows(self) -> list[PhotoRow]:
        """Staged photos the checks let go now (held ones once acknowledged for this batch)."""
        acknowledged = bool(self.held_ack.acknowledged())
        return [
            r
            for r in self.model.staged_rows()
            if r.check_stop is None or (r.check_stop.kind is OutcomeKind.HELD and acknowledged)
        ]

    def waiting_rows(self, note_id: str | None = None) -> list[PhotoRow]:
        """Queued rows not yet started (restored or held), optionally for one note."""
        return [
            r
            for r in self.model.rows()
            if not r.is_staged
            and r.state in RESUMABLE_STATES
            and (note_id is None or r.note_id == note_id)
            and r.item_id not in self._started
        ]

    def listed_rows(self, note_id: str) -> list[PhotoRow]:
        """The photos a confirmation for ``note_id`` would cover: added and not yet queued,
        and queued for that note but not started."""
        return self.model.staged_rows() + self.waiting_rows(note_id)

    def covered_rows(self, note_id: str) -> list[PhotoRow]:
        """The listed photos the live confirmation covers for ``note_id`` (what Upload sends)."""
        return [r for r in self.listed_rows(note_id) if self.confirmation.covers(note_id, r)]

    def upload_rows(self, note_id: str) -> list[PhotoRow]:
        """The covered photos the photo checks let go now (the count on the Upload button)."""
        let_go = {r.key for r in self.sendable_rows()}
        return [r for r in self.covered_rows(note_id) if not r.is_staged or r.key in let_go]

    # ------------------------------------------------------------------ upload
    def upload_block_reason(self) -> str:
        """Why Upload is disabled right now ("" when it is enabled)."""
        note = self.banner.note
        if note is None:
            return "Choose the patient's note first."
        if note.is_locked:
            return "This note is signed: choose another note."
        if self.banner.note_gone:
            return "This note no longer exists in the EHR: choose another note."
        if self._provider is None:
            return "Choose the provider to upload as."
        if not self.listed_rows(note.id):
            return "Add photos to send."
        if not self.confirmation.is_confirmed:
            ended = self.confirmation.reason_text()
            return ended or "Tick 'I confirm this is the right patient' to enable Upload."
        if not self.upload_rows(note.id):
            if any(r.is_staged for r in self.covered_rows(note.id)):
                return "The photos in the list are held back by the photo checks (see each row)."
            return "Add photos to send."
        return ""

    @Slot()
    def upload(self) -> None:
        """Hand the staged photos (and those waiting for this note) to the upload service."""
        reason = self.upload_block_reason()
        if reason:
            self.show_notice(reason)
            return
        note, provider = self.banner.note, self._provider
        if note is None or provider is None:
            return
        covered = self.covered_rows(note.id)  # only what this confirmation covers
        waiting_rows = [r for r in covered if not r.is_staged]
        other_provider = [
            r for r in waiting_rows if r.extra.get("provider_id") not in (None, provider.id)
        ]
        if other_provider:
            self.show_notice(
                f"{photos_phrase(len(other_provider), 'keeps', 'keep')} the provider chosen when "
                "queued; to send as another provider, remove and add again.",
                Tone.WARNING,
            )
        base_url, org_id = self.deps.connection()
        staged = [r.item_id for r in covered if r.is_staged and r.item_id is not None]
        waiting = [r.item_id for r in waiting_rows if r.item_id is not None]
        request = SubmitRequest(
            staged=staged,
            waiting=waiting,
            note_id=note.id,
            provider_id=provider.id,
            preset=self.preview.preset_spec(),
            base_url=base_url,
            org_id=org_id,
            acknowledged=self.held_ack.acknowledged(),
            trash_originals=self.originals_option.wanted(),
        )
        self.confirmation.batch_sent(staged + waiting)
        self._upload_pending = True
        self._refresh_state()
        self.uploads.submit(request)

    @Slot(object)
    def _submitted(self, result: Any) -> None:
        """The service queued what passed the checks; show every photo's new snapshot."""
        self._upload_pending = False
        self._apply_items([*result.queued, *result.stopped, *result.stand_ins.values()])
        self._apply_items(result.skipped)  # copies of a picture in the EHR stay, marked
        for staged_id in set(result.stand_ins) - {s.id for s in result.skipped}:
            self._removed.add(staged_id)
            i = self.model.find_item(staged_id)
            if i is not None:  # an earlier item stands for it: one row per photo
                self.model.remove_row_indexes([i])
        self._started.update(result.run)
        self.confirmation.batch_sent(list(result.run))
        self.held_ack.reset()  # an acknowledgement covers one batch
        self.originals_option.batch_queued()  # so does the choice about the originals
        self._show_checks()
        blocked = [s for s in result.stopped if s.outcome.kind is OutcomeKind.BLOCKED]
        held = [s for s in result.stopped if s.outcome.kind is OutcomeKind.HELD]
        if blocked or held:
            parts = []
            if blocked:
                why = blocked[0].outcome.message
                parts.append(f"{photos_phrase(len(blocked), 'was', 'were')} not sent: {why}")
            if held:
                why = held[0].outcome.message
                parts.append(f"{photos_phrase(len(held), 'is', 'are')} held back: {why}")
            self.show_notice(" ".join(parts), Tone.ERROR if blocked else Tone.WARNING)
        self.uploads_queued.emit(list(result.run))
        self._refresh_state()
        self._selection_changed()

    @Slot(object)
    def _submit_failed(self, exc: BaseException) -> None:
        self._upload_pending = False
        outcome = describe_error(exc)
        note = self.banner.note
        self.shown_error.show(outcome, note.id if note else None)
        if outcome.action == Action.CHOOSE_NOTE:
            self.confirmation.end(Expiry.UPLOAD_REFUSED)  # the note itself was refused
            if note is not None:
                self.note_refresh.refused(note.id)  # the banner shows what the server says
        else:
            self.confirmation.batch_not_sent()
        self._refresh_state()

    # ------------------------------------------------------------------ state
    @Slot()
    def _refresh_state(self) -> None:
        self.status_panel.set_counts(self.model.group_counts())
        reason = self.upload_block_reason()
        note = self.banner.note
        n = len(self.upload_rows(note.id)) if note else 0
        self.banner.set_photos_listed(bool(note and self.listed_rows(note.id)))
        name = note.patient.display_name if note and note.patient else "Unknown patient"
        if self._upload_pending:
            label, hint, enabled = "Sending…", "Checking the note and queueing the photos.", False
        elif not reason:
            label = f"Upload {n} photo{'s' if n != 1 else ''} to {name}"
            hint = "Sends the photos you confirmed."
            enabled = True
        else:
            label, hint, enabled = "Upload", reason, False
        self.status_panel.set_upload_state(enabled, label, hint)
        self.upload_action.setEnabled(enabled)
        rows = self.selected_rows()
        self.remove_button.setEnabled(bool(rows))
        self.retry_button.setEnabled(any(r.state in RETRYABLE and r.item_id for r in rows))
        self.send_again_button.setEnabled(any(r.state == ItemState.NEEDS_DECISION for r in rows))
        self.cancel_action.setEnabled(any(r.is_active and r.item_id for r in rows))
        self.move_action.setEnabled(bool(movable_rows(rows)))
        self.include_copies.refresh(rows)
