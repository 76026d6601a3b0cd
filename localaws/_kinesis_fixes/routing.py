"""Puts go to the OPEN shard whose hash key range holds the key, both ends inclusive.

moto 5.2.5 routes to the first shard with ``start <= key < end`` among all shards: closed
parents keep receiving records after a reshard, and a key equal to a shard's EndingHashKey
(2**128 - 1 among them) maps to no shard at all.
"""

from __future__ import annotations

from typing import Any

from foundation.limits import KINESIS_HASH_KEY_MAX, KINESIS_MAX_PARTITION_KEY_CHARS

from ._patching import patch

_PATCHED = "_localaws_routing"


def hash_key(partition_key: str, explicit_hash_key: str | None) -> int:
    """The 128-bit hash key a record is routed by (MD5 of the partition key unless explicit)."""
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.utilities.utils import md5_hash

    if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= KINESIS_MAX_PARTITION_KEY_CHARS:
        raise InvalidArgumentError("partition_key")
    if explicit_hash_key:
        if not isinstance(explicit_hash_key, str) or not explicit_hash_key.isdigit():
            raise InvalidArgumentError("explicit_hash_key")
        key = int(explicit_hash_key)
        if key > KINESIS_HASH_KEY_MAX:
            raise InvalidArgumentError("explicit_hash_key")
        return key
    return int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)


def apply() -> None:
    from moto.kinesis.models import Stream

    if getattr(Stream, _PATCHED, False):
        return

    def get_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any | None:
        key = hash_key(partition_key, explicit_hash_key)
        for shard in self.shards.values():
            if shard.is_open and shard.starting_hash <= key <= shard.ending_hash:
                return shard
        return None

    patch(Stream, "get_shard_for_key", get_shard_for_key)
    patch(Stream, _PATCHED, True)
