"""The part of the reshard tool that calls Kinesis: read the stream, check a plan, apply it.

The kinesis client, the clock and the sleep are injected; nothing here creates a client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from admin.reshard._errors import (
    LimitExceededError,
    NotProvisionedError,
    ReshardError,
    ReshardTimeoutError,
    StreamNotActiveError,
    StreamNotFoundError,
)
from admin.reshard._model import Topology
from admin.reshard._steps import (
    Goal,
    MergeShards,
    OneStep,
    RebalanceGoal,
    ScaleGoal,
    SplitShard,
    Step,
    UpdateShardCount,
    check_target,
    merge_step,
    plan_steps,
    split_step,
    update_shard_count_targets,
)
from foundation.aws_errors import error_code, error_message
from foundation.limits import UPDATE_SHARD_COUNT_CALLS_PER_24H
from foundation.polling import PollTimeout, wait_until
from foundation.settings import PipelineNames

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
MethodChoice = Literal["auto", "update-shard-count", "split-merge"]
METHODS: tuple[MethodChoice, ...] = ("auto", "update-shard-count", "split-merge")
#: ResourceInUseException answers to a mutating call tolerated per run (wait, re-plan, go on)
_BUSY_RETRIES = 2


@dataclass(frozen=True, kw_only=True)
class ReshardConfig:
    stream: str
    #: longest wait for the stream to return to ACTIVE after one call
    wait_timeout_s: float = 900.0
    #: DescribeStreamSummary polling interval while waiting
    poll_interval_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.stream:
            raise ValueError("stream must not be empty")
        if self.wait_timeout_s <= 0 or self.poll_interval_s <= 0:
            raise ValueError("wait_timeout_s and poll_interval_s must be positive")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, stream: str | None = None, **overrides: float
    ) -> ReshardConfig:
        """The stream from ``NICELIST_STREAM`` (or ``stream``), timings from keyword arguments."""
        return cls(stream=PipelineNames.from_env(environ, stream=stream).stream, **overrides)


@dataclass(frozen=True, kw_only=True)
class StreamSummary:
    stream: str
    status: str
    mode: str
    open_shard_count: int | None
    retention_hours: int | None
    shard_level_metrics: tuple[str, ...]
    #: StreamCreationTimestamp (timezone-aware), if the service reported it
    created_at: datetime | None = None

    @classmethod
    def from_api(cls, summary: Mapping[str, Any]) -> StreamSummary:
        metrics: list[str] = []
        for monitoring in summary.get("EnhancedMonitoring") or ():
            metrics.extend(monitoring.get("ShardLevelMetrics") or ())
        return cls(
            stream=summary["StreamName"],
            status=summary["StreamStatus"],
            mode=(summary.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"),
            open_shard_count=summary.get("OpenShardCount"),
            retention_hours=summary.get("RetentionPeriodHours"),
            shard_level_metrics=tuple(sorted(set(metrics))),
            created_at=_aware(summary.get("StreamCreationTimestamp")),
        )

    def has_metric(self, name: str) -> bool:
        return name in self.shard_level_metrics or "ALL" in self.shard_level_metrics


@dataclass(frozen=True, kw_only=True)
class AccountLimits:
    """What DescribeLimits reports. The UpdateShardCount quota is not among them."""

    shard_limit: int
    open_shard_count: int
    on_demand_stream_count: int | None = None
    on_demand_stream_count_limit: int | None = None

    @classmethod
    def from_api(cls, limits: Mapping[str, Any]) -> AccountLimits:
        return cls(
            shard_limit=int(limits["ShardLimit"]),
            open_shard_count=int(limits["OpenShardCount"]),
            on_demand_stream_count=limits.get("OnDemandStreamCount"),
            on_demand_stream_count_limit=limits.get("OnDemandStreamCountLimit"),
        )


@dataclass(frozen=True, kw_only=True)
class ReshardPlan:
    """A checked plan: the goal, the calls it needs from today's layout, and what was read."""

    stream: str
    goal: Goal
    before: Topology
    steps: tuple[Step, ...]
    after: Topology
    peak_open: int
    notes: tuple[str, ...] = ()
    #: when UpdateShardCount is refused by a limit mid-way, carry on towards this goal instead
    fallback: Goal | None = None

    def api_calls(self) -> list[tuple[str, dict[str, Any]]]:
        """The exact calls, in order; ids of shards that do not exist yet are placeholders."""
        return [(step.operation, step.params(self.stream)) for step in self.steps]


@dataclass(frozen=True)
class ReshardResult:
    completed: tuple[Step, ...]
    final: Topology


@dataclass
class Resharder:
    """Reads and reshards one stream. ``progress`` receives one line per call and per wait poll."""

    kinesis: Any
    config: ReshardConfig
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    progress: Progress | None = None
    _notes: list[str] = field(default_factory=list, init=False, repr=False)

    @property
    def stream(self) -> str:
        return self.config.stream

    # --- reading -------------------------------------------------------------------------------

    def summary(self) -> StreamSummary:
        try:
            response = self.kinesis.describe_stream_summary(StreamName=self.stream)
        except ClientError as exc:
            raise _translate(exc, self.stream, "DescribeStreamSummary") from exc
        return StreamSummary.from_api(response["StreamDescriptionSummary"])

    def topology(self) -> Topology:
        """Every shard, open and closed, from ListShards (all pages)."""
        shards: list[Mapping[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream}
        try:
            while True:
                response = self.kinesis.list_shards(**kwargs)
                shards.extend(response.get("Shards", ()))
                token = response.get("NextToken")
                if not token:
                    break
                kwargs = {"NextToken": token}  # ListShards rejects StreamName next to NextToken
        except ClientError as exc:
            raise _translate(exc, self.stream, "ListShards") from exc
        return Topology.from_api(self.stream, shards)

    def limits(self) -> AccountLimits | None:
        """DescribeLimits, or None (logged) when the caller may not read it."""
        try:
            return AccountLimits.from_api(self.kinesis.describe_limits())
        except ClientError as exc:
            logger.warning("DescribeLimits failed (%s): shard limits not checked", error_code(exc))
            return None

    # --- planning ------------------------------------------------------------------------------

    def plan_scale(self, target: int, *, method: MethodChoice = "auto", tolerance: float = 0.0) -> ReshardPlan:
        """Calls that take the stream to ``target`` open shards. Nothing changes."""
        check_target(target)
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        topology = self._ready_topology()
        notes: list[str] = []
        calls = len(update_shard_count_targets(topology.open_count, target))
        quota = UPDATE_SHARD_COUNT_CALLS_PER_24H
        fallback: Goal | None = None
        if method == "split-merge":
            goal: Goal = ScaleGoal(target, "split-merge", tolerance)
        elif calls <= quota:
            goal = ScaleGoal(target, "update-shard-count", tolerance)
            if method == "auto":
                fallback = ScaleGoal(target, "split-merge", tolerance)
        elif method == "update-shard-count":
            raise LimitExceededError(
                f"{topology.open_count} -> {target} shards needs {calls} UpdateShardCount calls; "
                f"the quota is {quota} per rolling 24 hours: use --method split-merge or fewer steps"
            )
        else:
            notes.append(f"{calls} UpdateShardCount calls exceed the quota of {quota} per 24 h: using split/merge")
            goal = ScaleGoal(target, "split-merge", tolerance)
        if isinstance(goal, ScaleGoal) and goal.method == "update-shard-count" and calls:
            notes.append(
                f"UpdateShardCount calls: {calls} of at most {quota} per rolling 24 hours (documented quota; "
                "DescribeLimits does not report it and earlier calls today are not visible, so a refusal "
                + ("switches to split/merge)" if fallback else "stops the run)")
            )
        return self._plan(topology, goal, notes, fallback)

    def plan_split(self, shard_id: str, at: int | None = None) -> ReshardPlan:
        topology = self._ready_topology()
        return self._plan(topology, OneStep(split_step(topology, shard_id, at)), [], None)

    def plan_merge(self, shard_id: str, other_id: str) -> ReshardPlan:
        topology = self._ready_topology()
        return self._plan(topology, OneStep(merge_step(topology, shard_id, other_id)), [], None)

    def plan_rebalance(self, target: int | None = None, *, tolerance: float = 0.1) -> ReshardPlan:
        """Splits and merges that leave ``target`` (default: today's count) open shards, each within
        ``tolerance`` of an even share. Re-run an interrupted rebalance with the same ``target``."""
        topology = self._ready_topology()
        goal = RebalanceGoal(topology.open_count if target is None else target, tolerance)
        return self._plan(topology, goal, [], None)

    def _ready_topology(self) -> Topology:
        summary = self.summary()
        self._check_ready(summary)
        topology = self.topology()
        topology.check_tiling()
        return topology

    def _check_ready(self, summary: StreamSummary) -> None:
        if summary.mode != "PROVISIONED":
            raise NotProvisionedError(
                f"stream {self.stream} is {summary.mode}: Kinesis manages its shards; nothing changed"
            )
        if summary.status != "ACTIVE":
            raise StreamNotActiveError(self.stream, summary.status)

    def _plan(self, topology: Topology, goal: Goal, notes: list[str], fallback: Goal | None) -> ReshardPlan:
        simulation = plan_steps(topology, goal)
        if simulation.steps:
            notes.extend(self._check_account_limit(topology, simulation.peak_open))
        return ReshardPlan(
            stream=self.stream,
            goal=goal,
            before=topology,
            steps=simulation.steps,
            after=simulation.final,
            peak_open=simulation.peak_open,
            notes=tuple(notes),
            fallback=fallback,
        )

    def _check_account_limit(self, topology: Topology, peak_open: int) -> list[str]:
        limits = self.limits()
        if limits is None:
            return ["DescribeLimits not readable: the account's shard limit was not checked"]
        others = max(limits.open_shard_count - topology.open_count, 0)
        note = (
            f"DescribeLimits: ShardLimit {limits.shard_limit}, OpenShardCount {limits.open_shard_count} "
            f"(account), OnDemandStreamCount {limits.on_demand_stream_count}/{limits.on_demand_stream_count_limit}; "
            f"this plan peaks at {peak_open} open shards in this stream"
        )
        if others + peak_open > limits.shard_limit:
            raise LimitExceededError(
                f"the plan peaks at {peak_open} open shards; with {others} open in other streams that exceeds "
                f"the account's shard limit of {limits.shard_limit}: nothing changed"
            )
        return [note]

    # --- applying ------------------------------------------------------------------------------

    def execute(self, plan: ReshardPlan) -> ReshardResult:
        """Apply ``plan``: re-read the stream before every call and make the next call its goal
        needs, waiting for ACTIVE after each. Safe to call again after an interruption."""
        done: list[Step] = []
        goal = plan.goal
        budget = 2 * len(plan.steps) + 4
        busy = 0
        try:
            self._check_ready(self.summary())
            while True:
                topology = self.topology()
                topology.check_tiling()
                step = goal.next_step(topology)
                if step is None:
                    return ReshardResult(tuple(done), topology)
                if len(done) >= budget:
                    raise ReshardError(f"{goal.describe()} not reached after {len(done)} calls; stopped")
                try:
                    self._apply(step)
                except StreamNotActiveError:
                    # ResourceInUseException: our own call's retry after a lost response, or another
                    # operator; wait, then plan again from whatever the stream looks like now
                    busy += 1
                    if busy > _BUSY_RETRIES:
                        raise
                    self._say(f"stream {self.stream} is busy; waiting for ACTIVE and planning again")
                    self.wait_active()
                    continue
                except LimitExceededError as exc:
                    if isinstance(step, UpdateShardCount) and plan.fallback is not None and goal is not plan.fallback:
                        self._say(f"UpdateShardCount refused ({exc}); carrying on with SplitShard/MergeShards")
                        goal = plan.fallback
                        budget = len(done) + 2 * len(plan_steps(topology, goal).steps) + 4
                        continue
                    raise
                done.append(step)
                self.wait_active()
        except ReshardError as exc:
            raise exc.with_completed(done) from exc.__cause__

    def _apply(self, step: Step) -> None:
        params = step.params(self.stream)
        self._say(f"{step.operation} {_format_params(params)}")
        logger.info("reshard %s: %s", self.stream, step.describe())
        method = {
            UpdateShardCount: self.kinesis.update_shard_count,
            SplitShard: self.kinesis.split_shard,
            MergeShards: self.kinesis.merge_shards,
        }[type(step)]
        try:
            method(**params)
        except ClientError as exc:
            raise _translate(exc, self.stream, step.operation) from exc

    def wait_active(self, timeout_s: float | None = None) -> StreamSummary:
        """Poll until the stream is ACTIVE; :class:`ReshardTimeoutError` after the timeout."""
        timeout = self.config.wait_timeout_s if timeout_s is None else timeout_s
        started = self.clock()
        last = ""

        def active() -> StreamSummary | None:
            nonlocal last
            summary = self.summary()
            last = summary.status
            if summary.status == "ACTIVE":
                return summary
            if summary.status == "DELETING":
                raise StreamNotActiveError(self.stream, summary.status)
            waited = self.clock() - started
            if waited < timeout:  # the last look before the deadline raises instead
                self._say(f"waiting for {self.stream} to be ACTIVE: {summary.status} ({waited:.0f} s)")
            return None

        try:
            return wait_until(
                active,
                timeout_s=timeout,
                what=f"stream {self.stream} to be ACTIVE",
                poll_s=self.config.poll_interval_s,
                clock=self.clock,
                sleep=self.sleep,
            )
        except PollTimeout as exc:
            raise ReshardTimeoutError(
                f"stream {self.stream} still {last} after {timeout:g} s; the change may still "
                "complete: check `nicelist reshard status`, then re-run the same command"
            ) from exc

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)


def _aware(value: Any) -> datetime | None:
    """A botocore timestamp as an aware datetime (naive ones are UTC); None for anything else."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _format_params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def _translate(exc: ClientError, stream: str, operation: str) -> Exception:
    """A Kinesis ClientError as the reshard error it means; unknown codes come back untouched."""
    code = error_code(exc)
    message = error_message(exc)
    if code == "ResourceNotFoundException":
        return StreamNotFoundError(f"{operation}: stream {stream} or a shard of it not found: {message}")
    if code == "ResourceInUseException":
        return StreamNotActiveError(stream, f"busy ({operation}: {message})")
    if code == "LimitExceededException":
        return LimitExceededError(f"{operation} refused by a Kinesis limit: {message}")
    if code in ("ValidationException", "InvalidArgumentException"):
        if "ON_DEMAND" in message.upper().replace("-", "_"):
            return NotProvisionedError(f"{operation}: stream {stream} is ON_DEMAND: {message}")
        return ReshardError(f"{operation} rejected by Kinesis ({code}): {message}")
    return exc
