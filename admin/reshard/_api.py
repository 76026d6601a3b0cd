"""One-call functions for scripts and the demo: each plans from the stream's current state and applies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from admin.reshard._executor import MethodChoice, Progress, ReshardConfig, Resharder, ReshardResult
from admin.reshard._metrics import try_incoming_by_shard
from admin.reshard._status import NO_SHARD_METRICS, StatusReport, metrics_available


def _resharder(kinesis: Any, stream: str, progress: Progress | None, wait_timeout_s: float) -> Resharder:
    return Resharder(kinesis, ReshardConfig(stream=stream, wait_timeout_s=wait_timeout_s), progress=progress)


def scale(
    kinesis: Any,
    stream: str,
    target: int,
    *,
    method: MethodChoice = "auto",
    progress: Progress | None = None,
    wait_timeout_s: float = 900.0,
) -> ReshardResult:
    """Take ``stream`` to ``target`` open shards and wait until it is ACTIVE again."""
    resharder = _resharder(kinesis, stream, progress, wait_timeout_s)
    return resharder.execute(resharder.plan_scale(target, method=method))


def split(
    kinesis: Any,
    stream: str,
    shard_id: str,
    *,
    at: int | None = None,
    progress: Progress | None = None,
    wait_timeout_s: float = 900.0,
) -> ReshardResult:
    resharder = _resharder(kinesis, stream, progress, wait_timeout_s)
    return resharder.execute(resharder.plan_split(shard_id, at))


def merge(
    kinesis: Any,
    stream: str,
    shard_id: str,
    other_id: str,
    *,
    progress: Progress | None = None,
    wait_timeout_s: float = 900.0,
) -> ReshardResult:
    resharder = _resharder(kinesis, stream, progress, wait_timeout_s)
    return resharder.execute(resharder.plan_merge(shard_id, other_id))


def rebalance(
    kinesis: Any,
    stream: str,
    *,
    target: int | None = None,
    tolerance: float = 0.1,
    progress: Progress | None = None,
    wait_timeout_s: float = 900.0,
) -> ReshardResult:
    resharder = _resharder(kinesis, stream, progress, wait_timeout_s)
    return resharder.execute(resharder.plan_rebalance(target, tolerance=tolerance))


def read_status(
    kinesis: Any,
    stream: str,
    *,
    cloudwatch: Any = None,
    metrics_minutes: int = 5,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> StatusReport:
    """Stream summary, every shard with lineage, and per-shard incoming rates when enhanced
    shard-level monitoring publishes IncomingRecords and IncomingBytes."""
    resharder = Resharder(kinesis, ReshardConfig(stream=stream))
    summary = resharder.summary()
    topology = resharder.topology()
    loads = None
    note: str | None = NO_SHARD_METRICS
    if metrics_available(summary):
        if cloudwatch is None:
            note = "shard-level metrics enabled, but no CloudWatch client was given"
        else:
            ids = [s.shard_id for s in topology.open]
            loads, note = try_incoming_by_shard(cloudwatch, stream, ids, end=now(), minutes=metrics_minutes)
    return StatusReport(
        summary=summary, topology=topology, loads=loads, metrics_note=note, metrics_minutes=metrics_minutes
    )
