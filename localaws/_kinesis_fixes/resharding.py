"""SplitShard, MergeShards and UpdateShardCount as Kinesis does them.

moto 5.2.5 re-puts a parent's records into its children (readers see every record twice,
with new sequence numbers), accepts merges of closed or non-adjacent shards, never updates
OpenShardCount, and scales by splitting every shard and merging neighbours, so the result is
not uniform. Here children get parent lineage and a creation time, parents are closed with an
EndingSequenceNumber and a close time, and their records stay where they are. UpdateShardCount
(UNIFORM_SCALING) ends with ``target`` equal hash ranges: it splits open shards at the target
boundaries, then merges the pieces inside each target range; like AWS it accepts at most double
and at least half the open shard count.
"""

from __future__ import annotations

import time
from typing import Any

from foundation.limits import KINESIS_HASH_KEY_MAX, UPDATE_SHARD_COUNT_MAX_FACTOR, UPDATE_SHARD_COUNT_MAX_SHARDS

from ._patching import patch

_PATCHED = "_localaws_resharding"


def uniform_ranges(count: int) -> list[tuple[int, int]]:
    """``count`` hash key ranges splitting the key space evenly, as CreateStream lays them out."""
    step = (KINESIS_HASH_KEY_MAX + 1) // count
    return [(i * step, KINESIS_HASH_KEY_MAX if i == count - 1 else (i + 1) * step - 1) for i in range(count)]


def _next_shard_index(stream: Any) -> int:
    return max(shard._shard_id for shard in stream.shards.values()) + 1


def _open_count(stream: Any) -> int:
    return sum(1 for shard in stream.shards.values() if shard.is_open)


def _close(shard: Any, now: float) -> None:
    shard.is_open = False
    shard.closed_at = now


def _not_eligible(stream: Any, shard: Any) -> Exception:
    from moto.kinesis.exceptions import InvalidArgumentError

    return InvalidArgumentError(
        f"Shard {shard.shard_id} in stream {stream.stream_name} under account {stream.account_id} has already "
        "been merged or split, and thus is not eligible for merging or splitting."
    )


def _with_times(original_init: Any) -> Any:
    """Shard.__init__ that also notes when the shard was created (and that it is not closed)."""

    def shard_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.created_at = time.time()
        self.closed_at = None

    return shard_init


def split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
    """Stream.split_shard: two children with the parent's lineage; the parent closes, keeping its records."""
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.kinesis.models import Shard

    shard = self.shards[shard_to_split]
    new_start = int(new_starting_hash_key)
    if not shard.is_open:
        raise _not_eligible(self, shard)
    if not shard.starting_hash < new_start <= shard.ending_hash:
        raise InvalidArgumentError(
            f"NewStartingHashKey {new_start} used in SplitShard() on shard {shard_to_split} in stream "
            f"{self.stream_name} under account {self.account_id} is not both greater than one plus the "
            f"shard's StartingHashKey {shard.starting_hash} and less than the shard's EndingHashKey "
            f"{shard.ending_hash}."
        )
    index = _next_shard_index(self)
    lower = Shard(index, starting_hash=shard.starting_hash, ending_hash=new_start - 1, parent=shard.shard_id)
    upper = Shard(index + 1, starting_hash=new_start, ending_hash=shard.ending_hash, parent=shard.shard_id)
    _close(shard, time.time())
    self.shards[lower.shard_id] = lower
    self.shards[upper.shard_id] = upper
    self.shard_count = _open_count(self)


def merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    """Stream.merge_shards: two open adjacent shards only; both close, keeping their records."""
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.kinesis.models import Shard

    first = self.shards[shard_to_merge]
    second = self.shards[adjacent_shard_to_merge]
    for shard in (first, second):
        if not shard.is_open:
            raise _not_eligible(self, shard)
    if first.ending_hash + 1 != second.starting_hash and second.ending_hash + 1 != first.starting_hash:
        raise InvalidArgumentError(
            f"Shard {adjacent_shard_to_merge} in stream {self.stream_name} under account {self.account_id} is "
            f"not adjacent to shard {shard_to_merge}."
        )
    merged = Shard(
        _next_shard_index(self),
        starting_hash=min(first.starting_hash, second.starting_hash),
        ending_hash=max(first.ending_hash, second.ending_hash),
        parent=first.shard_id,
        adjacent_parent=second.shard_id,
    )
    now = time.time()
    _close(first, now)
    _close(second, now)
    self.shards[merged.shard_id] = merged
    self.shard_count = _open_count(self)


def update_shard_count(self: Any, target_shard_count: int) -> None:
    """Stream.update_shard_count (UNIFORM_SCALING): split at the target boundaries, then merge."""
    from moto.kinesis.exceptions import InvalidArgumentError, StreamCannotBeUpdatedError

    if self.stream_mode.get("StreamMode", "") == "ON_DEMAND":
        raise StreamCannotBeUpdatedError(stream_name=self.stream_name, account_id=self.account_id)
    current = _open_count(self)
    target = int(target_shard_count)
    if not 1 <= target <= UPDATE_SHARD_COUNT_MAX_SHARDS:
        raise InvalidArgumentError(f"TargetShardCount {target} must be 1..{UPDATE_SHARD_COUNT_MAX_SHARDS}.")
    if target > current * UPDATE_SHARD_COUNT_MAX_FACTOR or target * UPDATE_SHARD_COUNT_MAX_FACTOR < current:
        raise InvalidArgumentError(
            f"UpdateShardCount of stream {self.stream_name} under account {self.account_id} from {current} to "
            f"{target} shards: the target must be at most double and at least half the open shard count."
        )
    ranges = uniform_ranges(target)
    for low, _ in ranges[1:]:  # first cut at every target boundary...
        holder = next(s for s in self.shards.values() if s.is_open and s.starting_hash <= low <= s.ending_hash)
        if holder.starting_hash < low:
            self.split_shard(holder.shard_id, str(low))
    for low, high in ranges:  # ...then join the pieces inside each target range
        while True:
            inside = sorted(
                (s for s in self.shards.values() if s.is_open and low <= s.starting_hash and s.ending_hash <= high),
                key=lambda s: s.starting_hash,
            )
            if len(inside) < 2:
                break
            self.merge_shards(inside[0].shard_id, inside[1].shard_id)
    self.shard_count = _open_count(self)


def _with_open_count(original_summary: Any) -> Any:
    """Stream.to_json_summary with OpenShardCount filled in."""

    def to_json_summary(self: Any) -> dict[str, Any]:
        summary: dict[str, Any] = original_summary(self)
        summary["StreamDescriptionSummary"]["OpenShardCount"] = _open_count(self)
        return summary

    return to_json_summary


def apply() -> None:
    from moto.kinesis.models import Shard, Stream

    if getattr(Stream, _PATCHED, False):
        return
    patch(Shard, "__init__", _with_times(Shard.__init__))
    patch(Stream, "split_shard", split_shard)
    patch(Stream, "merge_shards", merge_shards)
    patch(Stream, "update_shard_count", update_shard_count)
    patch(Stream, "to_json_summary", _with_open_count(Stream.to_json_summary))
    patch(Stream, _PATCHED, True)
