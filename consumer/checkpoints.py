"""Which position a shard may be checkpointed at: pure bookkeeping, no AWS, no daemon.

Positions are the daemon's (sequence number, sub-sequence number) of the records it delivered, so
a checkpoint names a record the KCL knows, also when an aggregate arrived whole and was split here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import KinesisRecord, Position


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A position to hand to ``checkpointer.checkpoint(sequence_number, sub_sequence_number)``."""

    sequence_number: str
    subsequence_number: int

    @property
    def position(self) -> Position:
        return int(self.sequence_number), self.subsequence_number


class CheckpointTracker:
    """Delivered -> durable -> checkpointed, each monotonic."""

    def __init__(self) -> None:
        self._delivered: Checkpoint | None = None
        self._durable: Checkpoint | None = None
        self._checkpointed: Checkpoint | None = None

    def delivered(self, record: KinesisRecord) -> None:
        """The daemon delivered ``record`` (and everything before it in the shard)."""
        point = Checkpoint(record.sequence_number, record.subsequence_number)
        if self._delivered is not None and point.position <= self._delivered.position:
            raise ValueError(f"records went backwards: {point} after {self._delivered}")
        self._delivered = point

    @property
    def delivered_point(self) -> Checkpoint | None:
        """The last position delivered so far."""
        return self._delivered

    def durable_through(self, point: Checkpoint | None) -> None:
        """Both sinks hold everything up to ``point`` (a position delivered earlier)."""
        if point is not None and (self._durable is None or point.position > self._durable.position):
            self._durable = point

    def all_durable(self) -> None:
        """Both sinks hold everything delivered so far."""
        self._durable = self._delivered

    @property
    def has_undurable(self) -> bool:
        return self._delivered is not None and self._delivered != self._durable

    def pending(self) -> Checkpoint | None:
        """The durable position not yet checkpointed, if any."""
        if self._durable is None or self._durable == self._checkpointed:
            return None
        return self._durable

    def checkpointed(self, point: Checkpoint) -> None:
        self._checkpointed = point

    def forget_undurable(self) -> None:
        """Lease lost: what was not durable will be replayed by the next owner."""
        self._delivered = self._durable
