"""Limits mode, pure: token buckets on an injected clock and the metrics built from them."""

from __future__ import annotations

from datetime import datetime

import pytest

from localaws._kinesis_metrics import build_metric_data
from localaws._limits import LimitsConfig, ShardLimiter, TokenBucket

KEY = ("123456789012", "us-east-1", "s", "shardId-000000000000")
OTHER = ("123456789012", "us-east-1", "s", "shardId-000000000001")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_scale_multiplies_byte_and_record_limits_but_not_read_calls() -> None:
    config = LimitsConfig(scale=0.01)
    assert config.write_records_per_s == pytest.approx(10.0)
    assert config.write_bytes_per_s == pytest.approx(1024 * 1024 * 0.01)
    assert config.read_bytes_per_s == pytest.approx(2 * 1024 * 1024 * 0.01)
    assert config.read_calls_per_s == 5.0


@pytest.mark.parametrize("options", [{"scale": 0.0}, {"scale": -1.0}, {"metrics_period_s": 0.5}, {"burst_s": 0.0}])
def test_config_rejects_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LimitsConfig(**options)


def test_bucket_refills_at_its_rate_up_to_capacity() -> None:
    bucket = TokenBucket(rate=10.0, capacity=10.0, now=0.0)
    for _ in range(10):
        assert bucket.can_take(1, 0.0)
        bucket.take(1, 0.0)
    assert not bucket.can_take(1, 0.0)
    assert bucket.can_take(1, 0.1)
    bucket.take(1, 0.1)
    assert not bucket.can_take(1, 0.1)
    assert bucket.can_take(10, 100.0) and bucket.tokens == 10.0


def test_oversized_unit_needs_a_full_bucket_then_leaves_debt() -> None:
    bucket = TokenBucket(rate=100.0, capacity=100.0, now=0.0)
    assert bucket.can_take(500, 0.0)  # larger than capacity: allowed from a full bucket
    bucket.take(500, 0.0)
    assert not bucket.can_take(1, 4.0)  # still paying the debt back after 4 s
    assert bucket.can_take(1, 4.02)


def test_writes_over_the_record_limit_are_throttled_per_shard() -> None:
    clock = Clock()
    limiter = ShardLimiter(LimitsConfig(scale=0.01), clock=clock)
    admitted = [limiter.admit_write(KEY, 10) for _ in range(15)]
    assert admitted == [True] * 10 + [False] * 5
    assert limiter.admit_write(OTHER, 10)  # another shard has its own buckets
    clock.now += 0.5
    assert sum(limiter.admit_write(KEY, 10) for _ in range(10)) == 5
    totals = limiter.totals()[KEY].values
    assert totals["IncomingRecords"] == 15 and totals["WriteProvisionedThroughputExceeded"] == 10
    assert totals["IncomingBytes"] == 150


def test_writes_over_the_byte_limit_are_throttled() -> None:
    clock = Clock()
    limiter = ShardLimiter(LimitsConfig(scale=0.01), clock=clock)  # ~10 KiB/s
    assert limiter.admit_write(KEY, 8_000)
    assert not limiter.admit_write(KEY, 8_000)
    clock.now += 1.0
    assert limiter.admit_write(KEY, 8_000)


def test_reads_are_limited_by_calls_and_by_bytes_in_debt() -> None:
    clock = Clock()
    limiter = ShardLimiter(LimitsConfig(scale=0.01), clock=clock)
    assert [limiter.admit_read(KEY) for _ in range(6)] == [True] * 5 + [False]
    clock.now += 1.0
    assert limiter.admit_read(KEY)
    limiter.record_read(KEY, size_bytes=limiter.max_get_bytes(), records=100, iterator_age_ms=1500.0)
    clock.now += 1.0  # calls refilled, bytes still in debt (10 MiB x scale returned at 2 MiB/s x scale)
    assert not limiter.admit_read(KEY)
    clock.now += 5.0
    assert limiter.admit_read(KEY)
    totals = limiter.totals()[KEY]
    assert totals.values["ReadProvisionedThroughputExceeded"] == 2
    assert totals.iterator_age_max_ms == 1500.0


def test_drain_hands_over_the_period_and_starts_anew() -> None:
    limiter = ShardLimiter(LimitsConfig(scale=1.0), clock=Clock())
    limiter.admit_write(KEY, 100)
    assert limiter.drain()[KEY].values["IncomingRecords"] == 1
    assert limiter.drain() == {}
    assert limiter.totals()[KEY].values["IncomingRecords"] == 1


def test_metric_data_has_shard_and_stream_levels() -> None:
    clock = Clock()
    limiter = ShardLimiter(LimitsConfig(scale=0.01), clock=clock)
    for _ in range(12):
        limiter.admit_write(KEY, 100)
    limiter.admit_write(OTHER, 50)
    limiter.admit_read(KEY)
    limiter.record_read(KEY, size_bytes=300, records=3, iterator_age_ms=2000.0)
    stamp = datetime(2026, 12, 23, 8, 0, 0)
    data = build_metric_data(limiter.drain(), stamp)[("123456789012", "us-east-1")]

    def value(name: str, shard: str | None = None) -> float:
        for datum in data:
            dims = {d["Name"]: d["Value"] for d in datum["Dimensions"]}
            if datum["MetricName"] == name and dims.get("ShardId") == shard and dims["StreamName"] == "s":
                assert datum["Timestamp"] == stamp
                return float(datum["Value"])
        raise AssertionError(f"no {name} for {shard}")

    assert value("IncomingRecords", KEY[3]) == 10
    assert value("WriteProvisionedThroughputExceeded", KEY[3]) == 2
    assert value("IncomingRecords") == 11
    assert value("IncomingBytes") == 1050
    assert value("PutRecords.TotalRecords") == 13
    assert value("PutRecords.ThrottledRecords") == 2
    assert value("GetRecords.Records") == 3
    assert value("GetRecords.IteratorAgeMilliseconds") == 2000.0
    assert value("IteratorAgeMilliseconds", KEY[3]) == 2000.0


def test_limits_flags_round_trip_through_the_server_arguments() -> None:
    import argparse

    from localaws._limits import add_limits_arguments, limits_from_args, limits_to_args

    parser = argparse.ArgumentParser()
    add_limits_arguments(parser)
    assert limits_from_args(parser.parse_args([])) is None
    assert limits_from_args(parser.parse_args(["--limits"])) == LimitsConfig()
    config = limits_from_args(parser.parse_args(["--limits-scale", "0.02", "--metrics-period", "5"]))
    assert config == LimitsConfig(scale=0.02, metrics_period_s=5.0)
    assert limits_from_args(parser.parse_args(limits_to_args(config))) == config
