"""A pure stream model to drive the policy with: shards as hash-range fractions, a load of
uniformly hashed keys plus fixed hot keys, per-shard limits that refuse the excess, and every
decision applied at once (splits at the midpoint, merges, uniform UpdateShardCount). It checks
the quotas itself (not with the policy's own guard) and records every change."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from admin.autoscale import Decision, Observation, PeriodLoad, PolicyConfig, QuotaState, ShardLimits, ShardRate, decide

T0 = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@dataclass
class SimShard:
    shard_id: str
    start: float
    end: float
    parent: str | None = None


@dataclass
class Stream:
    shards: list[SimShard]
    next_id: int = 0

    @classmethod
    def even(cls, count: int) -> Stream:
        stream = cls([])
        stream.shards = [stream._new(i / count, (i + 1) / count) for i in range(count)]
        return stream

    def _new(self, start: float, end: float, parent: str | None = None) -> SimShard:
        self.next_id += 1
        return SimShard(f"shardId-{self.next_id:012d}", start, end, parent)

    def split(self, shard_id: str) -> None:
        index = next(i for i, s in enumerate(self.shards) if s.shard_id == shard_id)
        old = self.shards[index]
        middle = (old.start + old.end) / 2
        self.shards[index : index + 1] = [
            self._new(old.start, middle, old.shard_id),
            self._new(middle, old.end, old.shard_id),
        ]

    def merge(self, low: str, high: str) -> None:
        index = next(i for i, s in enumerate(self.shards) if s.shard_id == low)
        assert self.shards[index + 1].shard_id == high, "merged shards must be adjacent"
        self.shards[index : index + 2] = [self._new(self.shards[index].start, self.shards[index + 1].end)]

    def uniform(self, count: int) -> None:
        self.shards = [self._new(i / count, (i + 1) / count) for i in range(count)]

    def split_parents(self) -> dict[str, str]:
        by_parent: dict[str, list[str]] = {}
        for shard in self.shards:
            if shard.parent is not None:
                by_parent.setdefault(shard.parent, []).append(shard.shard_id)
        return {c: p for p, children in by_parent.items() if len(children) == 2 for c in children}


@dataclass(frozen=True)
class Load:
    """``uniform`` records/s over the whole hash space plus ``hot`` keys (hash position, records/s)."""

    uniform: float
    hot: tuple[tuple[float, float], ...] = ()
    record_bytes: float = 500.0


#: a period's metrics as the policy sees them, from (true load, step) -> what CloudWatch says
Distort = Callable[[PeriodLoad, int], PeriodLoad | None]


@dataclass
class Run:
    shards: list[int] = field(default_factory=list)
    changes: list[tuple[int, Decision]] = field(default_factory=list)
    calls: list[datetime] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.shards[-1]


def simulate(
    config: PolicyConfig,
    limits: ShardLimits,
    start_shards: int,
    load: Callable[[int], Load],
    steps: int,
    *,
    period_s: float = 60.0,
    distort: Distort | None = None,
    account_limit: int | None = None,
    shard_metrics: bool = True,
) -> Run:
    stream = Stream.even(start_shards)
    history: list[PeriodLoad | None] = []
    rate_history: list[dict[str, ShardRate]] = []
    run = Run()
    last_change: datetime | None = None
    highest = max(config.max_shards, start_shards)
    for step in range(steps):
        period_start = T0 + timedelta(seconds=period_s * step)
        now = period_start + timedelta(seconds=period_s)
        true, rates = _period(stream, load(step), limits, period_s, period_start)
        history.append(true if distort is None else distort(true, step))
        rate_history.append(rates)
        calls = sum(1 for at in run.calls if at > now - DAY)
        obs = Observation(
            now=now,
            open_shards=len(stream.shards),
            period_s=period_s,
            periods=history[-config.window_periods :],
            shard_rates=rates if shard_metrics else {},
            open_shard_ids=[s.shard_id for s in stream.shards],
            split_parents=stream.split_parents(),
            quota=QuotaState(
                update_calls_24h=calls, account_shard_limit=account_limit, account_open_shards=len(stream.shards)
            ),
            last_change_at=last_change,
        )
        decision = decide(config, limits, obs)
        run.decisions.append(decision)
        before = len(stream.shards)
        _apply(stream, decision, run, now, calls)
        if decision.changes:
            last_change = now
            run.changes.append((step, decision))
        after = len(stream.shards)
        assert after <= max(highest, before), f"{after} shards past max_shards {config.max_shards}"
        if account_limit is not None and after > before:
            assert after <= account_limit, "past the account's shard limit"
        assert after >= 1
        run.shards.append(after)
    return run


def _apply(stream: Stream, decision: Decision, run: Run, now: datetime, calls: int) -> None:
    n = len(stream.shards)
    if decision.action in ("scale-up", "scale-down"):
        assert calls < 10, "11th UpdateShardCount call in 24 hours"
        assert math.ceil(n / 2) <= decision.target <= 2 * n, f"{n} -> {decision.target} in one call"
        assert decision.target <= 10_000
        run.calls.append(now)
        stream.uniform(decision.target)
    elif decision.action == "split":
        assert decision.shard_id is not None and decision.target == n + 1
        stream.split(decision.shard_id)
    elif decision.action == "merge":
        for low, high in decision.merges:
            stream.merge(low, high)
    assert len(stream.shards) == decision.target


def _period(
    stream: Stream, load: Load, limits: ShardLimits, period_s: float, start: datetime
) -> tuple[PeriodLoad, dict[str, ShardRate]]:
    cap = min(limits.write_records_per_s, limits.write_bytes_per_s / load.record_bytes)
    written = refused = 0.0
    rates: dict[str, ShardRate] = {}
    for shard in stream.shards:
        demand = load.uniform * (shard.end - shard.start)
        demand += sum(rate for position, rate in load.hot if shard.start <= position < shard.end)
        ok = min(demand, cap)
        written += ok
        refused += demand - ok
        rates[shard.shard_id] = ShardRate(
            records_per_s=ok, bytes_per_s=ok * load.record_bytes, throttled_per_s=demand - ok
        )
    period = PeriodLoad(
        records=written * period_s,
        bytes=written * load.record_bytes * period_s,
        throttled_records=refused * period_s,
        iterator_age_ms=0.0,
        start=start,
    )
    return period, rates
