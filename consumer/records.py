"""From what the daemon delivers to behaviour events: pure, no AWS.

A Kinesis record reaches the processor in one of three shapes:

- a user record the KCL already deaggregated from a KPL aggregate (sub-sequence number >= 0);
- a plain record, one event per ``put_record`` from producers that do not aggregate;
- a KPL aggregate the KCL passed through whole (magic ``F3 89 9A C2``): deaggregated here, its
  user records numbered by their index in the aggregate.

Every user record becomes either a :class:`DecodedEvent` or an :class:`Undecodable` (bound for the
dead-letter prefix); nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from schemas import BehaviourEventCodec, SchemaError, validate_event

from ._aggregation import deaggregate, is_aggregated
from ._errors import AggregationError

#: (sequence number as an integer, sub-sequence number): the order of records in a shard.
Position = tuple[int, int]


def record_name(shard_id: str, sequence_number: str, subsequence_number: int) -> str:
    """``<shard>-<sequence>-<sub-sequence>``: unique per user record, used in object keys."""
    return f"{shard_id}-{sequence_number}-{subsequence_number}"


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    """One record as the daemon delivered it, or one user record of an aggregate."""

    shard_id: str
    sequence_number: str
    subsequence_number: int
    partition_key: str
    arrived_at_ms: int
    data: bytes

    @property
    def position(self) -> Position:
        return int(self.sequence_number), self.subsequence_number

    @property
    def name(self) -> str:
        """``<shard>-<sequence>-<sub-sequence>``: unique per user record, used in object keys."""
        return record_name(self.shard_id, self.sequence_number, self.subsequence_number)


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """A valid behaviour event and the user record that carried it."""

    record: KinesisRecord
    event: dict[str, Any]
    writer_fingerprint_hex: str

    @property
    def kid_id(self) -> str:
        return str(self.event["kid_id"])

    @property
    def order_key(self) -> tuple[int, str]:
        """Last writer wins by (observed_at, event_id)."""
        return int(self.event["observed_at"]), str(self.event["event_id"])


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A record (or user record) that is not a valid behaviour event, and why."""

    record: KinesisRecord
    reason: str


Outcome = DecodedEvent | Undecodable


def from_kcl(record: Any, shard_id: str) -> KinesisRecord:
    """A :class:`KinesisRecord` from an ``amazon_kclpy.messages.Record``."""
    subsequence = record.sub_sequence_number
    return KinesisRecord(
        shard_id=shard_id,
        sequence_number=str(record.sequence_number),
        subsequence_number=int(subsequence) if subsequence is not None else 0,
        partition_key=str(record.partition_key),
        arrived_at_ms=int(record.timestamp_millis),
        data=record.binary_data,
    )


def user_records(record: KinesisRecord) -> Iterator[KinesisRecord | Undecodable]:
    """The record itself, or the user records of a KPL aggregate that arrived whole."""
    if not is_aggregated(record.data):
        yield record
        return
    try:
        parts = deaggregate(record.data)
    except AggregationError as exc:
        yield Undecodable(record, f"invalid KPL aggregate: {exc}")
        return
    for index, part in enumerate(parts):
        yield KinesisRecord(
            shard_id=record.shard_id,
            sequence_number=record.sequence_number,
            subsequence_number=index,
            partition_key=part.partition_key,
            arrived_at_ms=record.arrived_at_ms,
            data=part.data,
        )


def decode_user_record(record: KinesisRecord, codec: BehaviourEventCodec) -> Outcome:
    """Decode and validate one event; undecodable or invalid events are reported, not raised."""
    try:
        writer = codec.writer_of(record.data)
        event = validate_event(codec.decode(record.data))
    except SchemaError as exc:
        return Undecodable(record, f"{type(exc).__name__}: {exc}")
    return DecodedEvent(record, event, writer.fingerprint_hex)


def decode(record: KinesisRecord, codec: BehaviourEventCodec) -> list[Outcome]:
    """Every outcome carried by one delivered record, in order."""
    outcomes: list[Outcome] = []
    for part in user_records(record):
        outcomes.append(part if isinstance(part, Undecodable) else decode_user_record(part, codec))
    return outcomes
