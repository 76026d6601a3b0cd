from __future__ import annotations

import pytest

from consumer.checkpoints import Checkpoint, CheckpointTracker
from consumer.records import KinesisRecord


def rec(seq: int, sub: int = 0) -> KinesisRecord:
    return KinesisRecord("s", str(seq), sub, "k", 0, b"")


def test_nothing_to_checkpoint_until_durable() -> None:
    tracker = CheckpointTracker()
    assert tracker.pending() is None
    tracker.delivered(rec(10))
    assert tracker.has_undurable and tracker.pending() is None
    tracker.all_durable()
    assert tracker.pending() == Checkpoint("10", 0)
    tracker.checkpointed(Checkpoint("10", 0))
    assert tracker.pending() is None and not tracker.has_undurable


def test_sub_sequence_numbers_order_positions() -> None:
    tracker = CheckpointTracker()
    tracker.delivered(rec(10, 1))
    tracker.delivered(rec(10, 2))
    tracker.delivered(rec(11, 0))
    with pytest.raises(ValueError, match="backwards"):
        tracker.delivered(rec(10, 5))
    # compares as numbers, not text
    tracker.delivered(rec(100))
    tracker.all_durable()
    assert tracker.pending() == Checkpoint("100", 0)


def test_lease_lost_forgets_what_was_not_durable() -> None:
    tracker = CheckpointTracker()
    tracker.delivered(rec(1))
    tracker.all_durable()
    tracker.delivered(rec(2))
    tracker.forget_undurable()
    assert not tracker.has_undurable
    assert tracker.pending() == Checkpoint("1", 0)
