"""The autoscaler: read the stream and its metrics, ask the policy, log and publish the decision,
act through the reshard executor. ``step()`` is one decision (``--once``); ``run()`` loops.

Clients, the wall clock and the sleep are injected. A change is recorded as in flight before
its first call and cleared after the stream is ACTIVE again, so a crash mid-reshard is
finished (not repeated) by the next start: the executor re-reads the stream before each call.

With a :class:`StreamLock`, a step acts only while this autoscaler holds the stream's lease
(taken or renewed at the start of every step and while a reshard is awaited; released by
``release()`` and at the end of ``run()``); without it, it stands by and says who holds it.
A decision naming a hot-key shard is answered by sampling that shard's latest records once
(GetShardIterator AT_TIMESTAMP + one GetRecords) to name the key in the reason.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from admin.autoscale._lock import LockLostError, StreamLock
from admin.autoscale._model import Decision, Observation, QuotaState, ShardLimits
from admin.autoscale._policy import PolicyConfig, decide
from admin.autoscale._signals import read_loads
from admin.autoscale._state import AutoscaleState, InFlight, StateStore, take_over
from admin.reshard import (
    ClosedShardError,
    NotAdjacentError,
    ReshardConfig,
    Resharder,
    ReshardError,
    Topology,
    UnknownShardError,
    UpdateShardCount,
    update_shard_count_targets,
)
from foundation.aws_errors import error_code
from foundation.errors import ConfigError

logger = logging.getLogger(__name__)

#: the namespace of the autoscaler's own metrics
METRICS_NAMESPACE = "nicelist"


@dataclass(frozen=True, kw_only=True)
class AutoscaleConfig:
    stream: str
    #: metric period in seconds (60 against Kinesis; the embedded stack's --metrics-period)
    period_s: int = 60
    #: seconds between decisions in the long-running mode (default: one period)
    interval_s: float | None = None
    limits: ShardLimits = field(default_factory=ShardLimits)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    dry_run: bool = False
    #: remembered calls, last change and the change in flight; None: in memory only
    state_path: Path | None = None
    publish_metrics: bool = True
    wait_timeout_s: float = 900.0
    #: DescribeStreamSummary polling while a change completes
    poll_interval_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.stream:
            raise ConfigError("stream", "must not be empty")
        if self.period_s < 1:
            raise ConfigError("period_s", "must be >= 1")
        if self.interval_s is not None and self.interval_s <= 0:
            raise ConfigError("interval_s", "must be positive")
        if self.wait_timeout_s <= 0 or self.poll_interval_s <= 0:
            raise ConfigError("wait_timeout_s", "timeouts must be positive")

    @property
    def every_s(self) -> float:
        return float(self.period_s) if self.interval_s is None else self.interval_s


@dataclass(frozen=True, kw_only=True)
class DecisionRecord:
    at: datetime
    open_shards: int
    decision: Decision
    #: what acting on it did: "dry run", "done", "no change", "standby" (another autoscaler
    #: holds the lock), or "FAILED: ..."
    outcome: str


class Autoscaler:
    def __init__(
        self,
        kinesis: Any,
        cloudwatch: Any,
        config: AutoscaleConfig,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        on_decision: Callable[[DecisionRecord], None] | None = None,
        lock: StreamLock | None = None,
    ) -> None:
        self.kinesis = kinesis
        self.cloudwatch = cloudwatch
        self.config = config
        self._now = wall_clock
        self._store = StateStore(config.state_path)
        self.state: AutoscaleState = self._store.load()
        self._on_decision = on_decision
        self.history: list[DecisionRecord] = []
        self.lock = lock
        self._sleep = sleep
        #: hot-key shard -> what sampling it found (sampled once)
        self._hot_keys: dict[str, str] = {}
        self.resharder = Resharder(
            kinesis,
            ReshardConfig(
                stream=config.stream, wait_timeout_s=config.wait_timeout_s, poll_interval_s=config.poll_interval_s
            ),
            sleep=self._sleep_holding_lock,
            progress=lambda line: logger.info("reshard: %s", line),
        )

    # --- one decision ------------------------------------------------------------------------

    def resume(self) -> bool:
        """Finish a change a crashed run left in flight; True when there was one."""
        flight = self.state.in_flight
        if flight is None or self.config.dry_run:
            return False
        logger.warning("finishing the change left in flight: %s to %s", flight.action, flight.target)
        self._execute(flight)
        return True

    def _adopt_lock_state(self, shared: str) -> None:
        """Take in what the lock's item says the last holder did (calls, last change, in flight)."""
        try:
            theirs = AutoscaleState.from_json(json.loads(shared))
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("the autoscale lock's state is unreadable (%s): keeping this host's own", exc)
            return
        self.state = take_over(self.state, theirs)
        self._store.save(self.state)

    def _save(self) -> None:
        """The state to the file and, while we hold the lock, to its item (LockLostError if lost)."""
        self._store.save(self.state)
        if self.lock is not None and self.lock.held_until is not None:
            self.lock.save_state(json.dumps(self.state.to_json(), sort_keys=True))

    def _sleep_holding_lock(self, seconds: float) -> None:
        """The executor's sleep while it waits for ACTIVE: keeps the lease alive."""
        if self.lock is not None:
            self.lock.renew_or_raise()
        self._sleep(seconds)

    def release(self) -> None:
        """Give the stream's lease back (the end of ``--once`` and of ``run()``)."""
        if self.lock is not None:
            self.lock.release()

    def step(self) -> DecisionRecord:
        """Observe, decide, publish, act (unless dry run); one decision."""
        config = self.config
        if self.lock is not None:
            known = self.lock.state  # what we last wrote to (or took from) the lock's item
            if not self.lock.acquire():
                now = self._now()
                why = f"standing by: the autoscale lock on {config.stream} is held by {self.lock.describe_holder()}"
                return self._record(now, 0, Decision(action="none", target=0, reason=why), "standby")
            if self.lock.state not in (None, known):
                self._adopt_lock_state(self.lock.state)
        self.resume()
        now = self._now()
        self.state.prune(now)
        summary = self.resharder.summary()
        open_shards = summary.open_shard_count or 0
        if summary.status != "ACTIVE":
            decision = Decision(action="none", target=open_shards, reason=f"stream is {summary.status}: waiting")
            return self._record(now, open_shards, decision, "no change")
        topology = self.resharder.topology()
        open_ids = [shard.shard_id for shard in topology.open]  # hash-key order
        open_shards = len(open_ids)
        account = self.resharder.limits()
        loads, rates = read_loads(
            self.cloudwatch,
            config.stream,
            open_ids,
            now=now,
            period_s=config.period_s,
            periods=config.policy.window_periods,
            rate_periods=config.policy.down_periods,
        )
        observation = Observation(
            now=now,
            open_shards=open_shards,
            period_s=float(config.period_s),
            periods=loads,
            shard_rates=rates,
            quota=QuotaState(
                update_calls_24h=self.state.calls_since(now),
                account_shard_limit=None if account is None else account.shard_limit,
                account_open_shards=None if account is None else account.open_shard_count,
            ),
            last_change_at=self.state.last_change_at,
            created_at=summary.created_at,
            open_shard_ids=open_ids,
            split_parents=split_parents(topology),
        )
        decision = decide(config.policy, config.limits, observation)
        if decision.hot_key_shard is not None:
            decision = self._name_hot_key(decision, now)
        if not decision.changes:
            outcome = "no change"
        elif config.dry_run:
            outcome = "dry run"
        else:
            outcome = self._act(decision, open_shards)
        return self._record(now, open_shards, decision, outcome)

    def _act(self, decision: Decision, open_shards: int) -> str:
        flight = InFlight(
            action=decision.action, target=decision.target, shard_id=decision.shard_id, merges=decision.merges
        )
        if decision.action in ("scale-up", "scale-down"):
            # counted before the call: a call whose answer was lost still used the quota
            calls = len(update_shard_count_targets(open_shards, decision.target))
            self.state.update_calls.extend([self._now()] * calls)
        self.state.in_flight = flight
        try:
            self._save()
            self._execute(flight)
        except (ReshardError, ClientError, LockLostError) as exc:
            code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            logger.error("autoscale %s to %s failed: %s (%s)", decision.action, decision.target, code, exc)
            return f"FAILED: {code}: {exc}"
        return "done"

    def _execute(self, flight: InFlight) -> None:
        resharder = self.resharder
        resharder.wait_active()
        if flight.action == "merge":
            for low, high in flight.merges:
                try:
                    resharder.execute(resharder.plan_merge(low, high))
                except (ClosedShardError, UnknownShardError, NotAdjacentError):
                    logger.info("merge of %s and %s already done (or no longer possible): skipped", low, high)
            plan = None
        else:
            try:
                if flight.action == "split":
                    assert flight.shard_id is not None
                    plan = resharder.plan_split(flight.shard_id)
                else:
                    plan = resharder.plan_scale(flight.target, method="update-shard-count")
            except (ClosedShardError, UnknownShardError):
                plan = None  # the split happened before the crash
        if plan is not None:
            result = resharder.execute(plan)
            extra = sum(1 for step in result.completed if isinstance(step, UpdateShardCount)) - len(plan.steps)
            if extra > 0:  # re-planned mid-way (another operator): count every call made
                self.state.update_calls.extend([self._now()] * extra)
        self.state.in_flight = None
        self.state.last_change_at = self._now()
        self._save()

    def _name_hot_key(self, decision: Decision, now: datetime) -> Decision:
        """The decision with the hot shard's sampled key in its reason (sampled once per shard)."""
        shard = decision.hot_key_shard
        assert shard is not None
        if shard not in self._hot_keys:
            self._hot_keys[shard] = sample_hot_key(
                self.kinesis, self.config.stream, shard, since=now - timedelta(seconds=self.config.period_s)
            )
            logger.warning("autoscale %s: hot shard %s: %s", self.config.stream, shard, self._hot_keys[shard])
        return replace(decision, reason=f"{decision.reason}; {self._hot_keys[shard]}")

    def _record(self, now: datetime, open_shards: int, decision: Decision, outcome: str) -> DecisionRecord:
        record = DecisionRecord(at=now, open_shards=open_shards, decision=decision, outcome=outcome)
        self.history.append(record)
        level = logging.WARNING if outcome.startswith("FAILED") else logging.INFO
        logger.log(
            level,
            "autoscale %s: %s %s -> %s shards (%s): %s",
            self.config.stream,
            decision.action,
            open_shards,
            decision.target,
            outcome,
            decision.reason,
        )
        if self.config.publish_metrics and outcome != "standby":
            self._publish(record)
        if self._on_decision is not None:
            self._on_decision(record)
        return record

    def _publish(self, record: DecisionRecord) -> None:
        """The decision as metrics in the ``nicelist`` namespace (failure is logged, not fatal)."""
        stream = [{"Name": "StreamName", "Value": self.config.stream}]
        decision = record.decision
        data = [
            {
                "MetricName": "AutoscaleDecisions",
                "Dimensions": [*stream, {"Name": "Action", "Value": decision.action}],
                "Value": 1.0,
                "Unit": "Count",
                "Timestamp": record.at,
            },
            {
                "MetricName": "AutoscaleTargetShards",
                "Dimensions": stream,
                "Value": float(decision.target),
                "Unit": "Count",
                "Timestamp": record.at,
            },
            {
                "MetricName": "AutoscaleUtilisation",
                "Dimensions": stream,
                "Value": 100.0 * decision.utilisation,
                "Unit": "Percent",
                "Timestamp": record.at,
            },
        ]
        try:
            self.cloudwatch.put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=data)
        except ClientError as exc:
            logger.warning("publishing the autoscale decision failed: %s", error_code(exc))

    # --- long-running mode -------------------------------------------------------------------

    def run(self, stop: threading.Event, *, max_steps: int | None = None) -> list[DecisionRecord]:
        """Decide every ``interval_s`` until ``stop`` is set (or ``max_steps`` decisions)."""
        steps = 0
        try:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    self.step()
                except (ReshardError, ClientError, BotoCoreError, LockLostError) as exc:  # try again
                    logger.error("autoscale step failed (will try again): %s", exc)
                steps += 1
                if max_steps is not None and steps >= max_steps:
                    break
                stop.wait(max(0.0, self.config.every_s - (time.monotonic() - began)))
        finally:
            try:
                self.release()
            except (ClientError, BotoCoreError) as exc:
                logger.warning("releasing the autoscale lock failed (it expires on its own): %s", exc)
        return self.history


def split_parents(topology: Topology) -> dict[str, str]:
    """Open shard -> the shard it was split from, for the two halves of a split still both open."""
    halves: dict[str, list[str]] = {}
    for shard in topology.open:
        if shard.parent_id is not None and shard.adjacent_parent_id is None:
            halves.setdefault(shard.parent_id, []).append(shard.shard_id)
    return {child: parent for parent, children in halves.items() if len(children) == 2 for child in children}


def sample_hot_key(kinesis: Any, stream: str, shard_id: str, *, since: datetime, limit: int = 1000) -> str:
    """Which partition key fills ``shard_id``: one GetRecords from ``since`` (a read that shares
    the shard's 5 calls/s with the consumers, made once per hot shard)."""
    try:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard_id, ShardIteratorType="AT_TIMESTAMP", Timestamp=since
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=limit).get("Records", [])
    except ClientError as exc:
        return f"the hot key could not be sampled ({error_code(exc)})"
    keys = Counter(str(record.get("PartitionKey", "")) for record in records)
    if not keys:
        return "no records to sample the hot key from"
    key, count = keys.most_common(1)[0]
    return f"hot key {key!r}: {count} of {len(records)} sampled records"
