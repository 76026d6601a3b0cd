"""Reading what ``nicelist status`` shows: the stream (admin.reshard), the KCL lease table, the
worker and producer metrics and AWS's own, and the alarms' states. Each part that cannot be read
becomes a note, never a crash: the screen must render during an incident."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from admin.alarms import alarm_specs, alarm_states
from admin.reshard import read_status
from foundation.aws_errors import error_code
from foundation.settings import PipelineNames
from observability import Query, dims, read_metrics
from observability import metrics as m

from ._report import Lease, PipelineStatus

log = logging.getLogger(__name__)

#: application-wide sums shown on the screen: (label, query builder)
_TOTALS: tuple[tuple[str, Callable[[PipelineNames], Query]], ...] = (
    ("events", lambda n: Query(m.EVENTS_PROCESSED.name, dims(Application=n.application))),
    ("items written", lambda n: Query(m.ITEMS_WRITTEN.name, dims(Application=n.application))),
    ("dead letters", lambda n: Query(m.DEAD_LETTERS.name, dims(Application=n.application))),
    ("DynamoDB throttles", lambda n: Query(m.DYNAMODB_THROTTLES.name, dims(Application=n.application))),
    ("processors stopped", lambda n: Query(m.PROCESSOR_STOPPED.name, dims(Application=n.application))),
    (
        "stream write throttles",
        lambda n: Query("WriteProvisionedThroughputExceeded", dims(StreamName=n.stream), namespace="AWS/Kinesis"),
    ),
    ("producer throttled", lambda n: Query(m.PRODUCER_THROTTLED.name, dims(Stream=n.stream))),
)


def _why(exc: Exception) -> str:
    return error_code(exc) or type(exc).__name__


def read_leases(dynamodb: Any, lease_table: str) -> list[Lease]:
    leases = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=lease_table):
        for item in page.get("Items", ()):
            key = item.get("leaseKey", {}).get("S", "?")
            leases.append(
                Lease(
                    shard_id=key.rsplit(":", 1)[-1],  # multi-stream leases are <stream>:<shard>
                    owner=item.get("leaseOwner", {}).get("S"),
                    checkpoint=item.get("checkpoint", {}).get("S"),
                )
            )
    return sorted(leases, key=lambda lease: lease.shard_id)


def gather_status(
    client: Callable[[str], Any],
    names: PipelineNames,
    *,
    window_minutes: int = 5,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PipelineStatus:
    """Everything on the status screen; ``client(service)`` makes a boto3 client."""
    notes: list[str] = []
    cloudwatch = client("cloudwatch")
    stream = None
    try:
        stream = read_status(client("kinesis"), names.stream, cloudwatch=cloudwatch, metrics_minutes=window_minutes)
        if stream.metrics_note:
            notes.append(f"shard load: {stream.metrics_note}")
    except (ClientError, BotoCoreError) as exc:
        notes.append(f"stream {names.stream}: {_why(exc)}")
    leases = None
    try:
        leases = read_leases(client("dynamodb"), names.application)
    except (ClientError, BotoCoreError) as exc:
        notes.append(f"lease table {names.application}: {_why(exc)}")
    end = now()
    shard_ids = sorted({s.shard_id for s in stream.topology.open} if stream else set())
    shard_ids = sorted(set(shard_ids) | {lease.shard_id for lease in leases or ()})
    lag_queries = {
        shard: Query(m.MILLIS_BEHIND_LATEST.name, dims(Application=names.application, ShardId=shard), stat="Maximum")
        for shard in shard_ids
    }
    totals_queries = {label: build(names) for label, build in _TOTALS}
    lag: dict[str, float | None] = {}
    totals: dict[str, float | None] = dict.fromkeys(totals_queries)
    try:
        found = read_metrics(
            cloudwatch,
            [*lag_queries.values(), *totals_queries.values()],
            start=end - timedelta(minutes=window_minutes),
            end=end,
        )
        lag = {shard: found[q] for shard, q in lag_queries.items()}
        totals = {label: found[q] for label, q in totals_queries.items()}
    except (ClientError, BotoCoreError) as exc:
        notes.append(f"metrics: {_why(exc)}")
    alarms = None
    try:
        alarms = alarm_states(cloudwatch, [spec.name for spec in alarm_specs(names)])
        if not alarms:
            notes.append("no alarms defined: nicelist alarms apply")
    except (ClientError, BotoCoreError) as exc:
        notes.append(f"alarms: {_why(exc)}")
    return PipelineStatus(
        stream=stream,
        leases=leases,
        lag_ms=lag,
        totals=totals,
        alarms=alarms,
        window_minutes=window_minutes,
        notes=tuple(notes),
        generated_at=f"{end:%Y-%m-%d %H:%M:%S} UTC",
    )
