"""Opt-in producer metrics (``ProducerConfig.metrics_interval_s``): the counters of
``Producer.metrics()`` (a :class:`~producer.ProducerMetrics`) as CloudWatch metrics in namespace
``nicelist`` with dimension ``Stream``,
published from the sender thread at most once per interval (and once more on close). An idle
sender publishes nothing until it wakes: nothing changed meanwhile. A failed publication is
logged and counted, never raised to the elf app. ``SpoolEventsLost`` is the count of events the
spool lost to damage found when the producer opened it: published once, in the first period."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from observability import Accumulator, MetricsPublisher
from observability import metrics as m

#: Producer.metrics() key -> the counter it feeds
_COUNTERS = {
    "accepted": m.PRODUCER_ACCEPTED,
    "sent": m.PRODUCER_DELIVERED,
    "throttled": m.PRODUCER_THROTTLED,
    "retried": m.PRODUCER_RETRIED,
    "failed": m.PRODUCER_FAILED,
    "spool_events_lost": m.PRODUCER_SPOOL_EVENTS_LOST,
}
_GAUGES = {"buffered_bytes": m.PRODUCER_BUFFERED_BYTES, "spool_bytes": m.PRODUCER_SPOOL_BYTES}


class CloudWatchMetrics:
    """Turns ``read()`` (cumulative counters) into one period's datums per publication."""

    def __init__(self, cloudwatch: Any, stream: str, read: Callable[[], Mapping[str, int]], interval_s: float) -> None:
        self._read = read
        self._stream = stream
        self._last: dict[str, int] = {}
        self.publisher = MetricsPublisher(cloudwatch, self.collect, interval_s=interval_s)

    def collect(self, timestamp: datetime) -> list[dict[str, Any]]:
        now = dict(self._read())
        period = Accumulator()
        for key, metric in _COUNTERS.items():
            period.count(metric, now.get(key, 0) - self._last.get(key, 0))
        for key, metric in _GAUGES.items():
            period.gauge(metric, now.get(key, 0))
        self._last = now
        return period.drain().datums([[(m.STREAM, self._stream)]], timestamp=timestamp, always=_COUNTERS.values())

    def publish_if_due(self) -> None:
        self.publisher.publish_if_due()

    def close(self) -> None:
        self.publisher.publish_now()
