"""Shards, hash ranges and lineage as read from ListShards: pure data, no AWS calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from admin.reshard._errors import ClosedShardError, TopologyError, UnknownShardError
from foundation.limits import KINESIS_HASH_KEY_MAX

#: number of hash keys in a stream (0 .. 2**128 - 1)
HASH_SPACE = KINESIS_HASH_KEY_MAX + 1


@dataclass(frozen=True, kw_only=True)
class Shard:
    """One shard: its inclusive hash key range, its parents and whether it is still open."""

    shard_id: str
    start: int
    end: int
    parent_id: str | None = None
    adjacent_parent_id: str | None = None
    starting_sequence: str | None = None
    #: None while the shard is open; set once it was split or merged
    ending_sequence: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end <= KINESIS_HASH_KEY_MAX:
            raise ValueError(f"shard {self.shard_id}: bad hash key range {self.start}..{self.end}")

    @classmethod
    def from_api(cls, shard: Mapping[str, Any]) -> Shard:
        """A shard from one element of ListShards' (or DescribeStream's) ``Shards``."""
        hash_range = shard["HashKeyRange"]
        sequences = shard.get("SequenceNumberRange", {})
        return cls(
            shard_id=shard["ShardId"],
            start=int(hash_range["StartingHashKey"]),
            end=int(hash_range["EndingHashKey"]),
            parent_id=shard.get("ParentShardId"),
            adjacent_parent_id=shard.get("AdjacentParentShardId"),
            starting_sequence=sequences.get("StartingSequenceNumber"),
            ending_sequence=sequences.get("EndingSequenceNumber"),
        )

    @property
    def is_open(self) -> bool:
        return self.ending_sequence is None

    @property
    def width(self) -> int:
        """Number of hash keys in the shard's range."""
        return self.end - self.start + 1

    @property
    def share(self) -> float:
        """The shard's fraction of the whole hash key space (0..1)."""
        return self.width / HASH_SPACE

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(p for p in (self.parent_id, self.adjacent_parent_id) if p)

    def contains(self, hash_key: int) -> bool:
        return self.start <= hash_key <= self.end


@dataclass(frozen=True)
class Topology:
    """Every shard of one stream, open and closed, as ListShards returned them."""

    stream: str
    shards: tuple[Shard, ...] = field(default=())

    @classmethod
    def from_api(cls, stream: str, shards: Iterable[Mapping[str, Any]]) -> Topology:
        return cls(stream, tuple(Shard.from_api(s) for s in shards))

    @cached_property
    def _by_id(self) -> dict[str, Shard]:
        return {s.shard_id: s for s in self.shards}

    @cached_property
    def open(self) -> tuple[Shard, ...]:
        """Open shards in hash key order."""
        return tuple(sorted((s for s in self.shards if s.is_open), key=lambda s: s.start))

    @cached_property
    def closed(self) -> tuple[Shard, ...]:
        return tuple(s for s in self.shards if not s.is_open)

    @property
    def open_count(self) -> int:
        return len(self.open)

    @cached_property
    def boundaries(self) -> frozenset[int]:
        """Starting hash keys of the open shards other than 0: where one shard ends and the next begins."""
        return frozenset(s.start for s in self.open if s.start != 0)

    def get(self, shard_id: str) -> Shard:
        """The shard by id; :class:`UnknownShardError` when there is none."""
        try:
            return self._by_id[shard_id]
        except KeyError:
            raise UnknownShardError(self.stream, shard_id) from None

    def get_open(self, shard_id: str) -> Shard:
        """The open shard by id; :class:`ClosedShardError` (naming its children) when it is closed."""
        shard = self.get(shard_id)
        if not shard.is_open:
            raise ClosedShardError(self.stream, shard_id, [c.shard_id for c in self.children(shard_id)])
        return shard

    def children(self, shard_id: str) -> tuple[Shard, ...]:
        """Shards created from this one by a split (two) or a merge (one)."""
        return tuple(s for s in self.shards if shard_id in s.parents)

    def shard_for(self, hash_key: int) -> Shard:
        """The open shard whose range holds ``hash_key``."""
        for shard in self.open:
            if shard.contains(hash_key):
                return shard
        raise TopologyError(f"stream {self.stream}: no open shard holds hash key {hash_key}")

    def shard_starting_at(self, hash_key: int) -> Shard | None:
        return next((s for s in self.open if s.start == hash_key), None)

    def check_tiling(self) -> None:
        """Raise :class:`TopologyError` unless the open shards cover 0 .. 2**128-1 exactly once."""
        if not self.open:
            raise TopologyError(f"stream {self.stream} has no open shards")
        expected = 0
        for shard in self.open:
            if shard.start != expected:
                kind = "a gap" if shard.start > expected else "an overlap"
                raise TopologyError(
                    f"stream {self.stream}: open shards leave {kind} at hash key {expected} "
                    f"(shard {shard.shard_id} starts at {shard.start}); is a reshard still in progress?"
                )
            expected = shard.end + 1
        if expected != HASH_SPACE:
            raise TopologyError(f"stream {self.stream}: open shards end at hash key {expected - 1}, not the top")

    def worst_imbalance(self) -> float:
        """Largest relative deviation of an open shard's width from an even split (0.0 = perfectly even)."""
        if not self.open:
            return 0.0
        ideal = HASH_SPACE / len(self.open)
        return max(abs(s.width - ideal) / ideal for s in self.open)
