"""Many item changes at once reach the window a part per event-loop turn, in order, none lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maxupload.gui.engine_bridge import ITEMS_PER_TURN, EngineBridge


@dataclass(frozen=True)
class Change:
    """What the engine reports about one queue item (its id and revision)."""

    id: int
    revision: int = 1


def record(bridge: EngineBridge) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    bridge.item_changed.connect(lambda item: seen.append(("item", item)))
    bridge.batch_finished.connect(lambda counts: seen.append(("batch", counts)))
    return seen


def test_a_large_flush_is_shown_in_parts_then_the_batch_summary(qtbot: Any) -> None:
    bridge = EngineBridge(interval_ms=60_000)  # only the flushes this test asks for
    seen = record(bridge)
    for i in range(40):
        bridge.push_item(Change(i))
    bridge.push_batch({"verified": 40})

    bridge.flush()
    assert [kind for kind, _ in seen] == ["item"] * ITEMS_PER_TURN  # the rest waits a turn

    qtbot.waitUntil(lambda: len(seen) == 41, timeout=5000)
    assert [item.id for kind, item in seen if kind == "item"] == list(range(40))
    assert seen[-1] == ("batch", {"verified": 40})  # the summary follows its items
    bridge.stop()


def test_a_newer_change_replaces_one_still_waiting(qtbot: Any) -> None:
    bridge = EngineBridge(interval_ms=60_000)
    seen = record(bridge)
    for i in range(ITEMS_PER_TURN + 4):
        bridge.push_item(Change(i))
    bridge.flush()
    last = ITEMS_PER_TURN + 3
    bridge.push_item(Change(last, revision=2))  # arrives while the first change of it waits
    bridge.push_item(Change(last, revision=1))  # an older snapshot never replaces a newer one

    # The highest id is shown last, in the same turn as the rest.
    qtbot.waitUntil(lambda: any(item.id == last for _, item in seen), timeout=5000)
    emitted = [item for _, item in seen]
    assert [c.id for c in emitted] == list(range(ITEMS_PER_TURN + 4))
    assert emitted[-1].revision == 2
    bridge.stop()
