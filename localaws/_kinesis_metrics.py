"""The AWS/Kinesis CloudWatch metrics the embedded stack publishes in limits mode.

Kinesis publishes stream-level metrics (StreamName) and, with enhanced monitoring, shard-level
ones (StreamName, ShardId) once a minute
(https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html). The stack
publishes both levels (enhanced monitoring or not) once per ``metrics_period_s`` REAL seconds
(60 by default, as Kinesis; the demo uses a few seconds: a "scaled minute"). Each datapoint is
timestamped with the wall-clock START of the period it sums (periods are aligned to multiples
of the period since the epoch), and Sums cover exactly that period: a reader computes
per-second rates as Sum / period, so utilisation = rate / (scaled) limit reads the same as
against Kinesis. Only throughput is scaled, never time: timestamps are real UTC.

:func:`build_metric_data` is pure; :class:`MetricsPublisher` is the thread that drains the
limiter and writes into moto's CloudWatch backend in-process.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ._dynamodb_limits import TableLimiter
from ._dynamodb_metrics import NAMESPACE as DYNAMODB_NAMESPACE
from ._dynamodb_metrics import build_table_metric_data
from ._limits import ShardCounters, ShardKey, ShardLimiter

logger = logging.getLogger(__name__)

NAMESPACE = "AWS/Kinesis"

#: shard-level metric name -> (counter, unit)
_SHARD_METRICS = {
    "IncomingBytes": ("IncomingBytes", "Bytes"),
    "IncomingRecords": ("IncomingRecords", "Count"),
    "OutgoingBytes": ("OutgoingBytes", "Bytes"),
    "OutgoingRecords": ("OutgoingRecords", "Count"),
    "WriteProvisionedThroughputExceeded": ("WriteProvisionedThroughputExceeded", "Count"),
    "ReadProvisionedThroughputExceeded": ("ReadProvisionedThroughputExceeded", "Count"),
}
#: stream-level metric name -> (counter, unit); sums over the stream's shards
_STREAM_METRICS = {
    "IncomingBytes": ("IncomingBytes", "Bytes"),
    "IncomingRecords": ("IncomingRecords", "Count"),
    "WriteProvisionedThroughputExceeded": ("WriteProvisionedThroughputExceeded", "Count"),
    "ReadProvisionedThroughputExceeded": ("ReadProvisionedThroughputExceeded", "Count"),
    "GetRecords.Bytes": ("OutgoingBytes", "Bytes"),
    "GetRecords.Records": ("OutgoingRecords", "Count"),
    "GetRecords.Success": ("GetRecordsCalls", "Count"),
    "PutRecords.SuccessfulRecords": ("IncomingRecords", "Count"),
    "PutRecords.ThrottledRecords": ("WriteProvisionedThroughputExceeded", "Count"),
}


def build_metric_data(
    period: dict[ShardKey, ShardCounters], timestamp: datetime
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """PutMetricData entries per (account, region) for one period's counters."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    streams: dict[tuple[str, str, str], list[ShardCounters]] = defaultdict(list)
    for (account, region, stream, shard_id), counters in sorted(period.items()):
        streams[(account, region, stream)].append(counters)
        dimensions = [{"Name": "StreamName", "Value": stream}, {"Name": "ShardId", "Value": shard_id}]
        entries = out[(account, region)]
        for name, (counter, unit) in _SHARD_METRICS.items():
            entries.append(_datum(name, counters.values[counter], unit, dimensions, timestamp))
        if counters.iterator_age_max_ms is not None:
            entries.append(
                _datum("IteratorAgeMilliseconds", counters.iterator_age_max_ms, "Milliseconds", dimensions, timestamp)
            )
    for (account, region, stream), shards in sorted(streams.items()):
        dimensions = [{"Name": "StreamName", "Value": stream}]
        entries = out[(account, region)]
        for name, (counter, unit) in _STREAM_METRICS.items():
            entries.append(_datum(name, sum(c.values[counter] for c in shards), unit, dimensions, timestamp))
        total = sum(c.values["IncomingRecords"] + c.values["WriteProvisionedThroughputExceeded"] for c in shards)
        entries.append(_datum("PutRecords.TotalRecords", total, "Count", dimensions, timestamp))
        ages = [c.iterator_age_max_ms for c in shards if c.iterator_age_max_ms is not None]
        if ages:
            entries.append(
                _datum("GetRecords.IteratorAgeMilliseconds", max(ages), "Milliseconds", dimensions, timestamp)
            )
    return dict(out)


def _datum(name: str, value: float, unit: str, dimensions: list[dict[str, str]], timestamp: datetime) -> dict[str, Any]:
    return {"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dimensions, "Timestamp": timestamp}


class MetricsPublisher:
    """Every ``period_s``: drain the limiter and put the period's metrics into moto's CloudWatch."""

    def __init__(
        self,
        limiter: ShardLimiter,
        lock: threading.Lock,
        *,
        period_s: float,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tables: TableLimiter | None = None,
    ) -> None:
        self._limiter = limiter
        #: limits mode's DynamoDB write capacity: its AWS/DynamoDB metrics go out with these
        self._tables = tables
        self._lock = lock
        self._period_s = period_s
        self._wall_clock = wall_clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kinesis-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        # periods end on multiples of period_s since the epoch, so that readers asking for aligned
        # periods find exactly one datapoint per period and metric
        while not self._stop.wait(self._until_boundary()):
            try:
                self.publish_once()
            except Exception:  # keep publishing: one bad period must not end the metrics
                logger.exception("publishing Kinesis metrics failed")

    def _until_boundary(self) -> float:
        now = self._wall_clock().timestamp()
        return max(0.05, (math.floor(now / self._period_s) + 1) * self._period_s - now)

    def publish_once(self) -> int:
        """Publish the period that just ended; returns how many datapoints were put."""
        from moto.cloudwatch.models import cloudwatch_backends

        # the period that just ended started one period before the boundary we woke up at
        now = self._wall_clock().timestamp()
        start = (round(now / self._period_s) - 1) * self._period_s
        # moto keeps naive UTC datetimes (its own utcnow()); seconds only, as CloudWatch stores them
        timestamp = datetime.fromtimestamp(start, UTC).replace(tzinfo=None, microsecond=0)
        period = self._limiter.drain()
        put = 0
        with self._lock:
            for (account, region), entries in build_metric_data(period, timestamp).items():
                backend = cloudwatch_backends[account][region]
                backend.put_metric_data(namespace=NAMESPACE, metric_data=entries)
                put += len(entries)
            if self._tables is not None:
                for (account, region), entries in build_table_metric_data(self._tables.drain(), timestamp).items():
                    cloudwatch_backends[account][region].put_metric_data(
                        namespace=DYNAMODB_NAMESPACE, metric_data=entries
                    )
                    put += len(entries)
        logger.debug("published %s Kinesis and DynamoDB datapoints for the period from %s", put, timestamp)
        return put
