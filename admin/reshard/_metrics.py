"""Per-shard incoming records and bytes from CloudWatch (enhanced shard-level monitoring)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code

logger = logging.getLogger(__name__)

#: GetMetricData accepts at most 500 queries per call; two per shard
_QUERIES_PER_CALL = 500
_PERIOD_S = 60
SHARD_METRICS = ("IncomingRecords", "IncomingBytes")


@dataclass(frozen=True, kw_only=True)
class ShardLoad:
    """Average incoming rate of one shard over the window (user records after deaggregation are
    not visible here: IncomingRecords counts Kinesis records, i.e. aggregates)."""

    records_per_sec: float
    bytes_per_sec: float


def incoming_by_shard(
    cloudwatch: Any, stream: str, shard_ids: Sequence[str], *, end: datetime, minutes: int
) -> dict[str, ShardLoad]:
    """Average IncomingRecords and IncomingBytes per second for each shard over ``minutes``
    before ``end``. Shards without datapoints get zeros."""
    start = end - timedelta(minutes=minutes)
    seconds = minutes * 60
    sums: dict[str, float] = {}
    queries = [
        {
            "Id": f"{kind[0].lower()}{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Kinesis",
                    "MetricName": f"Incoming{kind}",
                    "Dimensions": [{"Name": "StreamName", "Value": stream}, {"Name": "ShardId", "Value": shard_id}],
                },
                "Period": _PERIOD_S,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for index, shard_id in enumerate(shard_ids)
        for kind in ("Records", "Bytes")
    ]
    for offset in range(0, len(queries), _QUERIES_PER_CALL):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[offset : offset + _QUERIES_PER_CALL],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", ()):
                sums[result["Id"]] = sums.get(result["Id"], 0.0) + float(sum(result.get("Values", ())))
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return {
        shard_id: ShardLoad(
            records_per_sec=sums.get(f"r{index}", 0.0) / seconds, bytes_per_sec=sums.get(f"b{index}", 0.0) / seconds
        )
        for index, shard_id in enumerate(shard_ids)
    }


def try_incoming_by_shard(
    cloudwatch: Any, stream: str, shard_ids: Sequence[str], *, end: datetime, minutes: int
) -> tuple[dict[str, ShardLoad] | None, str | None]:
    """:func:`incoming_by_shard`, or (None, why) when CloudWatch cannot answer."""
    try:
        return incoming_by_shard(cloudwatch, stream, shard_ids, end=end, minutes=minutes), None
    except ClientError as exc:
        code = error_code(exc)
        logger.warning("GetMetricData failed: %s", code)
        return None, f"CloudWatch GetMetricData failed ({code})"
