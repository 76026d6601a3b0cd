"""Capacity arithmetic for ``nicelist reshard plan``: pure, no AWS.

Write side, per shard: 1 MiB/s and 1,000 records/s. With KPL aggregation the records/s limit
counts *aggregated* Kinesis records, not the user records inside them, and the bytes are the
aggregated records' wire bytes (framing and partition keys included). Read side, per shard and
shared by every consumer that polls it: 2 MiB/s and 5 GetRecords calls/s.

Consumer side: the KCL runs one record processor (one Python process) per shard lease, so a
shard's events are written by one processor at most, on one core at most. When that processor
writes fewer events/s than the shard can take, the consumers, not the stream, bound the shard
count: more shards spread the same events over more processors. The processor's capacity per
shard is measured by ``python -m bench.consumer`` (its ``shard_events_per_s_at_5ms``: one
processor, every AWS call taking 5 ms as on AWS; the default and where it was measured are
``DEFAULT_CONSUMER_EVENTS_PER_SHARD_S`` and ``DEFAULT_CONSUMER_SOURCE``, printed with the plan).

The plan also prices the December scenario (:mod:`._cost`, prices in :mod:`._prices`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from admin.reshard._cost import CostInputs, ScenarioCost, scenario_cost, write_units_per_item
from admin.reshard._prices import DYNAMODB_WRITE_REQUEST_UNIT_BYTES
from foundation import kpl
from foundation.limits import (
    DYNAMODB_ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC,
    DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC,
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
#: Events/s one shard's record processor writes, distinct kids, every AWS call taking 5 ms: the
#: ``shard_events_per_s_at_5ms`` of ``python -m bench.consumer`` (batched PartiQL writes, 8 calls
#: in flight). Source: DEFAULT_CONSUMER_SOURCE. Pass another figure with
#: ``--consumer-bench-json`` or ``--consumer-events-per-shard-s``.
DEFAULT_CONSUMER_EVENTS_PER_SHARD_S = 12_764.0
#: where DEFAULT_CONSUMER_EVENTS_PER_SHARD_S was measured (the plan prints it): one run, best of
#: 3, one pinned core of the 2-core development machine (README's run of 2026-12-03: 10,088)
DEFAULT_CONSUMER_SOURCE = "python -m bench.consumer (shard_events_per_s_at_5ms), measured 2026-12-06"
#: write statements DynamoDB receives per kid write: 1 when the sink knows whether the kid's item
#: exists; up to 2 when it guesses wrong (an INSERT refused with DuplicateItem, then the UPDATE, as
#: after a restart on a full table). Each statement that reaches the table consumes write units,
#: refused or not (a failed condition still consumes capacity).
DEFAULT_WRITE_STATEMENTS_PER_KID = 1.0
#: the ``bench.consumer --json`` fields the plan reads
BENCH_SHARD_FIELD = "shard_events_per_s_at_5ms"
BENCH_CPU_FIELD = "processor_events_per_cpu_s"
#: bytes of one kid item in the table (kid, behaviour, event id, times, elf): well under 1 KB
DEFAULT_KID_ITEM_BYTES = 256


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
    #: events/s one shard's record processor sustains (see DEFAULT_CONSUMER_EVENTS_PER_SHARD_S)
    consumer_events_per_shard_s: float = DEFAULT_CONSUMER_EVENTS_PER_SHARD_S
    #: events one processor handles per CPU-second (``processor_events_per_cpu_s`` of
    #: ``bench.consumer``; ~1,050 today): sizes the worker cores and holds a processor to one
    #: core's worth. None: not measured, count one core per processor (an upper bound).
    consumer_events_per_cpu_s: float | None = None
    #: DynamoDB writes per event after the per-kid collapse (distinct kids in a batch / events):
    #: 1.0, every event a different kid, is the worst case
    distinct_kid_ratio: float = 1.0
    kid_item_bytes: int = DEFAULT_KID_ITEM_BYTES
    #: where ``consumer_events_per_shard_s`` comes from (printed beside it)
    consumer_source: str = DEFAULT_CONSUMER_SOURCE
    #: write statements per kid write (see DEFAULT_WRITE_STATEMENTS_PER_KID)
    write_statements_per_kid: float = DEFAULT_WRITE_STATEMENTS_PER_KID
    #: what the December scenario's cost needs beyond these
    costs: CostInputs = field(default_factory=CostInputs)

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
        cpu = self.consumer_events_per_cpu_s
        if self.consumer_events_per_shard_s <= 0 or (cpu is not None and cpu <= 0):
            raise ValueError("consumer_events_per_shard_s and consumer_events_per_cpu_s must be positive")
        if not 0 < self.distinct_kid_ratio <= 1:
            raise ValueError("distinct_kid_ratio must be in (0, 1]")
        if self.kid_item_bytes < 1:
            raise ValueError("kid_item_bytes must be positive")
        if not 1 <= self.write_statements_per_kid <= 2:
            raise ValueError("write_statements_per_kid must be in [1, 2]")


def consumer_capacity_from_bench(report: Mapping[str, Any]) -> dict[str, float]:
    """The :class:`CapacityInputs` fields a ``python -m bench.consumer --json`` report gives:
    ``consumer_events_per_shard_s`` (required) and ``consumer_events_per_cpu_s`` (if present)."""
    fields = {BENCH_SHARD_FIELD: "consumer_events_per_shard_s", BENCH_CPU_FIELD: "consumer_events_per_cpu_s"}
    if BENCH_SHARD_FIELD not in report:
        raise ValueError(f"the benchmark report has no {BENCH_SHARD_FIELD!r}")
    found: dict[str, float] = {}
    for bench_field, input_field in fields.items():
        if bench_field in report:
            value = report[bench_field]
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{bench_field} must be a positive number, got {value!r}")
            found[input_field] = float(value)
    return found


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
class ConsumerNeed:
    """What the record processors need at the planned peak (headroom included)."""

    events_per_sec: float
    #: what one shard's processor writes: its measured rate, or one core's worth if that is less
    events_per_shard_s: float
    #: shards the processors need: one processor per shard lease
    shards: int
    #: cores the processors use on the recommended shards (at most one per shard)
    worker_cores: int
    #: DynamoDB write request units per second at the peak, without and with headroom
    write_units_per_sec: float
    planned_write_units_per_sec: float

    @property
    def warm_write_units(self) -> int:
        """The kid table's warm write throughput to provision (units/s): the planned peak's."""
        return max(1, math.ceil(round(self.planned_write_units_per_sec, 9)))

    @property
    def needs_warming(self) -> bool:
        """Whether the peak is more than a new on-demand table serves at once."""
        return self.planned_write_units_per_sec > DYNAMODB_ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC

    @property
    def write_units_over_table_quota(self) -> bool:
        return self.planned_write_units_per_sec > DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC


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
    consumers: ConsumerNeed
    spike_consumer_shards: int
    cost: ScenarioCost
    lines: tuple[str, ...]

    @property
    def stream_shards(self) -> int:
        """Shards the stream's own limits need at the planned peak."""
        return self.peak.shards

    @property
    def shards(self) -> int:
        """The recommendation: enough for the planned peak with headroom, for the stream and the
        record processors alike."""
        return max(self.stream_shards, self.consumers.shards)

    @property
    def bound(self) -> str:
        """Which side sets the recommendation: ``"stream"`` or ``"consumers"``."""
        return "consumers" if self.consumers.shards > self.stream_shards else "stream"

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
            "spike": {**asdict(self.spike), "shards": self.spike.shards, "consumer_shards": self.spike_consumer_shards},
            "stream_shards": self.stream_shards,
            "consumers": {
                **asdict(self.consumers),
                "write_units_over_table_quota": self.consumers.write_units_over_table_quota,
                "warm_write_units": self.consumers.warm_write_units,
                "needs_warming": self.consumers.needs_warming,
                "table_write_units_quota": DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC,
            },
            "bound": self.bound,
            "shards": self.shards,
            "cost": self.cost.to_dict(),
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
    consumers = _consumer_need(i, peak.shards)
    spike_consumer_shards = _ceil(spike_rate * factor / consumers.events_per_shard_s)
    shards = max(peak.shards, consumers.shards)
    # the aggregated record's data blob: everything but its own partition key
    aggregate_data_bytes = per_aggregate * user_record + overhead - i.partition_key_bytes
    cost = scenario_cost(
        i.costs,
        shards=shards,
        events=i.updates,
        hours=i.within_hours,
        event_bytes=i.event_bytes,
        events_per_aggregate=per_aggregate,
        aggregate_data_bytes=aggregate_data_bytes,
        distinct_kid_ratio=i.distinct_kid_ratio,
        write_units_per_kid_write=write_units_per_item(i.kid_item_bytes, DYNAMODB_WRITE_REQUEST_UNIT_BYTES),
        write_statements_per_kid=i.write_statements_per_kid,
    )
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
        f"-> {spike.shards} shards (same headroom); its consumers need {spike_consumer_shards}",
        *_consumer_lines(i, factor, peak.shards, consumers),
        *cost.lines,
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
        consumers=consumers,
        spike_consumer_shards=spike_consumer_shards,
        cost=cost,
        lines=tuple(lines),
    )


def _consumer_need(i: CapacityInputs, stream_shards: int) -> ConsumerNeed:
    planned = i.peak_events_per_sec * (1 + i.headroom)
    # a processor has one core at most: it cannot write faster than one core decodes and writes
    cpu = i.consumer_events_per_cpu_s
    per_shard = i.consumer_events_per_shard_s if cpu is None else min(i.consumer_events_per_shard_s, cpu)
    shards = _ceil(planned / per_shard)
    # one processor per lease, one core per processor at most
    processors = max(shards, stream_shards)
    cores = processors if cpu is None else min(processors, _ceil(planned / cpu))
    wru_per_write = write_units_per_item(i.kid_item_bytes, DYNAMODB_WRITE_REQUEST_UNIT_BYTES)
    wru = i.peak_events_per_sec * i.distinct_kid_ratio * i.write_statements_per_kid * wru_per_write
    return ConsumerNeed(
        events_per_sec=planned,
        events_per_shard_s=per_shard,
        shards=shards,
        worker_cores=cores,
        write_units_per_sec=wru,
        planned_write_units_per_sec=wru * (1 + i.headroom),
    )


def _consumer_lines(i: CapacityInputs, factor: float, stream_shards: int, c: ConsumerNeed) -> list[str]:
    shards = max(stream_shards, c.shards)
    if c.shards > stream_shards:
        bound = (
            f"bound: the consumers ({c.shards} shards) > the stream ({stream_shards}): sized for the stream alone, "
            f"the workers would write {stream_shards * c.events_per_shard_s:,.0f} of {c.events_per_sec:,.0f} "
            f"events/s ({stream_shards * c.events_per_shard_s / c.events_per_sec:.1%}) and lag would grow"
        )
    else:
        bound = f"bound: the stream ({stream_shards} shards) >= the consumers ({c.shards})"
    wru_per_write = write_units_per_item(i.kid_item_bytes, DYNAMODB_WRITE_REQUEST_UNIT_BYTES)
    quota = DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC
    cpu = i.consumer_events_per_cpu_s
    cpu_note = (
        f" (one core's worth: it measured {i.consumer_events_per_shard_s:,.0f} events/s at 5 ms per call "
        f"but handles {cpu:,.0f} per CPU-s)"
        if cpu is not None and cpu < i.consumer_events_per_shard_s
        else ""
    )
    cores = (
        f"worker cores: one per processor, {shards} processors (no CPU figure given: an upper bound)"
        if cpu is None
        else f"worker cores: {c.events_per_sec:,.0f} / {cpu:,.0f} events per CPU-s, "
        f"at most one per processor ({shards})"
    )
    lines = [
        f"consumers: {i.peak_events_per_sec:,.0f} events/s x {factor:.2f} = {c.events_per_sec:,.0f} events/s / "
        f"{c.events_per_shard_s:,.0f} events/s per shard's processor{cpu_note} -> {c.shards} shards",
        f"  (processor figure: {i.consumer_events_per_shard_s:,.0f} events/s per shard from {i.consumer_source})",
        bound,
        f"{cores} -> {c.worker_cores} cores for the record processors, plus a KCL JVM per worker host",
        f"DynamoDB writes: {i.peak_events_per_sec:,.0f} events/s x {i.distinct_kid_ratio:g} kid writes per event "
        f"(distinct-kid ratio) x {i.write_statements_per_kid:g} write statements per kid write x {wru_per_write} WRU "
        f"(item {i.kid_item_bytes} B) = {c.write_units_per_sec:,.0f} WRU/s, "
        f"{c.planned_write_units_per_sec:,.0f} with headroom: "
        + (
            f"OVER the on-demand table quota of {quota:,} WRU/s: "
            "raise the quota and pre-warm the table before the spike"
            if c.write_units_over_table_quota
            else f"within the on-demand table quota of {quota:,} WRU/s"
        ),
        (
            f"kid table warm throughput: {c.warm_write_units:,} write units/s "
            f"(nicelist provision --warm-write-units {c.warm_write_units}; template parameter WarmWriteUnits)"
            if c.needs_warming
            else f"kid table warm throughput: a new on-demand table serves "
            f"{DYNAMODB_ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC:,} write units/s at once: no pre-warming needed"
        ),
    ]
    return lines
