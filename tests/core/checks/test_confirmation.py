"""The confirmation rules: what a confirmation covers, when it ends and why."""

from __future__ import annotations

import pytest

from maxupload.core.checks.confirmation import (
    BatchConfirmation,
    Expiry,
    expiry_text,
    idle_problem,
)
from maxupload.core.config.settings import Settings, SettingsError, settings_from_dict, validate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_covers_only_the_photos_listed_for_that_note() -> None:
    rules = BatchConfirmation(clock=Clock())
    rules.give("nte_a", "Rivera, Elena", ["f:/1.jpg", "f:/2.jpg"])
    assert rules.covered("nte_a", ["f:/1.jpg", "f:/3.jpg", "f:/2.jpg"]) == ["f:/1.jpg", "f:/2.jpg"]
    assert not rules.covers("nte_b", "f:/1.jpg")


def test_new_photos_end_it_and_known_ones_do_not() -> None:
    rules = BatchConfirmation(clock=Clock())
    rules.give("nte_a", "Rivera, Elena", ["f:/1.jpg"])
    assert not rules.photos_added(["f:/1.jpg"])
    assert rules.photos_added(["f:/9.jpg"])
    assert rules.current is None and rules.last_expiry == Expiry.PHOTOS_ADDED


def test_batch_finished_ends_only_a_sent_confirmation() -> None:
    rules = BatchConfirmation(clock=Clock())
    rules.give("nte_a", "Rivera, Elena", ["f:/1.jpg"])
    assert not rules.batch_finished()  # another batch went idle; this one was not sent yet
    rules.batch_sent(["q:7"])
    assert rules.covers("nte_a", "q:7")
    assert rules.batch_finished()
    assert rules.last_expiry == Expiry.BATCH_FINISHED


def test_idle_time_ends_an_unused_confirmation() -> None:
    clock = Clock()
    rules = BatchConfirmation(clock=clock)
    rules.give("nte_a", "Rivera, Elena", ["f:/1.jpg"], idle_seconds=300)
    clock.now += 299
    assert not rules.check_idle()
    assert rules.seconds_left() == pytest.approx(1)
    clock.now += 1
    assert rules.check_idle()
    assert rules.last_expiry == Expiry.IDLE
    assert "5 minutes" in expiry_text(Expiry.IDLE, 300)


def test_a_sent_batch_does_not_idle_out() -> None:
    clock = Clock()
    rules = BatchConfirmation(clock=clock)
    rules.give("nte_a", "Rivera, Elena", ["f:/1.jpg"], idle_seconds=1)
    rules.batch_sent()
    clock.now += 3600
    assert not rules.check_idle()


def test_never_expiring_is_refused() -> None:
    with pytest.raises(ValueError):
        BatchConfirmation().give("nte_a", "x", [], idle_seconds=0)
    assert idle_problem(0) and idle_problem(-5) and idle_problem(True) and idle_problem(1.5)
    assert idle_problem(300) is None
    with pytest.raises(SettingsError, match="never expires"):
        validate(Settings(confirm_idle_seconds=0))
    loaded = settings_from_dict({"schema_version": 1, "confirm_idle_seconds": 0})
    assert loaded.confirm_idle_seconds == 300 and loaded.warnings


def test_a_batch_that_could_not_be_handed_over_keeps_it_unused() -> None:
    clock = Clock()
    rules = BatchConfirmation(clock=clock)
    rules.give("nte_a", "Rivera, Elena", ["q:1"], idle_seconds=60)
    rules.batch_sent(["q:1"])
    rules.batch_not_sent()
    assert not rules.batch_finished()  # nothing of it ran, so a finish does not end it
    clock.now += 60
    assert rules.check_idle()  # and its idle time still runs from when it was given
