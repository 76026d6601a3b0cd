"""Capacity arithmetic for ``nicelist reshard plan``: pure, no AWS.

Write side, per shard: 1 MiB/s and 1,000 records/s. With KPL aggregation the records/s limit
counts *aggregated* Kinesis records, not the user records inside them, and the bytes are the
aggregated records' wire bytes (framing and partition keys included). Read side, per shard and
shared by every consumer that polls it: 2 MiB/s and 5 GetRecords calls/s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from foundation import kpl
from foundation.limits import (
    KINESIS_MAX_RECORD_BYTES,
    KINESIS_SHARD_READ_BYTES_PER_SEC,
    KINESIS_SHARD_READ_CALLS_PER_SEC,
    KINESIS_SHARD_WRITE_BYTES_PER_SEC,
    KINESIS_SHARD_WRITE_RECORDS_PER_SEC,
    MiB,
)

KPL_DEFAULT_AGGREGATE_BYTES = kpl.DEFAULT_AGGREGATE_BYTES
KPL_MAGIC_BYTES = len(kpl.MAGIC)
KPL_DIGEST_BYTES = kpl.DIGEST_BYTES
#: the Christmas Eve figure from the issue: updates to absorb within ``within_hours``
DEFAULT_UPDATES = 1_800_000_000
SECONDS_PER_HOUR = 3600


def varint_bytes(value: int) -> int:
    """Length of ``value`` as a protobuf varint."""
    return max(1, math.ceil(value.bit_length() / 7))


def kpl_user_record_bytes(event_bytes: int) -> int:
    """Wire bytes of one user record inside a KPL aggregated record: the Record message
    (partition_key_index = 0, data) and its field header in the AggregatedRecord."""
    inner = 2 + 1 + varint_bytes(event_bytes) + event_bytes  # key index field + data field
    return 1 + varint_bytes(inner) + inner


@dataclass(frozen=True, kw_only=True)
class CapacityInputs:
    peak_events_per_sec: float
    #: one encoded event (Avro single-object) in bytes
    event_bytes: int
    #: spare capacity at the peak, as a fraction (0.25 = plan for 125% of the peak)
    headroom: float = 0.25
    aggregate_bytes: int = KPL_DEFAULT_AGGREGATE_BYTES
    #: one random partition key per aggregated record
    partition_key_bytes: int = 32
    #: applications reading every shard with GetRecords (shared throughput, no enhanced fan-out)
    consumers: int = 1
    #: how often each consumer polls each shard (KCL idleTimeBetweenReadsInMillis)
    poll_interval_ms: int = 1000
    updates: int = DEFAULT_UPDATES
    within_hours: float = 24.0

    def __post_init__(self) -> None:
        if self.peak_events_per_sec <= 0:
            raise ValueError("peak_events_per_sec must be positive")
        if self.event_bytes <= 0:
            raise ValueError("event_bytes must be positive")
        if self.headroom < 0:
            raise ValueError("headroom must not be negative")
        if not 0 < self.aggregate_bytes <= KINESIS_MAX_RECORD_BYTES:
            raise ValueError(f"aggregate_bytes must be 1..{KINESIS_MAX_RECORD_BYTES}")
        if self.consumers < 1 or self.poll_interval_ms <= 0 or self.partition_key_bytes < 1:
            raise ValueError("consumers, poll_interval_ms and partition_key_bytes must be positive")
        if self.updates <= 0 or self.within_hours <= 0:
            raise ValueError("updates and within_hours must be positive")


@dataclass(frozen=True, kw_only=True)
class ShardNeed:
    """Shards one rate of events needs, per limit."""

    events_per_sec: float
    write_bytes_per_sec: float
    aggregates_per_sec: float
    write_bytes_shards: int
    write_records_shards: int
    read_bytes_shards: int

    @property
    def shards(self) -> int:
        return max(self.write_bytes_shards, self.write_records_shards, self.read_bytes_shards, 1)


@dataclass(frozen=True, kw_only=True)
class CapacityPlan:
    inputs: CapacityInputs
    user_record_bytes: int
    events_per_aggregate: int
    aggregate_overhead_bytes: int
    bytes_per_event: float
    peak: ShardNeed
    #: records/s limit if the events were sent unaggregated, for comparison
    unaggregated_records_shards: int
    read_calls_per_shard_per_sec: float
    spike: ShardNeed
    lines: tuple[str, ...]

    @property
    def shards(self) -> int:
        """The recommendation: enough for the planned peak with headroom."""
        return self.peak.shards

    @property
    def read_calls_ok(self) -> bool:
        return self.read_calls_per_shard_per_sec <= KINESIS_SHARD_READ_CALLS_PER_SEC

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": asdict(self.inputs),
            "user_record_bytes": self.user_record_bytes,
            "events_per_aggregate": self.events_per_aggregate,
            "aggregate_overhead_bytes": self.aggregate_overhead_bytes,
            "bytes_per_event": self.bytes_per_event,
            "peak": {**asdict(self.peak), "shards": self.peak.shards},
            "unaggregated_records_shards": self.unaggregated_records_shards,
            "read_calls_per_shard_per_sec": self.read_calls_per_shard_per_sec,
            "read_calls_ok": self.read_calls_ok,
            "spike": {**asdict(self.spike), "shards": self.spike.shards},
            "shards": self.shards,
            "arithmetic": list(self.lines),
        }


def _ceil(value: float) -> int:
    # 3.0000000000000004 shards is 3 shards: round away float noise before the ceiling
    return max(1, math.ceil(round(value, 9)))


def plan_capacity(inputs: CapacityInputs) -> CapacityPlan:
    """How many shards the planned peak (with headroom) and the 1.8-billion-update spike need."""
    i = inputs
    user_record = kpl_user_record_bytes(i.event_bytes)
    key_entry = 1 + varint_bytes(i.partition_key_bytes) + i.partition_key_bytes
    # the aggregated record's partition key counts towards the shard's bytes as well
    overhead = KPL_MAGIC_BYTES + KPL_DIGEST_BYTES + key_entry + i.partition_key_bytes
    per_aggregate = max(1, (i.aggregate_bytes - overhead) // user_record)
    bytes_per_event = user_record + overhead / per_aggregate
    factor = 1 + i.headroom

    def need(events_per_sec: float) -> ShardNeed:
        write_bytes = events_per_sec * bytes_per_event * factor
        aggregates = events_per_sec / per_aggregate * factor
        return ShardNeed(
            events_per_sec=events_per_sec,
            write_bytes_per_sec=write_bytes,
            aggregates_per_sec=aggregates,
            write_bytes_shards=_ceil(write_bytes / KINESIS_SHARD_WRITE_BYTES_PER_SEC),
            write_records_shards=_ceil(aggregates / KINESIS_SHARD_WRITE_RECORDS_PER_SEC),
            read_bytes_shards=_ceil(write_bytes * i.consumers / KINESIS_SHARD_READ_BYTES_PER_SEC),
        )

    peak = need(i.peak_events_per_sec)
    spike_rate = i.updates / (i.within_hours * SECONDS_PER_HOUR)
    spike = need(spike_rate)
    unaggregated = _ceil(i.peak_events_per_sec * factor / KINESIS_SHARD_WRITE_RECORDS_PER_SEC)
    calls = i.consumers * 1000 / i.poll_interval_ms
    mib = float(MiB)

    lines = [
        f"event on the wire: {i.event_bytes} B + {user_record - i.event_bytes} B KPL framing = {user_record} B",
        f"aggregated record: up to {i.aggregate_bytes} B = {per_aggregate} events + {overhead} B "
        f"(magic, MD5, {i.partition_key_bytes}-byte partition key twice) -> {bytes_per_event:.2f} B per event",
        f"headroom: x {factor:.2f}",
        f"write bytes: {i.peak_events_per_sec:,.0f} events/s x {bytes_per_event:.2f} B x {factor:.2f} = "
        f"{peak.write_bytes_per_sec / mib:.3f} MiB/s / 1 MiB/s per shard -> {peak.write_bytes_shards} shards",
        f"write records: {i.peak_events_per_sec:,.0f} / {per_aggregate} events per aggregate x {factor:.2f} = "
        f"{peak.aggregates_per_sec:,.1f} records/s / {KINESIS_SHARD_WRITE_RECORDS_PER_SEC} per shard "
        f"-> {peak.write_records_shards} shards (unaggregated it would be {unaggregated})",
        f"read bytes: {peak.write_bytes_per_sec / mib:.3f} MiB/s x {i.consumers} consumer(s) = "
        f"{peak.write_bytes_per_sec * i.consumers / mib:.3f} MiB/s / 2 MiB/s per shard "
        f"-> {peak.read_bytes_shards} shards",
        f"read calls: {i.consumers} consumer(s) x 1 GetRecords per {i.poll_interval_ms} ms "
        f"= {calls:.2f} calls/s per shard "
        f"(limit {KINESIS_SHARD_READ_CALLS_PER_SEC}): "
        + ("ok" if calls <= KINESIS_SHARD_READ_CALLS_PER_SEC else "TOO MANY: poll less often or use enhanced fan-out"),
        f"peak needs max({peak.write_bytes_shards}, {peak.write_records_shards}, {peak.read_bytes_shards}) = "
        f"{peak.shards} shards",
        f"spike: {i.updates:,} updates in {i.within_hours:g} h = {spike_rate:,.0f} events/s -> write bytes "
        f"{spike.write_bytes_shards}, write records {spike.write_records_shards}, read bytes {spike.read_bytes_shards} "
        f"-> {spike.shards} shards (same headroom)",
    ]
    return CapacityPlan(
        inputs=i,
        user_record_bytes=user_record,
        events_per_aggregate=per_aggregate,
        aggregate_overhead_bytes=overhead,
        bytes_per_event=bytes_per_event,
        peak=peak,
        unaggregated_records_shards=unaggregated,
        read_calls_per_shard_per_sec=calls,
        spike=spike,
        lines=tuple(lines),
    )
