"""Partition keys and the shard they land on (pure).

A fresh random key per aggregated record spreads load evenly over every shard whatever the
stream's shard count, and survives resharding: nothing downstream relies on which shard a kid
lands on (the consumer dedupes by kid in DynamoDB).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence

#: 16 random bytes as 32 hex characters: 128 bits, like the MD5 hash key space they map onto.
PARTITION_KEY_RANDOM_BYTES = 16


def random_partition_key(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A uniformly random partition key (32 hex characters)."""
    return random_bytes(PARTITION_KEY_RANDOM_BYTES).hex()


def hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis derives from a partition key (MD5, big-endian)."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8"), usedforsecurity=False).digest(), "big")


def shard_index(hash_value: int, starting_hash_keys: Sequence[int]) -> int:
    """Index of the shard whose range holds ``hash_value``, given the open shards' sorted starting keys."""
    index = -1
    for i, start in enumerate(starting_hash_keys):
        if hash_value >= start:
            index = i
        else:
            break
    if index < 0:
        raise ValueError(f"hash key {hash_value} below the first shard's range")
    return index
