"""Each record processor's metrics carry one WorkerHeartbeat per period, also when nothing happened,
for the application and for its shard: the heartbeat alarm pages on their absence."""

from __future__ import annotations

from datetime import UTC, datetime

from consumer.metrics import WorkerMetrics
from observability import metrics as m


def test_every_period_carries_one_heartbeat_per_dimension_set() -> None:
    metrics = WorkerMetrics(application="app")
    metrics.start("shardId-000000000003", {})
    for _ in range(2):  # an idle processor too
        beats = [d for d in metrics.collect(datetime.now(UTC)) if d["MetricName"] == m.WORKER_HEARTBEAT.name]
        assert sorted(len(d["Dimensions"]) for d in beats) == [1, 2]
        assert all(d["Value"] == 1 for d in beats)
    assert (m.WORKER_HEARTBEAT.name, (m.APPLICATION,)) in m.PUBLISHED
