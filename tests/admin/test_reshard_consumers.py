"""The plan's consumer side and the December cost: pure arithmetic, no AWS."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from admin.reshard import (
    DEFAULT_CONSUMER_EVENTS_PER_SHARD_S,
    DEFAULT_CONSUMER_SOURCE,
    PRICE_REGION,
    CapacityInputs,
    CostInputs,
    Prices,
    consumer_capacity_from_bench,
    plan_capacity,
)
from admin.reshard._cost import ARCHIVE_ROW_METADATA_BYTES, scenario_cost
from admin.reshard._prices import (
    ATHENA_MIN_BYTES_PER_QUERY,
    GB,
    KINESIS_PUT_PAYLOAD_UNIT_BYTES,
    TB,
)
from consumer import ProcessorConfig
from foundation.limits import DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC

#: the PutItem path's processor (before batching): a slow processor bounds the shard count
PUT_ITEM_PATH_EVENTS_PER_SHARD_S = 970.0


def test_the_december_peak_is_bound_by_the_stream_at_todays_processor_speed() -> None:
    """Issue 19: 500k events/s of 130 B need the stream's 83 shards; today's processor
    (DEFAULT_CONSUMER_EVENTS_PER_SHARD_S, ~10k events/s per shard) is not the bound."""
    plan = plan_capacity(CapacityInputs(peak_events_per_sec=500_000, event_bytes=130))
    assert plan.stream_shards == 83
    assert plan.consumers.shards == math.ceil(625_000 / DEFAULT_CONSUMER_EVENTS_PER_SHARD_S) < 83
    assert plan.shards == 83
    assert plan.bound == "stream"
    assert any(f"from {DEFAULT_CONSUMER_SOURCE}" in line for line in plan.lines)


def test_a_december_peak_on_a_slow_processor_is_bound_by_the_consumers() -> None:
    plan = plan_capacity(
        CapacityInputs(
            peak_events_per_sec=500_000, event_bytes=130, consumer_events_per_shard_s=PUT_ITEM_PATH_EVENTS_PER_SHARD_S
        )
    )
    assert plan.stream_shards == 83
    # 500,000 x 1.25 / 970 = 644.3
    assert plan.consumers.shards == 645
    assert plan.shards == 645
    assert plan.bound == "consumers"
    # no CPU figure: one core per processor, an upper bound
    assert plan.consumers.worker_cores == 645
    assert plan.consumers.write_units_per_sec == 500_000
    assert plan.consumers.planned_write_units_per_sec == 625_000
    assert plan.consumers.write_units_over_table_quota
    assert any("80,510 of 625,000 events/s (12.9%)" in line for line in plan.lines)
    assert any("OVER the on-demand table quota" in line for line in plan.lines)
    assert plan.cost.shards == 645
    assert plan.cost.shard_hours == 645 * 24


def test_a_processor_that_keeps_up_with_its_shard_leaves_the_stream_as_the_bound() -> None:
    plan = plan_capacity(
        CapacityInputs(
            peak_events_per_sec=500_000,
            event_bytes=130,
            consumer_events_per_shard_s=8_000,
            consumer_events_per_cpu_s=8_000,
        )
    )
    assert plan.consumers.shards == 79
    assert plan.shards == plan.stream_shards == 83
    assert plan.bound == "stream"
    assert plan.consumers.worker_cores == 79
    assert any(line.startswith("bound: the stream (83 shards)") for line in plan.lines)


def test_cores_are_at_most_one_per_shard() -> None:
    # a processor that needs 10 CPU-s per 1,000 events gets one core: 100 events/s per shard
    plan = plan_capacity(
        CapacityInputs(
            peak_events_per_sec=10_000,
            event_bytes=130,
            consumer_events_per_shard_s=1_000,
            consumer_events_per_cpu_s=100,
        )
    )
    assert plan.consumers.events_per_shard_s == 100
    assert plan.shards == 125
    assert plan.consumers.worker_cores == 125
    # on a stream sized for its bytes, fewer cores than shards are busy
    quick = plan_capacity(
        CapacityInputs(
            peak_events_per_sec=100_000,
            event_bytes=2_000,
            consumer_events_per_shard_s=5_000,
            consumer_events_per_cpu_s=5_000,
        )
    )
    assert quick.bound == "stream"
    assert quick.consumers.worker_cores == 25 < quick.shards


def test_the_per_kid_collapse_cuts_the_writes() -> None:
    worst = plan_capacity(CapacityInputs(peak_events_per_sec=20_000, event_bytes=130))
    collapsed = plan_capacity(CapacityInputs(peak_events_per_sec=20_000, event_bytes=130, distinct_kid_ratio=0.2))
    assert worst.consumers.write_units_per_sec == 20_000
    assert collapsed.consumers.write_units_per_sec == pytest.approx(4_000)
    assert not collapsed.consumers.write_units_over_table_quota
    assert collapsed.cost.kid_item_writes == pytest.approx(0.2 * worst.cost.kid_item_writes)
    assert collapsed.cost.dynamodb_writes_usd < worst.cost.dynamodb_writes_usd / 4


def test_an_item_over_1_kb_costs_more_write_units() -> None:
    plan = plan_capacity(CapacityInputs(peak_events_per_sec=1_000, event_bytes=130, kid_item_bytes=1025))
    assert plan.consumers.write_units_per_sec == 2_000


@given(
    rate=st.floats(min_value=1, max_value=5e6),
    size=st.integers(min_value=1, max_value=50_000),
    headroom=st.floats(min_value=0, max_value=2),
    per_shard=st.floats(min_value=1, max_value=50_000),
    per_cpu=st.none() | st.floats(min_value=1, max_value=50_000),
)
def test_the_shard_count_covers_both_bounds(
    rate: float, size: int, headroom: float, per_shard: float, per_cpu: float | None
) -> None:
    plan = plan_capacity(
        CapacityInputs(
            peak_events_per_sec=rate,
            event_bytes=size,
            headroom=headroom,
            consumer_events_per_shard_s=per_shard,
            consumer_events_per_cpu_s=per_cpu,
        )
    )
    planned = rate * (1 + headroom)
    assert plan.shards >= plan.stream_shards
    assert plan.shards >= plan.consumers.shards
    assert plan.shards == max(plan.stream_shards, plan.consumers.shards)
    # the processors keep up on one core each, and one shard fewer would not
    effective = per_shard if per_cpu is None else min(per_shard, per_cpu)
    assert plan.consumers.events_per_shard_s == effective
    assert plan.consumers.shards * effective >= planned * (1 - 1e-9)
    if plan.consumers.shards > 1:
        assert (plan.consumers.shards - 1) * effective < planned * (1 + 1e-9)
    assert plan.bound == ("consumers" if plan.consumers.shards > plan.stream_shards else "stream")
    assert 1 <= plan.consumers.worker_cores <= plan.shards


@given(
    low=st.floats(min_value=1, max_value=2e6),
    factor=st.floats(min_value=1, max_value=10),
    size=st.integers(min_value=1, max_value=5_000),
    per_shard=st.floats(min_value=100, max_value=20_000),
)
def test_more_load_never_needs_fewer_shards_cores_or_dollars(
    low: float, factor: float, size: int, per_shard: float
) -> None:
    def plan(rate: float) -> Any:
        return plan_capacity(
            CapacityInputs(peak_events_per_sec=rate, event_bytes=size, consumer_events_per_shard_s=per_shard)
        )

    small, big = plan(low), plan(low * factor)
    assert big.shards >= small.shards
    assert big.consumers.shards >= small.consumers.shards
    assert big.consumers.worker_cores >= small.consumers.worker_cores
    assert big.consumers.write_units_per_sec >= small.consumers.write_units_per_sec
    assert big.cost.kinesis_shard_hours_usd >= small.cost.kinesis_shard_hours_usd


@given(
    slow=st.floats(min_value=10, max_value=20_000),
    factor=st.floats(min_value=1, max_value=10),
)
def test_a_faster_processor_never_needs_more_shards(slow: float, factor: float) -> None:
    def plan(per_shard: float) -> Any:
        return plan_capacity(
            CapacityInputs(peak_events_per_sec=100_000, event_bytes=130, consumer_events_per_shard_s=per_shard)
        )

    assert plan(slow * factor).shards <= plan(slow).shards


def test_the_bench_report_gives_the_consumer_capacity() -> None:
    report = {
        "shard_events_per_s_at_5ms": 7_612.5,
        "processor_events_per_cpu_s": 5_300,
        "put_item_baseline_events_per_cpu_s": 1_900,
    }
    assert consumer_capacity_from_bench(report) == {
        "consumer_events_per_shard_s": 7_612.5,
        "consumer_events_per_cpu_s": 5_300.0,
    }
    assert consumer_capacity_from_bench({"shard_events_per_s_at_5ms": 970}) == {"consumer_events_per_shard_s": 970.0}


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"processor_events_per_cpu_s": 1_000},
        {"shard_events_per_s_at_5ms": 0},
        {"shard_events_per_s_at_5ms": "970"},
        {"shard_events_per_s_at_5ms": True},
        {"shard_events_per_s_at_5ms": 970, "processor_events_per_cpu_s": -1},
    ],
)
def test_a_bad_bench_report_is_refused(report: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        consumer_capacity_from_bench(report)


@pytest.mark.parametrize(
    "bad",
    [
        {"consumer_events_per_shard_s": 0},
        {"consumer_events_per_cpu_s": -5},
        {"distinct_kid_ratio": 0},
        {"distinct_kid_ratio": 1.5},
        {"kid_item_bytes": 0},
    ],
)
def test_bad_consumer_inputs_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CapacityInputs(peak_events_per_sec=10, event_bytes=100, **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        {"archive_file_bytes": 0},
        {"archive_file_age_s": 0},
        {"archive_compression_ratio": 0},
        {"archive_compression_ratio": 1.1},
        {"archive_retention_months": -1},
        {"athena_full_scans": -1},
        {"kcl_failover_time_ms": 0},
        {"provisioned_hours": 0},
    ],
)
def test_bad_cost_inputs_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CostInputs(**bad)  # type: ignore[arg-type]


def test_prices_are_us_east_1_and_refuse_negatives() -> None:
    assert Prices().region == PRICE_REGION == "us-east-1"
    with pytest.raises(ValueError):
        Prices(s3_gb_month_usd=-0.01)


def test_the_defaults_are_the_measured_figures_and_the_workers_settings() -> None:
    assert DEFAULT_CONSUMER_EVENTS_PER_SHARD_S > 7_500  # batched writes: past one shard's write limit
    assert "bench.consumer" in DEFAULT_CONSUMER_SOURCE and "2026-12-" in DEFAULT_CONSUMER_SOURCE
    assert CapacityInputs(peak_events_per_sec=1, event_bytes=1).consumer_events_per_cpu_s is None
    worker = ProcessorConfig()
    assert CostInputs().archive_file_bytes == worker.archive_max_file_bytes
    assert CostInputs().archive_file_age_s == worker.archive_max_file_age_s


def _cost(costs: CostInputs, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "shards": 10,
        "events": 36_000_000,  # 1,000 events/s per shard for an hour
        "hours": 1.0,
        "event_bytes": 120,
        "events_per_aggregate": 100,
        "aggregate_data_bytes": 30_000.0,
        "distinct_kid_ratio": 1.0,
        "write_units_per_kid_write": 1,
        **overrides,
    }
    return scenario_cost(costs, **values)


def test_the_cost_by_hand() -> None:
    prices = Prices(
        kinesis_shard_hour_usd=1.0,
        kinesis_put_payload_units_per_million_usd=1.0,
        dynamodb_write_request_units_per_million_usd=1.0,
        s3_put_requests_per_thousand_usd=1.0,
        s3_gb_month_usd=1.0,
        athena_tb_scanned_usd=1.0,
    )
    costs = CostInputs(
        archive_file_bytes=2_600_000, archive_file_age_s=30, archive_compression_ratio=0.5, prices=prices
    )
    cost = _cost(costs)
    assert cost.shard_hours == 10
    assert cost.kinesis_shard_hours_usd == 10
    # 360,000 aggregates of 30,000 B: 2 payload units each (25 KB = 25,600 B)
    assert KINESIS_PUT_PAYLOAD_UNIT_BYTES == 25_600
    assert cost.aggregated_records == 360_000
    assert cost.put_payload_units == 720_000
    assert cost.kinesis_put_payload_units_usd == pytest.approx(0.72)
    # rows of 260 B at 1,000/s per shard: 2.6 MB closes a file every 10 s, before the 30 s age
    assert ARCHIVE_ROW_METADATA_BYTES + 120 == 260
    assert cost.archive_file_close_s == pytest.approx(10)
    # 360 closes per shard in the hour, plus one file per shard for the hour partition
    assert cost.archive_files == 10 * (360 + 1)
    assert cost.s3_put_requests_usd == pytest.approx(3.61)
    assert cost.archive_bytes == 36_000_000 * 260 * 0.5
    assert cost.s3_storage_usd == pytest.approx(36_000_000 * 130 / GB)
    assert cost.athena_bytes_scanned == 10 * cost.archive_bytes
    assert cost.athena_usd == pytest.approx(10 * cost.archive_bytes / TB)
    # lease renewals every 10 s / 3, and one checkpoint per close
    renewals = 10 * 3600 / (10 / 3)
    assert cost.lease_table_writes == pytest.approx(renewals + 10 * 360)
    assert cost.write_request_units == pytest.approx(36_000_000 + renewals + 3600)
    assert cost.dynamodb_writes_usd == pytest.approx(cost.write_request_units / 1e6)
    assert cost.total_usd == pytest.approx(
        10 + 0.72 + cost.dynamodb_writes_usd + 3.61 + cost.s3_storage_usd + cost.athena_usd
    )
    assert cost.lines[-1] == f"  total: ${cost.total_usd:,.2f}"
    assert cost.to_dict()["total_usd"] == cost.total_usd


def test_a_quiet_shard_closes_its_file_by_age_and_a_tiny_archive_pays_the_athena_minimum() -> None:
    cost = _cost(CostInputs(provisioned_hours=48), events=3_600, shards=2)
    assert cost.archive_file_close_s == 30
    assert cost.archive_files == 2 * (120 + 1)
    assert cost.shard_hours == 96
    assert cost.athena_bytes_scanned == 10 * ATHENA_MIN_BYTES_PER_QUERY


def test_prices_scale_the_cost_linearly() -> None:
    base = _cost(CostInputs())
    doubled = _cost(CostInputs(prices=Prices(kinesis_shard_hour_usd=0.03)))
    assert doubled.kinesis_shard_hours_usd == pytest.approx(2 * base.kinesis_shard_hours_usd)
    assert doubled.dynamodb_writes_usd == base.dynamodb_writes_usd


def test_the_plan_reports_the_consumer_side_and_the_cost_in_its_dict() -> None:
    data = plan_capacity(
        CapacityInputs(
            peak_events_per_sec=500_000, event_bytes=130, consumer_events_per_shard_s=PUT_ITEM_PATH_EVENTS_PER_SHARD_S
        )
    ).to_dict()
    assert data["shards"] == 645
    assert data["stream_shards"] == 83
    assert data["bound"] == "consumers"
    assert data["consumers"]["worker_cores"] == 645
    assert data["consumers"]["table_write_units_quota"] == DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC
    assert data["spike"]["consumer_shards"] == math.ceil(1_800_000_000 / 86_400 * 1.25 / 970)
    cost = data["cost"]
    assert cost["region"] == "us-east-1"
    assert cost["total_usd"] == pytest.approx(
        sum(
            cost[k]
            for k in (
                "kinesis_shard_hours_usd",
                "kinesis_put_payload_units_usd",
                "dynamodb_writes_usd",
                "s3_put_requests_usd",
                "s3_storage_usd",
                "athena_usd",
            )
        )
    )
    assert data["inputs"]["costs"]["prices"]["region"] == "us-east-1"


def test_write_statements_per_kid_multiply_the_write_units_and_the_warm_throughput() -> None:
    once = plan_capacity(CapacityInputs(peak_events_per_sec=10_000, event_bytes=130))
    twice = plan_capacity(CapacityInputs(peak_events_per_sec=10_000, event_bytes=130, write_statements_per_kid=2.0))
    assert once.consumers.write_units_per_sec == 10_000
    assert twice.consumers.write_units_per_sec == 20_000
    assert twice.consumers.warm_write_units == 25_000 and twice.consumers.needs_warming
    assert twice.cost.kid_item_writes == 2 * once.cost.kid_item_writes
    assert any("x 2 write statements per kid write" in line for line in twice.lines)
    assert any("nicelist provision --warm-write-units 25000" in line for line in twice.lines)
    small = plan_capacity(CapacityInputs(peak_events_per_sec=1_000, event_bytes=130))
    assert not small.consumers.needs_warming
    assert any("no pre-warming needed" in line for line in small.lines)
    with pytest.raises(ValueError, match="write_statements_per_kid"):
        CapacityInputs(peak_events_per_sec=1, event_bytes=1, write_statements_per_kid=0.5)
