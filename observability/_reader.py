"""Reading metrics back with GetMetricData: one number per (metric, dimensions, statistic) over a
window. Used by ``nicelist status``, the demo's summary and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from foundation.limits import CLOUDWATCH_MAX_QUERIES_PER_GET

from .metrics import NAMESPACE


@dataclass(frozen=True)
class Query:
    """``stat`` (Sum, Maximum, Average, SampleCount...) of ``metric`` with exactly ``dimensions``."""

    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Sum"
    namespace: str = NAMESPACE


def read_metrics(
    cloudwatch: Any, queries: Sequence[Query], *, start: datetime, end: datetime, period_s: int = 60
) -> dict[Query, float | None]:
    """Each query's statistic over ``start..end``: Sum and SampleCount add up the periods,
    Maximum/Minimum take the extreme, anything else the latest period; None without datapoints."""
    results: dict[Query, float | None] = {}
    for offset in range(0, len(queries), CLOUDWATCH_MAX_QUERIES_PER_GET):
        chunk = queries[offset : offset + CLOUDWATCH_MAX_QUERIES_PER_GET]
        by_id = {f"q{i}": q for i, q in enumerate(chunk)}
        values: dict[str, list[tuple[datetime, float]]] = {key: [] for key in by_id}
        kwargs: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": key,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": q.namespace,
                            "MetricName": q.metric,
                            "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions],
                        },
                        "Period": period_s,
                        "Stat": q.stat,
                    },
                    "ReturnData": True,
                }
                for key, q in by_id.items()
            ],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", ()):
                values[result["Id"]] += list(zip(result.get("Timestamps", ()), result.get("Values", ()), strict=False))
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
        for key, query in by_id.items():
            results[query] = _combine(query.stat, values[key])
    return results


def _combine(stat: str, points: Sequence[tuple[datetime, float]]) -> float | None:
    if not points:
        return None
    numbers = [float(v) for _, v in points]
    if stat in ("Sum", "SampleCount"):
        return sum(numbers)
    if stat == "Maximum":
        return max(numbers)
    if stat == "Minimum":
        return min(numbers)
    return float(max(points, key=lambda p: p[0])[1])


def dims(**dimensions: str) -> tuple[tuple[str, str], ...]:
    """``dims(Application="x", ShardId="y")`` as a query's dimensions."""
    return tuple(dimensions.items())
