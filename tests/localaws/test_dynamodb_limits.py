"""DynamoDB's write capacity as the embedded stack models it (pure: an injected clock, no server)."""

from __future__ import annotations

from datetime import datetime

import pytest

from localaws._dynamodb_limits import (
    KEY_RANGE_EXCEEDED,
    MAX_ON_DEMAND_EXCEEDED,
    PROVISIONED_EXCEEDED,
    TableCapacity,
    TableLimiter,
    item_size,
    write_units,
)
from localaws._dynamodb_metrics import build_table_metric_data

KEY = ("123456789012", "us-east-1", "kids")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def provisioned(units: float) -> TableCapacity:
    return TableCapacity(billing_mode="PROVISIONED", provisioned_write_units=units)


def test_one_write_unit_per_kilobyte_rounded_up_the_larger_item_counts() -> None:
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(100, 3000) == 3


def test_item_size_counts_attribute_names_and_values() -> None:
    assert item_size(None) == 0
    assert item_size({"kid_id": {"S": "abc"}}) == 6 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3
    assert item_size({"ok": {"BOOL": True}, "m": {"M": {"a": {"S": "xy"}}}}) == (2 + 1) + (1 + 3 + 1 + 1 + 2)


def test_a_provisioned_table_admits_its_units_per_second_then_throttles() -> None:
    clock = Clock()
    limiter = TableLimiter(clock=clock)
    answers = [limiter.admit(KEY, provisioned(5), f"kid-{i}", 1) for i in range(7)]
    assert answers == [None] * 5 + [PROVISIONED_EXCEEDED] * 2
    clock.now += 0.4  # 2 units refilled
    assert [limiter.admit(KEY, provisioned(5), "kid-x", 1) for _ in range(3)] == [None, None, PROVISIONED_EXCEEDED]
    totals = limiter.totals()[KEY]
    assert totals.values["ConsumedWriteCapacityUnits"] == 7
    assert totals.values["WriteStatements"] == 7
    assert totals.values["WriteThrottleEvents"] == 3
    assert totals.capacity_units_per_s == 5


def test_a_large_item_is_admitted_on_a_full_bucket_and_the_debt_is_repaid_first() -> None:
    clock = Clock()
    limiter = TableLimiter(clock=clock)
    assert limiter.admit(KEY, provisioned(1), "k", 3) is None
    clock.now += 2.5
    assert limiter.admit(KEY, provisioned(1), "k", 1) == PROVISIONED_EXCEEDED
    clock.now += 1.0
    assert limiter.admit(KEY, provisioned(1), "k", 1) is None


def test_one_partition_serves_at_most_1000_units_per_second() -> None:
    clock = Clock()
    limiter = TableLimiter(clock=clock)
    table = provisioned(4000)  # 4 partitions
    assert table.partitions == 4
    assert limiter.admit(KEY, table, "hot", 1000) is None
    assert limiter.admit(KEY, table, "hot", 1) == KEY_RANGE_EXCEEDED
    others = [f"kid-{i}" for i in range(40)]
    assert any(limiter.admit(KEY, table, kid, 1) is None for kid in others)


def test_an_on_demand_table_stops_at_its_maximum() -> None:
    clock = Clock()
    limiter = TableLimiter(clock=clock)
    table = TableCapacity(billing_mode="PAY_PER_REQUEST", max_write_units=3)
    assert [limiter.admit(KEY, table, "k", 1) for _ in range(4)] == [None, None, None, MAX_ON_DEMAND_EXCEEDED]


def test_an_on_demand_table_serves_its_warm_throughput_then_twice_its_peak() -> None:
    clock = Clock()
    limiter = TableLimiter(clock=clock)
    table = TableCapacity(billing_mode="PAY_PER_REQUEST", warm_write_units=10)
    assert sum(limiter.admit(KEY, table, f"k{i}", 1) is None for i in range(15)) == 10
    clock.now += 1.0  # peak 10 units in one second: now 20 units/s
    assert sum(limiter.admit(KEY, table, f"k{i}", 1) is None for i in range(30)) == 20
    assert limiter.totals()[KEY].capacity_units_per_s == 20


def test_capacity_from_a_table_description() -> None:
    described = TableCapacity.from_description(
        {"BillingModeSummary": {"BillingMode": "PROVISIONED"}, "ProvisionedThroughput": {"WriteCapacityUnits": 50}}
    )
    assert described == provisioned(50)
    on_demand = TableCapacity.from_description(
        {
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "ProvisionedThroughput": {"WriteCapacityUnits": 0},
            "WarmThroughput": {"WriteUnitsPerSecond": 8000},
            "OnDemandThroughput": {"MaxWriteRequestUnits": 6000},
        }
    )
    assert on_demand.base_write_units == 6000 and on_demand.partitions == 6
    assert TableCapacity.from_description({}).base_write_units == 4000  # a new on-demand table


def test_drain_starts_a_new_period_and_metrics_are_per_table() -> None:
    limiter = TableLimiter(clock=Clock())
    limiter.admit(KEY, provisioned(1), "a", 1)
    limiter.admit(KEY, provisioned(1), "b", 1)
    limiter.wrote(KEY)
    period = limiter.drain()
    assert limiter.drain() == {}
    assert limiter.totals()[KEY].values["ItemsWritten"] == 1
    stamp = datetime(2026, 12, 23, 18, 0, 0)
    entries = build_table_metric_data(period, stamp)[("123456789012", "us-east-1")]
    values = {entry["MetricName"]: entry["Value"] for entry in entries}
    assert values == {
        "ConsumedWriteCapacityUnits": 1.0,
        "WriteThrottleEvents": 1.0,
        "ProvisionedWriteCapacityUnits": 1.0,
    }
    assert all(entry["Dimensions"] == [{"Name": "TableName", "Value": "kids"}] for entry in entries)


def test_burst_must_be_positive() -> None:
    with pytest.raises(ValueError, match="burst_s"):
        TableLimiter(burst_s=0)
