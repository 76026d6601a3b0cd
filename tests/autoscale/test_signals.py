"""Reading the stream's metrics per period (a fake CloudWatch: the slotting is pure arithmetic);
a period without data is unknown (None), never zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from admin.autoscale import read_loads
from admin.autoscale._signals import window

NOW = datetime(2026, 12, 23, 8, 0, 7, tzinfo=UTC)  # 7 s into a 10 s period


class FakeCloudWatch:
    def __init__(self, points: dict[tuple[str, str | None], dict[datetime, float]]) -> None:
        self.points = points
        self.calls: list[dict[str, Any]] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        results = []
        for query in kwargs["MetricDataQueries"]:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            series = self.points.get((metric["MetricName"], dims.get("ShardId")), {})
            stamps = sorted(t for t in series if kwargs["StartTime"] <= t < kwargs["EndTime"])
            results.append({"Id": query["Id"], "Timestamps": stamps, "Values": [series[t] for t in stamps]})
        return {"MetricDataResults": results}


def test_window_covers_complete_aligned_periods_after_a_grace() -> None:
    start, end = window(NOW, 10, 3, grace_s=2.5)
    assert end == datetime(2026, 12, 23, 8, 0, 0, tzinfo=UTC)
    assert start == end - timedelta(seconds=30)
    _, late_end = window(NOW.replace(second=1), 10, 3, grace_s=2.5)
    assert late_end == datetime(2026, 12, 23, 7, 59, 50, tzinfo=UTC)  # the last period is not in yet


def test_periods_are_slotted_by_timestamp_and_missing_ones_are_unknown() -> None:
    end = datetime(2026, 12, 23, 8, 0, 0, tzinfo=UTC)
    p = [end - timedelta(seconds=10 * k) for k in (3, 2, 1)]  # starts of the three periods
    cloudwatch = FakeCloudWatch(
        {
            ("IncomingRecords", None): {p[0]: 100.0, p[2]: 300.0},
            ("IncomingBytes", None): {p[0]: 1000.0, p[2]: 3000.0},
            ("WriteProvisionedThroughputExceeded", None): {p[2]: 7.0},
            ("GetRecords.IteratorAgeMilliseconds", None): {p[2]: 1500.0},
            ("IncomingRecords", "shardId-1"): {p[0]: 100.0, p[2]: 200.0},
            ("IncomingBytes", "shardId-1"): {p[0]: 1000.0, p[2]: 2000.0},
        }
    )
    loads, rates = read_loads(cloudwatch, "s", ["shardId-1", "shardId-2"], now=NOW, period_s=10, periods=3)
    assert [None if load is None else load.records for load in loads] == [100.0, None, 300.0]
    assert loads[2] is not None and loads[0] is not None
    assert loads[2].throttled_records == 7.0 and loads[2].iterator_age_ms == 1500.0
    assert loads[0].iterator_age_ms is None and loads[0].throttled_records == 0.0
    assert loads[2].start == p[2]
    # a shard's rate is over the periods it has data for; a shard without any has none
    assert rates["shardId-1"].records_per_s == 15.0 and "shardId-2" not in rates
    _, recent = read_loads(cloudwatch, "s", ["shardId-1"], now=NOW, period_s=10, periods=3, rate_periods=1)
    assert recent["shardId-1"].records_per_s == 20.0  # the last period only
    assert cloudwatch.calls[0]["ScanBy"] == "TimestampAscending"


def test_a_period_with_only_refused_records_is_known_and_one_with_nothing_is_not() -> None:
    end = datetime(2026, 12, 23, 8, 0, 0, tzinfo=UTC)
    first = end - timedelta(seconds=30)
    cloudwatch = FakeCloudWatch(
        {
            ("IncomingRecords", None): {first: 50.0},
            ("IncomingBytes", None): {first: 500.0},
            ("WriteProvisionedThroughputExceeded", None): {first + timedelta(seconds=10): 9.0},
        }
    )
    loads, _ = read_loads(cloudwatch, "s", [], now=NOW, period_s=10, periods=3)
    assert loads[0] is not None and loads[0].records == 50.0
    assert loads[1] is not None and (loads[1].records, loads[1].throttled_records) == (0.0, 9.0)
    assert loads[2] is None
