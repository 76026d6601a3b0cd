"""The record processor's metrics: what it counts, sampled and sent to CloudWatch off the hot path.

The processor holds a :class:`WorkerMetrics` and calls it at a few points (batch done, items
written, gave up, shutting down). Counts it already keeps (``processor.counters``) are read here
as deltas, DynamoDB/S3 retries and throttles come from botocore event hooks on the sink clients,
so the sinks know nothing about metrics. A daemon thread publishes once per ``interval_s``
(:class:`observability.MetricsPublisher`); a failed publication is logged and counted
(``MetricsPublishFailures``), never raised. Names and dimensions: :mod:`observability.metrics`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from foundation.aws_errors import ErrorKind, classify
from observability import Accumulator, MetricsPublisher, percentile
from observability import metrics as m

from ._errors import ConfigError
from .records import DecodedEvent

log = logging.getLogger(__name__)

#: processor.counters key -> the metric it feeds
COUNTER_METRICS = {
    "records": m.RECORDS_PROCESSED,
    "events": m.EVENTS_PROCESSED,
    "dead_letters": m.DEAD_LETTERS,
    "files": m.ARCHIVE_FILES,
    "checkpoints": m.CHECKPOINTS,
}
#: counters sent as 0 when nothing happened, so alarms on them see zeros rather than gaps
ALWAYS_SENT = (
    *COUNTER_METRICS.values(),
    m.ITEMS_WRITTEN,
    m.DYNAMODB_THROTTLES,
    m.DYNAMODB_THROTTLED_STATEMENTS,
    m.PROCESSOR_STOPPED,
)
#: service name in botocore events -> (retries, throttles)
_SERVICE_METRICS = {"dynamodb": (m.DYNAMODB_RETRIES, m.DYNAMODB_THROTTLES), "s3": (m.S3_RETRIES, m.S3_THROTTLES)}
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True, kw_only=True)
class MetricsConfig:
    """Whether and how often the processor publishes (``NICELIST_METRICS*``)."""

    enabled: bool = True
    #: seconds between two PutMetricData rounds (CloudWatch's standard resolution is 60 s)
    interval_s: float = 60.0
    #: also publish per shard (``ShardId``); off: only the application aggregate (fewer metrics to pay for)
    shard_level: bool = True

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ConfigError(f"metrics interval_s must be positive, got {self.interval_s}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricsConfig:
        """``NICELIST_METRICS`` (on/off), ``NICELIST_METRICS_INTERVAL_S``, ``NICELIST_METRICS_SHARD_LEVEL``."""
        env = os.environ if environ is None else environ
        defaults = cls()
        try:
            return cls(
                enabled=env.get("NICELIST_METRICS", "on").strip().lower() in _TRUE,
                interval_s=float(env.get("NICELIST_METRICS_INTERVAL_S", defaults.interval_s)),
                shard_level=env.get("NICELIST_METRICS_SHARD_LEVEL", "on").strip().lower() in _TRUE,
            )
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"bad metrics setting in the environment: {exc}") from exc


class WorkerMetrics:
    """One processor's metrics. Without a ``cloudwatch`` client it only accumulates (tests, off)."""

    def __init__(
        self,
        *,
        application: str,
        cloudwatch: Any = None,
        config: MetricsConfig | None = None,
    ) -> None:
        self.config = config or MetricsConfig()
        self.application = application
        self.shard_id = ""
        self.accumulator = Accumulator()
        self._counters: Mapping[str, int] = {}
        self._seen: dict[str, int] = {}
        self._records_at_checkpoint = 0
        self._checkpoints_seen = 0
        self._sink_seen: Any = None
        self.publisher: MetricsPublisher | None = None
        if cloudwatch is not None and self.config.enabled:
            self.publisher = MetricsPublisher(
                cloudwatch,
                self.collect,
                interval_s=self.config.interval_s,
                on_failure=lambda: self.accumulator.count(m.METRICS_PUBLISH_FAILURES),
                name="nicelist-worker-metrics",
            )

    # --- hooks the processor calls ---------------------------------------------------------------
    def start(self, shard_id: str, counters: Mapping[str, int]) -> None:
        """The processor owns ``shard_id`` and counts into ``counters`` (read, never written here)."""
        self.shard_id = shard_id
        self._counters = counters
        self._seen = dict(counters)
        self._records_at_checkpoint = counters.get("records", 0)
        self._checkpoints_seen = counters.get("checkpoints", 0)
        if self.publisher is not None:
            self.publisher.start()

    def batch_done(self, millis_behind_latest: int | None) -> None:
        """After each ``process_records``: the KCL's lag and what is not yet checkpointed."""
        if millis_behind_latest is not None:
            self.accumulator.gauge(m.MILLIS_BEHIND_LATEST, millis_behind_latest)
        records = self._counters.get("records", 0)
        checkpoints = self._counters.get("checkpoints", 0)
        if checkpoints != self._checkpoints_seen:  # a checkpoint covers everything delivered so far
            self._checkpoints_seen = checkpoints
            self._records_at_checkpoint = records
        self.accumulator.gauge(m.UNCHECKPOINTED_RECORDS, records - self._records_at_checkpoint)

    def items_written(self, written: int, superseded: int, events: Sequence[DecodedEvent], now_ms: int) -> None:
        """The kid table holds ``events`` (durable or superseded) at ``now_ms``."""
        self.accumulator.count(m.ITEMS_WRITTEN, written)
        self.accumulator.count(m.ITEMS_SUPERSEDED, superseded)
        self.accumulator.observe(m.PUT_TO_ITEM_LATENCY, (now_ms - int(e.event["observed_at"]) for e in events))

    def stopped(self) -> None:
        """The processor gives up (exits): say so, synchronously, before the process ends. Never
        raises: the exit that follows must happen whatever the metrics do."""
        try:
            self.accumulator.count(m.PROCESSOR_STOPPED)
            self.close()
        except Exception:
            log.exception("could not publish the final metrics of %s", self.shard_id)

    def close(self) -> None:
        """Publish what is left and stop the thread (shutdown, shard end, lease lost)."""
        if self.publisher is not None:
            self.publisher.close()
            self.publisher = None

    def sink_progress(self, stats: Any) -> None:
        """The kid-table writer's cumulative figures (a ``consumer.sinks.PacingStats``): throttled
        statements and seconds waited as deltas, calls in flight and statements per kid as gauges."""
        last = self._sink_seen
        self._sink_seen = stats
        self.accumulator.gauge(m.DYNAMODB_CALLS_IN_FLIGHT, stats.in_flight_limit)
        throttled = stats.throttled_statements - (last.throttled_statements if last else 0)
        waited = stats.waited_s - (last.waited_s if last else 0.0)
        if throttled:
            self.accumulator.count(m.DYNAMODB_THROTTLED_STATEMENTS, throttled)
        if waited > 0:
            self.accumulator.count(m.DYNAMODB_THROTTLE_WAIT, waited)
        kids = stats.kids_settled - (last.kids_settled if last else 0)
        if kids > 0:
            statements = stats.write_statements - (last.write_statements if last else 0)
            self.accumulator.gauge(m.WRITE_STATEMENTS_PER_KID, statements / kids)

    # --- botocore hooks on the sink clients ------------------------------------------------------
    def observe_client(self, client: Any) -> None:
        """Count this client's retryable failures and throttles (DynamoDB, S3)."""
        service = client.meta.service_model.service_name
        if service not in _SERVICE_METRICS:
            raise ValueError(f"no retry metrics for {service}")
        retries, throttles = _SERVICE_METRICS[service]

        def after_call(http_response: Any = None, parsed: Any = None, **_: Any) -> None:
            status = getattr(http_response, "status_code", 200)
            if status < 300:
                return
            code = str((parsed or {}).get("Error", {}).get("Code", ""))
            kind = classify(code, status)
            if kind is not ErrorKind.OTHER:
                self.accumulator.count(retries)
            if kind is ErrorKind.THROTTLED:
                self.accumulator.count(throttles)

        def after_call_error(exception: Any = None, **_: Any) -> None:
            self.accumulator.count(retries)  # connection trouble: retried by the sink

        client.meta.events.register("after-call", after_call)
        client.meta.events.register("after-call-error", after_call_error)

    # --- the publisher's side ----------------------------------------------------------------------
    def collect(self, timestamp: datetime) -> list[dict[str, Any]]:
        """The period's datums (the publisher thread calls this)."""
        current = dict(self._counters)
        self.accumulator.count(m.WORKER_HEARTBEAT)  # one per period: the alarm on its absence pages
        for key, metric in COUNTER_METRICS.items():
            delta = current.get(key, 0) - self._seen.get(key, 0)
            self.accumulator.count(metric, delta)
        self._seen = current
        period = self.accumulator.drain()
        histogram = period.distributions.get(m.PUT_TO_ITEM_LATENCY)
        gauges = dict(period.gauges)
        if histogram:
            extra = Accumulator()
            for metric, q in ((m.PUT_TO_ITEM_LATENCY_P50, 0.5), (m.PUT_TO_ITEM_LATENCY_P99, 0.99)):
                value = percentile(histogram, q)
                if value is not None:
                    extra.gauge(metric, value)
            gauges |= extra.drain().gauges
        period = type(period)(period.counters, gauges, period.distributions)
        return period.datums(self.dimension_sets(), timestamp=timestamp, always=ALWAYS_SENT)

    def dimension_sets(self) -> list[list[tuple[str, str]]]:
        application = [(m.APPLICATION, self.application)]
        if self.config.shard_level and self.shard_id:
            return [application, [*application, (m.SHARD_ID, self.shard_id)]]
        return [application]
