"""Shard-level reading for the policy (pure): the hot shard (and whether its load is one hot
key) and the cold adjacent pairs worth merging."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from admin.autoscale._model import Observation, PeriodLoad, ShardLimits, ShardRate

if TYPE_CHECKING:
    from admin.autoscale._policy_config import PolicyConfig

#: a hot key's shard explains the stream's throttling when it refuses this share of the records
EXPLAINS_SHARE = 0.9


def shard_demand(limits: ShardLimits, rate: ShardRate) -> float:
    """Shards one shard's demand (written plus refused records) fills exactly."""
    records = rate.records_per_s + rate.throttled_per_s
    average_size = rate.bytes_per_s / rate.records_per_s if rate.records_per_s else 0.0
    return limits.shards_for(records, rate.bytes_per_s + rate.throttled_per_s * average_size)


@dataclass(frozen=True)
class HotShard:
    shard_id: str
    #: demand in shards (1.0: one shard's limit)
    load: float
    even_share: float
    throttled_per_s: float
    #: one half of a split carrying hot_key_share of the pair's demand: a hot key, do not split
    key: bool
    sibling: str | None = None

    @property
    def reason(self) -> str:
        times = self.load / self.even_share
        share = f"hot shard {self.shard_id} at {self.load:.0%} of a shard's limit, {times:.1f}x an even share"
        if not self.key:
            return share
        return (
            f"{share}; its split moved the load to one half (sibling {self.sibling}): a hot partition key, "
            "which cannot be split past one shard (1,000 records/s, 1 MiB/s per key): not split, not scaled; "
            "spread that key in the producer"
        )

    def explains_throttling(self, periods: Sequence[tuple[PeriodLoad | None, float | None]], period_s: float) -> bool:
        """Whether this shard refuses (nearly) all of the stream's throttled records."""
        known = [p for p, _ in periods if p is not None]
        if not known:
            return False
        stream_per_s = sum(p.throttled_records for p in known) / (len(known) * period_s)
        return self.throttled_per_s >= EXPLAINS_SHARE * stream_per_s


def _siblings(obs: Observation, shard_id: str) -> str | None:
    parent = obs.split_parents.get(shard_id)
    if parent is None:
        return None
    return next((s for s, p in obs.split_parents.items() if p == parent and s != shard_id), None)


def hot_shard(
    config: PolicyConfig, limits: ShardLimits, obs: Observation, rates: Mapping[str, ShardRate]
) -> HotShard | None:
    """The shard to split (or to leave alone as a hot key), or None."""
    loads = {shard: shard_demand(limits, rate) for shard, rate in rates.items()}
    total = sum(loads.values())
    if not loads or total <= 0:
        return None
    shard, load = max(loads.items(), key=lambda item: (item[1], item[0]))
    even = total / obs.open_shards
    if not (load > config.up_utilisation and load > config.hot_shard_factor * even and even < config.up_utilisation):
        return None
    sibling = _siblings(obs, shard)
    key = False
    if sibling is not None:
        # the other half without any datapoint while this one has data took nothing
        pair = load + loads.get(sibling, 0.0)
        key = load >= config.hot_key_share * pair
    return HotShard(shard, load, even, rates[shard].throttled_per_s, key, sibling)


def cold_pairs(
    config: PolicyConfig,
    limits: ShardLimits,
    obs: Observation,
    rates: Mapping[str, ShardRate],
    wanted: int,
    *,
    keep: Collection[str] = (),
) -> list[tuple[str, str]]:
    """Up to ``wanted`` disjoint adjacent pairs, coldest first, each pair's demand together under
    ``target_utilisation`` of one shard; shards without data (unknown) and ``keep`` are never merged."""
    order = list(obs.open_shard_ids)
    candidates = []
    for low, high in zip(order, order[1:], strict=False):
        if low in rates and high in rates and low not in keep and high not in keep:
            load = shard_demand(limits, rates[low]) + shard_demand(limits, rates[high])
            if load < config.target_utilisation:
                candidates.append((load, low, high))
    chosen: list[tuple[str, str]] = []
    used: set[str] = set()
    for _, low, high in sorted(candidates):
        if len(chosen) >= wanted:
            break
        if low not in used and high not in used:
            chosen.append((low, high))
            used.update((low, high))
    return chosen
