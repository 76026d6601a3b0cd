"""Capacity arithmetic for ``nicelist reshard plan``: pure."""

from __future__ import annotations

import pytest
from aws_kinesis_agg.aggregator import AggRecord
from hypothesis import given
from hypothesis import strategies as st

from admin.reshard import CapacityInputs, plan_capacity
from admin.reshard._plan import KPL_DIGEST_BYTES, KPL_MAGIC_BYTES, kpl_user_record_bytes, varint_bytes
from foundation.limits import MiB


@pytest.mark.parametrize("event_bytes", [1, 10, 125, 126, 200, 1000, 20_000])
def test_framing_matches_the_real_kpl_aggregator(event_bytes: int) -> None:
    record = AggRecord()
    key = "k" * 32
    for _ in range(20):
        assert record.add_user_record(key, b"x" * event_bytes)
    _, _, data = record.get_contents()
    key_entry = 1 + varint_bytes(len(key)) + len(key)
    assert len(data) == KPL_MAGIC_BYTES + KPL_DIGEST_BYTES + key_entry + 20 * kpl_user_record_bytes(event_bytes)


def test_125_byte_events_cost_132_wire_bytes() -> None:
    # the figure measured in FACTS.md
    assert kpl_user_record_bytes(125) == 132


def test_bytes_bind_before_records_with_aggregation() -> None:
    plan = plan_capacity(CapacityInputs(peak_events_per_sec=50_000, event_bytes=125, headroom=0.25))
    # 50,000 x 132.22 B x 1.25 = 7.88 MiB/s -> 8 shards; aggregates: 161/s, far below 1,000/shard
    assert plan.peak.write_bytes_shards == 8
    assert plan.peak.write_records_shards == 1
    assert plan.unaggregated_records_shards == 63  # 62,500 records/s without aggregation
    assert plan.peak.read_bytes_shards == 4
    assert plan.stream_shards == 8
    assert plan.read_calls_ok
    assert any("-> 8 shards" in line for line in plan.lines)


def test_exactly_at_a_limit_needs_exactly_that_many_shards() -> None:
    # one 1,016-byte event per aggregated record: 1,024 bytes framed, 1,110 with magic, digest and keys
    plan = plan_capacity(CapacityInputs(peak_events_per_sec=3000, event_bytes=1016, headroom=0.0, aggregate_bytes=1110))
    assert plan.user_record_bytes == 1024
    assert plan.events_per_aggregate == 1
    assert plan.bytes_per_event == 1110
    assert plan.peak.write_records_shards == 3  # 3,000 aggregates/s / 1,000 per shard, not 4
    assert plan.peak.write_bytes_shards == 4  # 3.18 MiB/s


def test_more_consumers_need_more_read_shards_and_too_many_polls_are_flagged() -> None:
    plan = plan_capacity(
        CapacityInputs(peak_events_per_sec=20_000, event_bytes=125, headroom=0, consumers=3, poll_interval_ms=500)
    )
    assert plan.peak.read_bytes_shards == 4  # 2.52 MiB/s x 3 / 2 MiB/s
    assert plan.read_calls_per_shard_per_sec == 6
    assert not plan.read_calls_ok
    assert any("TOO MANY" in line for line in plan.lines)


def test_the_spike_figure() -> None:
    plan = plan_capacity(CapacityInputs(peak_events_per_sec=1, event_bytes=125, headroom=0, within_hours=1))
    # 1.8 billion in one hour: 500,000 events/s x 132.2 B = 63 MiB/s -> 64 shards
    assert plan.spike.events_per_sec == 500_000
    assert plan.spike.write_bytes_shards == 64
    assert plan.to_dict()["spike"]["shards"] == 64


@pytest.mark.parametrize(
    "bad",
    [
        {"peak_events_per_sec": 0},
        {"event_bytes": 0},
        {"headroom": -0.1},
        {"aggregate_bytes": 2 * MiB},
        {"consumers": 0},
        {"within_hours": 0},
    ],
)
def test_bad_inputs_are_refused(bad: dict[str, float]) -> None:
    values: dict[str, float] = {"peak_events_per_sec": 10, "event_bytes": 100, **bad}
    with pytest.raises(ValueError):
        CapacityInputs(**values)  # type: ignore[arg-type]


@given(
    rate=st.floats(min_value=1, max_value=5e6),
    size=st.integers(min_value=1, max_value=50_000),
    headroom=st.floats(min_value=0, max_value=2),
)
def test_the_recommended_count_respects_every_limit(rate: float, size: int, headroom: float) -> None:
    plan = plan_capacity(CapacityInputs(peak_events_per_sec=rate, event_bytes=size, headroom=headroom))
    n = plan.stream_shards  # the stream's own limits; the consumers may ask for more
    assert plan.shards >= n
    assert plan.peak.write_bytes_per_sec / n <= MiB * (1 + 1e-9)
    assert plan.peak.aggregates_per_sec / n <= 1000 * (1 + 1e-9)
    assert plan.peak.write_bytes_per_sec / n <= 2 * MiB
    # and one shard fewer would break one of them
    if n > 1:
        assert plan.peak.write_bytes_per_sec / (n - 1) > MiB * (1 - 1e-9) or plan.peak.aggregates_per_sec / (
            n - 1
        ) > 1000 * (1 - 1e-9)
