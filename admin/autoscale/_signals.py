"""What the autoscaler reads: the stream's AWS/Kinesis metrics per period, from CloudWatch.

Stream-level IncomingRecords, IncomingBytes, WriteProvisionedThroughputExceeded (Sum) and
GetRecords.IteratorAgeMilliseconds (Maximum) for the last N complete periods, and each open
shard's IncomingRecords, IncomingBytes and WriteProvisionedThroughputExceeded over the same
window (enhanced shard-level monitoring; without it, no hot-shard splits and no merges). Periods
are aligned to multiples of the period since the epoch, as the embedded stack publishes them and
as CloudWatch aggregates them.

A period with no datapoint for IncomingRecords, IncomingBytes or throttled records is unknown
(``None``), never zero: a CloudWatch gap must not read as an idle stream. A shard with no
datapoint in the window has no rate (absent). Values are passed on as read: the policy ignores
and logs NaN, infinite and negative ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from admin.autoscale._model import PeriodLoad, ShardRate

NAMESPACE = "AWS/Kinesis"
#: GetMetricData accepts at most 500 queries per call
_QUERIES_PER_CALL = 500
_STREAM_METRICS = (
    ("records", "IncomingRecords", "Sum"),
    ("bytes", "IncomingBytes", "Sum"),
    ("throttled", "WriteProvisionedThroughputExceeded", "Sum"),
    ("age", "GetRecords.IteratorAgeMilliseconds", "Maximum"),
)


def window(now: datetime, period_s: int, periods: int, grace_s: float) -> tuple[datetime, datetime]:
    """[start, end) of the last ``periods`` complete periods; a period counts as complete
    ``grace_s`` after its end (metrics arrive a little after the period closes)."""
    end = math.floor((now.timestamp() - grace_s) / period_s) * period_s
    return datetime.fromtimestamp(end - periods * period_s, UTC), datetime.fromtimestamp(end, UTC)


def _query(query_id: str, stream: str, metric: str, stat: str, period_s: int, shard_id: str | None) -> dict[str, Any]:
    dimensions = [{"Name": "StreamName", "Value": stream}]
    if shard_id is not None:
        dimensions.append({"Name": "ShardId", "Value": shard_id})
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
            "Period": period_s,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def read_loads(
    cloudwatch: Any,
    stream: str,
    shard_ids: Sequence[str],
    *,
    now: datetime,
    period_s: int,
    periods: int,
    grace_s: float | None = None,
    rate_periods: int | None = None,
) -> tuple[list[PeriodLoad | None], dict[str, ShardRate]]:
    """The last ``periods`` complete periods of the stream (oldest first; None: no data) and each
    shard's average rate over the periods it has data for among the last ``rate_periods``
    (default: all ``periods``; the policy reads shard rates over its scale-down window)."""
    grace = min(period_s / 4, 30.0) if grace_s is None else grace_s
    start, end = window(now, period_s, periods, grace)
    queries = [_query(name, stream, metric, stat, period_s, None) for name, metric, stat in _STREAM_METRICS]
    for index, shard_id in enumerate(shard_ids):
        queries.append(_query(f"r{index}", stream, "IncomingRecords", "Sum", period_s, shard_id))
        queries.append(_query(f"b{index}", stream, "IncomingBytes", "Sum", period_s, shard_id))
        queries.append(_query(f"t{index}", stream, "WriteProvisionedThroughputExceeded", "Sum", period_s, shard_id))
    series: dict[str, dict[int, float]] = {}
    for offset in range(0, len(queries), _QUERIES_PER_CALL):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[offset : offset + _QUERIES_PER_CALL],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", ()):
                points = series.setdefault(result["Id"], {})
                for timestamp, point in zip(result.get("Timestamps", ()), result.get("Values", ()), strict=False):
                    slot = round((_epoch(timestamp) - start.timestamp()) / period_s)
                    if 0 <= slot < periods:
                        points[slot] = points.get(slot, 0.0) + float(point)
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token

    first = periods - min(periods, rate_periods or periods)
    return _loads(series, start, period_s, periods), _rates(series, shard_ids, period_s, first)


def _loads(
    series: dict[str, dict[int, float]], start: datetime, period_s: int, periods: int
) -> list[PeriodLoad | None]:
    loads: list[PeriodLoad | None] = []
    for slot in range(periods):
        found = {name: series.get(name, {}).get(slot) for name in ("records", "bytes", "throttled")}
        written = found["records"] is not None and found["bytes"] is not None
        if not written and not found["throttled"]:
            loads.append(None)  # no data: unknown, not zero (all refused counts as data)
            continue
        loads.append(
            PeriodLoad(
                records=found["records"] or 0.0,
                bytes=found["bytes"] or 0.0,
                throttled_records=found["throttled"] or 0.0,
                iterator_age_ms=series.get("age", {}).get(slot),
                start=start + timedelta(seconds=slot * period_s),
            )
        )
    return loads


def _rates(
    series: dict[str, dict[int, float]], shard_ids: Sequence[str], period_s: int, first: int
) -> dict[str, ShardRate]:
    """Each shard's average over the periods from slot ``first`` it has data for (a new shard is
    not diluted by the periods before it existed)."""
    rates: dict[str, ShardRate] = {}
    for index, shard_id in enumerate(shard_ids):
        parts = [
            {slot: value for slot, value in series.get(f"{kind}{index}", {}).items() if slot >= first} for kind in "rbt"
        ]
        slots = set().union(*parts)
        if not slots:
            continue  # no data: unknown
        seconds = len(slots) * period_s
        records, size, throttled = (sum(part.values()) / seconds for part in parts)
        rates[shard_id] = ShardRate(records_per_s=records, bytes_per_s=size, throttled_per_s=throttled)
    return rates


def _epoch(timestamp: Any) -> float:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        return timestamp.timestamp()
    return float(timestamp)
