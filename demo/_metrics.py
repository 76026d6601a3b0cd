"""What the demo's workers published to CloudWatch (namespace ``nicelist``) and the status screen.

The workers publish every :data:`WORKER_METRICS_INTERVAL_S` seconds during the demo (60 s in
production) so the summary can read the whole run back with GetMetricData while they still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from admin.status import gather_status
from foundation.polling import poll
from foundation.settings import PipelineNames
from observability import Query, dims, read_metrics
from observability import metrics as m

log = logging.getLogger(__name__)

WORKER_METRICS_INTERVAL_S = 10
#: what the workers' processors see in their environment during the demo
WORKER_METRICS_ENV = {"NICELIST_METRICS_INTERVAL_S": str(WORKER_METRICS_INTERVAL_S)}

#: (label in the summary, metric, statistic) read for the whole application
SHOWN = (
    ("events", m.EVENTS_PROCESSED, "Sum"),
    ("items written", m.ITEMS_WRITTEN, "Sum"),
    ("superseded", m.ITEMS_SUPERSEDED, "Sum"),
    ("dead letters", m.DEAD_LETTERS, "Sum"),
    ("archive files", m.ARCHIVE_FILES, "Sum"),
    ("DynamoDB throttled calls", m.DYNAMODB_THROTTLES, "Sum"),
    ("throttled statements", m.DYNAMODB_THROTTLED_STATEMENTS, "Sum"),
    ("processors stopped", m.PROCESSOR_STOPPED, "Sum"),
    ("max MillisBehindLatest", m.MILLIS_BEHIND_LATEST, "Maximum"),
    ("max per-minute p99 put->item ms", m.PUT_TO_ITEM_LATENCY_P99, "Maximum"),
)


def read_worker_metrics(
    cloudwatch: Any, names: PipelineNames, *, since: datetime, events: int, dead_letters: int, timeout_s: float = 45.0
) -> dict[str, float | None]:
    """The application's totals since ``since``; waits (up to ``timeout_s``) until the published
    events and dead letters reach ``events`` and ``dead_letters`` (the archive's counts), i.e. the
    workers' last period has been sent."""
    queries = {label: Query(metric.name, dims(Application=names.application), stat) for label, metric, stat in SHOWN}

    def read() -> dict[str, float | None]:
        end = datetime.now(UTC) + timedelta(minutes=1)
        found = read_metrics(cloudwatch, list(queries.values()), start=since - timedelta(minutes=1), end=end)
        return {label: found[q] for label, q in queries.items()}

    def complete(values: dict[str, float | None]) -> bool:
        return (values["events"] or 0) >= events and (values["dead letters"] or 0) >= dead_letters

    try:
        values, _ = poll(read, complete, timeout_s=timeout_s, poll_s=2)
    except (ClientError, BotoCoreError) as exc:
        log.warning("reading the worker metrics failed: %s", exc)
        return {}
    return values


def status_screen(clients: Callable[[str], Any], names: PipelineNames) -> str:
    """``nicelist status`` as it renders now."""
    return gather_status(clients, names, window_minutes=5).render()
