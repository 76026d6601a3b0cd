"""From what the daemon delivers to behaviour events: pure, no AWS.

A Kinesis record reaches the processor in one of two shapes, each one user record:

- a user record the KCL deaggregated from a KPL aggregate (sub-sequence number = its index);
- a plain record, one event per ``put_record`` from producers that do not aggregate
  (sub-sequence number 0).

The KCL deaggregates every record it reads (and passes one through whole only when it cannot
parse it), so a record that still starts with the KPL magic ``F3 89 9A C2`` is a damaged aggregate
or an aggregate nested inside another one. Either is dead-lettered whole, never deaggregated
here: its user records would be numbered 0, 1, ... again, the identities of its siblings, and
the create-only archive and dead-letter writes would then keep one of each pair and drop the
other. So ``(shard, sequence number, sub-sequence number)`` names exactly one user record.

Every user record becomes either a :class:`DecodedEvent` or an :class:`Undecodable` (bound for the
dead-letter prefix); nothing is dropped. An event whose ``observed_at`` lies more than
``max_future_skew_ms`` past its record's arrival (ApproximateArrivalTimestamp) is an
:class:`Undecodable` too: kept whole in the dead letter, not clamped, so no stored event ever
differs from what its reporter sent.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from schemas import HEADER_BYTES, BehaviourEventCodec, SchemaError, validate_event

from ._aggregation import aggregate_problem, is_aggregated

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


def aggregate_reason(record: KinesisRecord) -> str:
    """Why a record that starts with the KPL magic is dead-lettered whole."""
    problem = aggregate_problem(record.data)
    if problem is not None:
        return f"invalid KPL aggregate: {problem}"
    return (
        f"nested KPL aggregate ({len(record.data)} bytes inside a user record): kept whole, "
        "never deaggregated again (its user records would reuse its siblings' sub-sequence numbers)"
    )


def future_skew_reason(record: KinesisRecord, observed_at_ms: int, max_future_skew_ms: int) -> str | None:
    """Why an event observed too far past its record's arrival is refused; None when it is not."""
    ahead_ms = observed_at_ms - record.arrived_at_ms
    if ahead_ms <= max_future_skew_ms:
        return None
    return (
        f"observed_at {observed_at_ms} is {ahead_ms} ms past the record's ApproximateArrivalTimestamp "
        f"{record.arrived_at_ms}, more than max_future_skew_ms {max_future_skew_ms}"
    )


#: why data shorter than the single-object header was refused, by its bytes (bounded: cleared when full)
_TOO_SHORT: dict[bytes, str] = {}
_TOO_SHORT_MAX = 4096


def _too_short_reason(data: bytes, codec: BehaviourEventCodec) -> str | None:
    """Why ``data`` (shorter than the header, so never an event) is refused: the codec's own
    words, asked once per distinct value (a bad aggregate's empty parts cost one exception);
    None if the codec does not refuse it (then the ordinary path decides)."""
    reason = _TOO_SHORT.get(data)
    if reason is None:
        try:
            codec.writer_of(data)
            codec.decode(data)
        except SchemaError as exc:
            reason = sys.intern(f"{type(exc).__name__}: {exc}")
        else:
            return None
        if len(_TOO_SHORT) >= _TOO_SHORT_MAX:
            _TOO_SHORT.clear()
        _TOO_SHORT[data] = reason
    return reason


def decode_user_record(
    record: KinesisRecord, codec: BehaviourEventCodec, *, max_future_skew_ms: int | None = None
) -> Outcome:
    """Decode and validate one event; undecodable, invalid or far-future events are reported, not
    raised (``max_future_skew_ms`` None: no bound on ``observed_at``)."""
    if is_aggregated(record.data):
        return Undecodable(record, aggregate_reason(record))
    short = _too_short_reason(record.data, codec) if len(record.data) < HEADER_BYTES else None
    if short is not None:
        return Undecodable(record, short)
    try:
        writer = codec.writer_of(record.data)
        event = validate_event(codec.decode(record.data))
    except SchemaError as exc:
        # interned: the parts of one bad aggregate nearly always share their reason, so 174,752
        # refused parts hold one string, not 174,752 copies
        return Undecodable(record, sys.intern(f"{type(exc).__name__}: {exc}"))
    if max_future_skew_ms is not None:
        skewed = future_skew_reason(record, int(event["observed_at"]), max_future_skew_ms)
        if skewed is not None:
            return Undecodable(record, skewed)
    return DecodedEvent(record, event, writer.fingerprint_hex)


def decode(
    record: KinesisRecord, codec: BehaviourEventCodec, *, max_future_skew_ms: int | None = None
) -> list[Outcome]:
    """Every outcome carried by one delivered record (exactly one: the KCL deaggregated already)."""
    return [decode_user_record(record, codec, max_future_skew_ms=max_future_skew_ms)]
