"""GetRecords ends a closed shard: no NextShardIterator, and the ChildShards list.

moto 5.2.5 always returns a NextShardIterator, so the KCL never sees SHARD_END, never
checkpoints the parent as ended and never starts the children. The KCL (KinesisDataFetcher)
accepts a result only if exactly one of "next iterator" and "non-empty ChildShards with
parents" is present. The end is signalled by the first call that finds the reader past the
closed shard's last record; the call returning that last record still carries an iterator.
"""

from __future__ import annotations

from typing import Any

from ._patching import patch

_PATCHED = "_localaws_shard_end"


def child_shards(stream: Any, shard_id: str) -> list[dict[str, Any]]:
    """The ChildShards entries of ``shard_id``: the shards that list it as a parent."""
    children = []
    for child in stream.shards.values():
        parents = [p for p in (child.parent, child.adjacent_parent) if p]
        if shard_id in parents:
            children.append(
                {
                    "ShardId": child.shard_id,
                    "ParentShards": parents,
                    "HashKeyRange": {
                        "StartingHashKey": str(child.starting_hash),
                        "EndingHashKey": str(child.ending_hash),
                    },
                }
            )
    return children


def apply() -> None:
    from moto.core.responses import ActionResult
    from moto.kinesis.models import KinesisBackend
    from moto.kinesis.responses import KinesisResponse
    from moto.kinesis.utils import compose_shard_iterator, decompose_shard_iterator

    if getattr(KinesisBackend, _PATCHED, False):
        return

    def get_records_or_end(
        self: Any, stream_arn: str | None, shard_iterator: str, limit: int | None
    ) -> tuple[str | None, list[Any], int, list[dict[str, Any]]]:
        stream_name, shard_id, last_sequence_id = decompose_shard_iterator(shard_iterator)
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        shard = stream.get_shard(shard_id)
        records, last_sequence, millis_behind_latest = shard.get_records(last_sequence_id, limit)
        if not records and not shard.is_open and last_sequence >= shard.get_max_sequence_number():
            return None, [], 0, child_shards(stream, shard.shard_id)
        return compose_shard_iterator(stream_name, shard, last_sequence), records, millis_behind_latest, []

    def get_records(self: Any) -> Any:
        next_iterator, records, millis_behind_latest, children = self.kinesis_backend.get_records_or_end(
            self._get_param("StreamARN"), self._get_param("ShardIterator"), self._get_param("Limit")
        )
        result: dict[str, Any] = {
            "Records": [record.to_json() for record in records],
            "MillisBehindLatest": millis_behind_latest,
        }
        if next_iterator is None:
            result["ChildShards"] = children
        else:
            result["NextShardIterator"] = next_iterator
        return ActionResult(result)

    patch(KinesisBackend, "get_records_or_end", get_records_or_end)
    patch(KinesisResponse, "get_records", get_records)
    patch(KinesisBackend, _PATCHED, True)
