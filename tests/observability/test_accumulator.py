"""The accumulator, the datums it makes and the publisher, with a fake CloudWatch: no server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from observability import Accumulator, MetricsPublisher, bucket, percentile
from observability import metrics as m

T = datetime(2026, 12, 23, tzinfo=UTC)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_buckets_stay_within_five_percent(value: float) -> None:
    b = bucket(value)
    assert abs(b - value) <= max(0.5, value * 0.05)


def test_percentiles_are_nearest_rank() -> None:
    histogram = {10.0: 98, 500.0: 1, 2000.0: 1}
    assert percentile(histogram, 0.5) == 10.0
    assert percentile(histogram, 0.99) == 500.0
    assert percentile(histogram, 1.0) == 2000.0
    assert percentile({}, 0.5) is None


def test_a_period_becomes_datums_per_dimension_set_then_resets() -> None:
    acc = Accumulator()
    acc.count(m.DEAD_LETTERS, 2)
    acc.gauge(m.MILLIS_BEHIND_LATEST, 100)
    acc.gauge(m.MILLIS_BEHIND_LATEST, 300)
    acc.observe(m.PUT_TO_ITEM_LATENCY, [12, 12, 950])
    sets = [[("Application", "a")], [("Application", "a"), ("ShardId", "s1")]]
    datums = acc.drain().datums(sets, timestamp=T, always=[m.ITEMS_WRITTEN])
    by = {(d["MetricName"], len(d["Dimensions"])): d for d in datums}
    assert len(datums) == 8
    assert by[("DeadLetters", 2)]["Value"] == 2 and by[("ItemsWritten", 1)]["Value"] == 0
    assert by[("MillisBehindLatest", 1)]["StatisticValues"] == {
        "SampleCount": 2.0,
        "Sum": 400.0,
        "Minimum": 100.0,
        "Maximum": 300.0,
    }
    assert by[("PutToItemLatency", 2)]["Values"] == [12.0, 950.0]
    assert by[("PutToItemLatency", 2)]["Counts"] == [2.0, 1.0]
    assert all((d["MetricName"], tuple(n["Name"] for n in d["Dimensions"])) in m.PUBLISHED for d in datums)
    assert acc.drain().datums(sets, timestamp=T) == []


def test_a_metric_is_used_as_its_kind() -> None:
    with pytest.raises(ValueError):
        Accumulator().count(m.MILLIS_BEHIND_LATEST)


class FakeCloudWatch:
    def __init__(self, fail: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def put_metric_data(self, **kwargs: Any) -> None:
        if self.fail:
            self.fail -= 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow"}}, "PutMetricData")
        self.calls.append(kwargs)


def test_the_publisher_publishes_at_most_once_per_interval_and_never_raises() -> None:
    now = [0.0]
    acc = Accumulator()
    failures: list[int] = []
    cloudwatch = FakeCloudWatch(fail=1)
    publisher = MetricsPublisher(
        cloudwatch,
        lambda ts: acc.drain().datums([[("Application", "a")]], timestamp=ts, always=[m.DEAD_LETTERS]),
        interval_s=60,
        monotonic=lambda: now[0],
        on_failure=lambda: failures.append(1),
    )
    assert publisher.publish_if_due() is False
    now[0] = 60
    assert publisher.publish_if_due() is False  # CloudWatch refused: logged and counted, not raised
    assert failures == [1] and publisher.failures == 1
    now[0] = 90
    assert publisher.publish_if_due() is False and cloudwatch.calls == []
    now[0] = 120
    assert publisher.publish_if_due() is True
    assert cloudwatch.calls[0]["Namespace"] == "nicelist"


def test_the_publisher_thread_sends_the_last_period_on_close() -> None:
    acc = Accumulator()
    cloudwatch = FakeCloudWatch()
    publisher = MetricsPublisher(
        cloudwatch, lambda ts: acc.drain().datums([[("Application", "a")]], timestamp=ts), interval_s=3600
    )
    publisher.start()
    acc.count(m.DEAD_LETTERS)
    publisher.close()
    assert [d["MetricName"] for d in cloudwatch.calls[0]["MetricData"]] == ["DeadLetters"]
