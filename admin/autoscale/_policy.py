"""The autoscaling policy: what the stream's shard count should be next, and why (pure).

Inputs (:class:`Observation`): the stream's write load over the last N metric periods (records,
bytes, throttled records, consumer iterator age), each open shard's load, the open shards in
hash-key order and which of them are the two halves of one split, the UpdateShardCount quota
state, the account's shard limit, the last change and the scheduled floors. Output
(:class:`Decision`): one action with its reason.

Inputs first:

- **No data is unknown, not zero.** A period without a datapoint (``None``) is unknown: no rule
  reads it as load or as quiet. A scale-down needs every one of its periods known; a scale-up
  acts on known periods only. A whole window of unknown periods holds.
- **Bad values are ignored and logged**: a NaN, infinite or negative value makes its period
  (or its shard's rate) unknown; an iterator age that is bad is dropped alone. They are named in
  the decision's ``ignored`` and logged as a warning.
- Periods that started before the last change are not read as evidence for a scale-up.

Rules, in order:

1. **Floor**: below a scheduled floor (or ``min_shards``) -> scale up to it.
2. **Hot shard -> split that shard, never the whole stream.** A shard whose demand (written plus
   throttled records) is above ``up_utilisation`` of one shard and more than ``hot_shard_factor``
   even shares, while the stream as a whole is under ``up_utilisation``, is split (SplitShard:
   not under the UpdateShardCount quota). **Hot key -> stop.** When that shard is one half of an
   earlier split and carries ``hot_key_share`` or more of the pair's demand, the split moved
   (nearly) all of the load to one half: a single partition key (or a few) drives it, and one key
   cannot be split past one shard (1,000 records/s, 1 MiB/s). Nothing is split or scaled for it;
   the decision names the shard (``hot_key_shard``; the controller samples it to name the key)
   and throttling on it is not read as a reason to scale the stream.
3. **Up, fast**: throttled records in each of the last ``up_periods`` periods, OR in at least
   ``throttle_share`` of the last ``throttle_window`` periods (intermittent throttling, not
   consecutive), OR utilisation above ``up_utilisation`` in each of the last ``up_periods``
   -> scale up to what the peak demand needs at ``target_utilisation``, at least one more shard;
   at least double when more than ``clipped_share`` of the records were throttled (the demand
   is clipped). A throttling scale-up never goes past ``skew_allowance`` times what the whole
   demand needs at ``target_utilisation``: throttling at low utilisation is skew (hot keys,
   hot shards), which uniform scaling does not cure. With no UpdateShardCount call left, the
   hottest shard may be split instead.
4. **Down, slowly**: every one of the last ``down_periods`` periods known, unthrottled, under
   ``down_utilisation`` and with consumers not behind; ``cool_off_s`` after the last change and
   after the stream's creation -> at most halve, never below what the peak demand needs at
   ``target_utilisation``. **Merging cold shards** where that is cheaper: MergeShards of the
   coldest adjacent pairs (each pair's demand under ``target_utilisation`` of one shard) when
   the merges close no more shards than UpdateShardCount would (``2 x merges <= open shards``:
   uniform scaling closes every open shard, a merge two) or when the UpdateShardCount calls left
   are kept for spikes (``reserve_calls``); merges use no UpdateShardCount quota.

The quotas hold whatever the action (checked again by :func:`quota_violations` on every decision;
a decision that would break one becomes "none"). UpdateShardCount
(https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html): at most ten
calls per rolling 24 hours per stream, at most double and at least half the current open shards
per call, at most 10,000 shards, never past the account's shard limit. Splits and merges also
keep the stream within ``max_shards``, the account's shard limit (DescribeLimits: ShardLimit
minus the other streams' open shards) and the floor. Utilisation of a period is the larger of its
records/s and bytes/s shares of the stream's write capacity (open shards x per-shard limit).

No oscillation on a steady load: a scale-up lands at or under ``target_utilisation`` (or
doubles under heavy throttling, which leaves more than half of the capacity used), a scale-down
and a merged pair land at or under ``target_utilisation`` too, and ``down_utilisation <
target_utilisation / 2`` is checked, so neither move can trigger the other.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from admin.autoscale._model import (
    Action,
    Decision,
    Observation,
    PeriodLoad,
    ShardLimits,
    ShardRate,
)
from admin.autoscale._policy_config import PolicyConfig
from admin.autoscale._shards import HotShard, cold_pairs, hot_shard, shard_demand
from foundation.limits import (
    UPDATE_SHARD_COUNT_MAX_FACTOR,
    UPDATE_SHARD_COUNT_MAX_SHARDS,
)

logger = logging.getLogger(__name__)


def max_up_target(config: PolicyConfig, obs: Observation) -> int:
    """The most open shards one UpdateShardCount call may ask for now."""
    cap = min(obs.open_shards * UPDATE_SHARD_COUNT_MAX_FACTOR, config.max_shards, UPDATE_SHARD_COUNT_MAX_SHARDS)
    return max(min(cap, _account_room(obs)), obs.open_shards)


def min_down_target(config: PolicyConfig, obs: Observation) -> int:
    return max(-(-obs.open_shards // UPDATE_SHARD_COUNT_MAX_FACTOR), config.floor_at(obs.now), 1)


def _account_room(obs: Observation) -> int:
    """The most open shards this stream may have under the account's shard limit."""
    limit, account_open = obs.quota.account_shard_limit, obs.quota.account_open_shards
    if limit is None:
        return UPDATE_SHARD_COUNT_MAX_SHARDS * 2
    others = max(0, (account_open if account_open is not None else obs.open_shards) - obs.open_shards)
    return limit - others


def quota_violations(config: PolicyConfig, obs: Observation, decision: Decision) -> list[str]:
    """Every quota or limit ``decision`` would break (empty: it may be carried out)."""
    n, target, action = obs.open_shards, decision.target, decision.action
    broken: list[str] = []
    if action == "none":
        return [] if target == n else [f"'none' must keep {n} shards"]
    if action in ("scale-up", "scale-down"):
        if obs.quota.calls_left < 1:
            broken.append("10 UpdateShardCount calls per rolling 24 hours")
        if not -(-n // UPDATE_SHARD_COUNT_MAX_FACTOR) <= target <= n * UPDATE_SHARD_COUNT_MAX_FACTOR:
            broken.append("at most double, at least half the open shards per UpdateShardCount call")
        if target > UPDATE_SHARD_COUNT_MAX_SHARDS:
            broken.append(f"UpdateShardCount's {UPDATE_SHARD_COUNT_MAX_SHARDS} shards")
    if action in ("scale-up", "split"):
        if target <= n:
            broken.append("a scale-up or split adds shards")
        if target > config.max_shards:
            broken.append(f"max_shards ({config.max_shards})")
        if target > _account_room(obs):
            broken.append("the account's shard limit")
        if action == "split" and (target != n + 1 or not decision.shard_id):
            broken.append("a split adds one shard to a named shard")
    if action in ("scale-down", "merge"):
        if not config.floor_at(obs.now) <= target < n:
            broken.append(f"the floor ({config.floor_at(obs.now)} shards)")
        ids = [shard for pair in decision.merges for shard in pair]
        if action == "merge" and (target != n - len(decision.merges) or not ids or len(set(ids)) != len(ids)):
            broken.append("each merge takes two distinct shards away, one comes back")
    return broken


@dataclass(frozen=True)
class _Inputs:
    """The observation's values that may be read: bad ones ignored, unknown periods None."""

    periods: list[PeriodLoad | None]
    demands: list[float | None]
    rates: dict[str, ShardRate]
    ignored: tuple[str, ...]


def _ok(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


def _clean(config: PolicyConfig, limits: ShardLimits, obs: Observation) -> _Inputs:
    ignored: list[str] = []
    periods: list[PeriodLoad | None] = []
    for index, period in enumerate(list(obs.periods)[-config.window_periods :]):
        if period is not None:
            names = ("records", "bytes", "throttled_records")
            bad = [f"{name}={getattr(period, name)!r}" for name in names if not _ok(getattr(period, name))]
            if bad:
                ignored.append(f"period {index}: {', '.join(bad)}")
                period = None
            elif period.iterator_age_ms is not None and not _ok(period.iterator_age_ms):
                ignored.append(f"period {index}: iterator_age_ms={period.iterator_age_ms!r}")
                period = replace(period, iterator_age_ms=None)
        periods.append(period)
    demands = [None if p is None else _demand(limits, p, obs.period_s) for p in periods]
    rates: dict[str, ShardRate] = {}
    for shard, rate in obs.shard_rates.items():
        values = (rate.records_per_s, rate.bytes_per_s, rate.throttled_per_s)
        if all(_ok(v) for v in values) and math.isfinite(shard_demand(limits, rate)):
            rates[shard] = rate
        else:
            ignored.append(f"shard {shard}: {values!r}")
    if ignored:
        logger.warning("autoscale: ignored as NaN, infinite or negative: %s", "; ".join(ignored))
    return _Inputs(periods, demands, rates, tuple(ignored))


def _demand(limits: ShardLimits, period: PeriodLoad, period_s: float) -> float | None:
    """Shards the period's demand (written plus throttled records) fills exactly; None if unknowable."""
    records = (period.records + period.throttled_records) / period_s
    average_size = period.bytes / period.records if period.records else 0.0
    bytes_per_s = (period.bytes + period.throttled_records * average_size) / period_s
    demand = limits.shards_for(records, bytes_per_s)
    return demand if math.isfinite(demand) else None


def decide(config: PolicyConfig, limits: ShardLimits, obs: Observation) -> Decision:
    """The next action for the stream (see the module docstring for the rules)."""
    if obs.open_shards < 1 or not (_ok(obs.period_s) and obs.period_s > 0):
        return Decision(action="none", target=obs.open_shards, reason="no open shards or no metric period: hold")
    inputs = _clean(config, limits, obs)
    decision = _Rules(config, limits, obs, inputs).decide()
    decision = replace(decision, ignored=inputs.ignored)
    broken = quota_violations(config, obs, decision)
    if broken:
        logger.error("autoscale: %s to %s would break %s: held", decision.action, decision.target, broken)
        return replace(
            decision,
            action="none",
            target=obs.open_shards,
            merges=(),
            shard_id=None,
            reason=f"held: {decision.action} to {decision.target} would break {'; '.join(broken)}",
        )
    return decision


class _Rules:
    """The four rules over one observation's cleaned inputs."""

    def __init__(self, config: PolicyConfig, limits: ShardLimits, obs: Observation, inputs: _Inputs) -> None:
        self.config, self.limits, self.obs, self.inputs = config, limits, obs, inputs
        self.n = obs.open_shards
        known = [(p, d) for p, d in zip(inputs.periods, inputs.demands, strict=True) if p is not None and d is not None]
        self.latest = known[-1][0] if known else PeriodLoad()
        self.utilisation = known[-1][1] / self.n if known else 0.0
        since = None if obs.last_change_at is None else (obs.now - obs.last_change_at).total_seconds()
        self.settled = since is None or since >= config.settle_s
        self.floor = config.floor_at(obs.now)
        self.calls_left = obs.quota.calls_left
        self.up_cap = max_up_target(config, obs)
        self.split_room = min(config.max_shards, _account_room(obs)) > self.n

    def _decision(self, action: Action, target: int, reason: str, **extra: object) -> Decision:
        return Decision(
            action=action,
            target=target,
            reason=reason,
            utilisation=self.utilisation,
            throttled_records=self.latest.throttled_records,
            **extra,  # type: ignore[arg-type]
        )

    def decide(self) -> Decision:
        floor = self._floor()
        if floor is not None:
            return floor
        hot = hot_shard(self.config, self.limits, self.obs, self.inputs.rates) if self.settled else None
        if hot is not None and not hot.key and self.split_room:
            return self._decision("split", self.n + 1, hot.reason, shard_id=hot.shard_id)
        up = self._up(hot) if self.settled else None
        if up is not None:
            return up
        down = self._down(hot)
        if down is not None:
            return down
        unknown = sum(1 for p in self.inputs.periods if p is None)
        why = f"steady: utilisation {self.utilisation:.0%}, {self.n} open shards"
        if unknown:
            why += f"; {unknown} of {len(self.inputs.periods)} periods without data (unknown: hold)"
        if hot is not None and hot.key:
            return self._decision("none", self.n, f"{hot.reason}; {why}", hot_key_shard=hot.shard_id)
        return self._decision("none", self.n, why)

    def _floor(self) -> Decision | None:
        if self.n >= self.floor:
            return None
        if self.calls_left == 0:
            return self._decision(
                "none", self.n, f"below the floor of {self.floor} shards, but no UpdateShardCount left"
            )
        target = min(self.floor, self.up_cap)
        if target > self.n:
            return self._decision("scale-up", target, f"scheduled floor: keep at least {self.floor} open shards")
        return None

    def _after_change(self) -> list[tuple[PeriodLoad | None, float | None]]:
        """The window's periods that started at or after the last change (unknown start: kept)."""
        last = self.obs.last_change_at
        pairs = list(zip(self.inputs.periods, self.inputs.demands, strict=True))
        if last is None:
            return pairs
        return [(p, d) for p, d in pairs if p is None or p.start is None or p.start >= last]

    def _up(self, hot: HotShard | None) -> Decision | None:
        config, n = self.config, self.n
        recent = self._after_change()
        tail = recent[-config.up_periods :]
        tail_known = len(tail) == config.up_periods and all(p is not None and d is not None for p, d in tail)
        throttle_explained = hot is not None and hot.key and hot.explains_throttling(recent, self.obs.period_s)

        def throttled(p: PeriodLoad | None) -> bool:
            return p is not None and p.throttled_records > config.throttle_tolerance and not throttle_explained

        shown = recent[-config.throttle_window :]
        throttled_periods = [(p, d) for p, d in shown if throttled(p) and d is not None]
        needed_share = math.ceil(config.throttle_share * config.throttle_window)
        evidence: Sequence[tuple[PeriodLoad | None, float | None]]
        if tail_known and all(throttled(p) for p, _ in tail):
            evidence, why = tail, f"throttled in each of the last {config.up_periods} periods"
        elif len(throttled_periods) >= needed_share:
            evidence = throttled_periods
            why = f"throttled in {len(throttled_periods)} of the last {len(shown)} periods"
        elif tail_known and all(d is not None and d / n > config.up_utilisation for _, d in tail):
            evidence, why = tail, f"utilisation above {config.up_utilisation:.0%} for {config.up_periods} periods"
        else:
            return None
        loads = [p for p, _ in evidence if p is not None]
        peak = max(d for _, d in evidence if d is not None)
        by_throttling = why.startswith("throttled")
        why += f" ({sum(p.throttled_records for p in loads):.0f} records refused)" if by_throttling else ""
        needed = math.ceil(peak / config.target_utilisation)
        clipped = by_throttling and _throttled_share(loads) >= config.clipped_share
        wanted = max(needed, n * UPDATE_SHARD_COUNT_MAX_FACTOR if clipped else n + 1)
        if by_throttling:
            skew_cap = math.ceil(peak / config.target_utilisation * config.skew_allowance)
            if skew_cap <= n:
                return self._decision(
                    "none",
                    n,
                    f"{why}, but the whole demand ({peak:.2f} shards) needs {needed}: skewed keys or a hot shard, "
                    "which uniform scaling does not cure (shard-level metrics let it split the hot shard)",
                    hot_key_shard=hot.shard_id if hot is not None and hot.key else None,
                )
            wanted = min(wanted, skew_cap)
        if self.calls_left == 0:
            return self._split_instead(hot, why)
        target = min(wanted, self.up_cap)
        if target <= n:
            return self._decision("none", n, f"{why}, but at the shard limit ({n})")
        return self._decision("scale-up", target, f"{why}: peak demand {peak:.2f} shards")

    def _split_instead(self, hot: HotShard | None, why: str) -> Decision:
        if hot is not None and not hot.key and self.split_room:
            return self._decision(
                "split", self.n + 1, f"{why}; no UpdateShardCount left: {hot.reason}", shard_id=hot.shard_id
            )
        return self._decision("none", self.n, f"{why}, but the UpdateShardCount quota is used up")

    def _down(self, hot: HotShard | None) -> Decision | None:
        config, obs, n = self.config, self.obs, self.n
        quiet_since = max((t for t in (obs.last_change_at, obs.created_at) if t is not None), default=None)
        cooled = quiet_since is None or (obs.now - quiet_since).total_seconds() >= config.cool_off_s
        window = list(zip(self.inputs.periods, self.inputs.demands, strict=True))[-config.down_periods :]
        if not cooled or len(window) < config.down_periods or n <= self.floor:
            return None
        known = [(p, d) for p, d in window if p is not None and d is not None]
        if len(known) < config.down_periods:
            return None  # a period without data is unknown: hold
        demands = [d for _, d in known]
        quiet = all(p.throttled_records == 0 for p, _ in known)
        low = all(d / n < config.down_utilisation for d in demands)
        caught_up = all((p.iterator_age_ms or 0.0) < config.lag_block_down_ms for p, _ in known)
        if not (quiet and low and caught_up):
            return None
        peak = max(demands)
        needed = math.ceil(peak / config.target_utilisation) if peak > 0 else 1
        target = max(min_down_target(config, obs), needed)
        if target >= n:
            return None
        why = f"utilisation under {config.down_utilisation:.0%} for {config.down_periods} periods, no throttling"
        kept = self.calls_left <= config.reserve_calls
        rates = self.inputs.rates
        # a shard above the target (a hot key, a hot range): uniform scaling would re-spread the
        # hash ranges blindly and could pile hot keys together again; merge cold pairs only
        skewed = any(shard_demand(self.limits, rate) > config.target_utilisation for rate in rates.values())
        # a hot key's two halves stay apart: merged, the hot half would be split again
        keep = {hot.shard_id, hot.sibling or ""} if hot is not None and hot.key else set()
        merging = config.prefer_merges or skewed
        pairs = cold_pairs(config, self.limits, obs, rates, n - target, keep=keep) if merging else []
        if pairs and (kept or skewed or (len(pairs) == n - target and 2 * len(pairs) <= n)):
            cheaper = (
                "UpdateShardCount calls kept for spikes"
                if kept
                else "a shard is above the target: uniform scaling would re-spread its keys"
                if skewed
                else f"closes {2 * len(pairs)} shards where UpdateShardCount closes all {n}, and uses no call"
            )
            return self._decision(
                "merge",
                n - len(pairs),
                f"{why}: merge {len(pairs)} cold adjacent pair(s) ({cheaper}); peak demand {peak:.2f} shards",
                merges=tuple(pairs),
            )
        if skewed:
            return self._decision("none", n, "quiet, but skewed (a shard above the target) and no cold pair to merge")
        if kept:
            why = f"quiet, but only {self.calls_left} UpdateShardCount calls left (kept for spikes)"
            return self._decision("none", n, why)
        return self._decision("scale-down", target, f"{why}: peak demand {peak:.2f} shards")


def _throttled_share(periods: Sequence[PeriodLoad]) -> float:
    throttled = sum(p.throttled_records for p in periods)
    total = throttled + sum(p.records for p in periods)
    return throttled / total if total else 0.0


def window_start(now: datetime, period_s: float, periods: int) -> datetime:
    """The start of the aligned window of ``periods`` complete periods before ``now``."""
    epoch = now.timestamp()
    end = math.floor(epoch / period_s) * period_s
    return now - timedelta(seconds=epoch - end + period_s * periods)
