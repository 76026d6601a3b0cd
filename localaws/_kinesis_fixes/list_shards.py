"""ListShards with ShardFilter, ExclusiveStartShardId and NextToken pagination.

moto 5.2.5 ignores ShardFilter, so a KCL starting on a resharded stream at TRIM_HORIZON
(it sends AT_TRIM_HORIZON, AT_LATEST or AT_TIMESTAMP) gets every shard as a root. Nothing is
ever trimmed here, so "at trim horizon" means the shards with no parent in the stream.
The NextToken carries the stream, the filter and the last shard listed, as AWS's does.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from typing import Any

from ._patching import patch

_PATCHED = "_localaws_list_shards"
#: ListShards MaxResults: default 1,000, at most 10,000 (API reference, ListShards)
DEFAULT_MAX_RESULTS = 1000
MAX_MAX_RESULTS = 10_000
FILTER_TYPES = ("AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP")


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"not a timestamp: {value!r}")


def select_shards(shards: Sequence[Any], shard_filter: dict[str, Any] | None) -> list[Any]:
    """The shards a ShardFilter selects, sorted by shard id (pure; shards are moto Shards)."""
    ordered = sorted(shards, key=lambda s: s.shard_id)
    if not shard_filter:
        return ordered
    kind = shard_filter.get("Type")
    ids = {s.shard_id for s in ordered}

    def is_root(shard: Any) -> bool:
        return not any(p in ids for p in (shard.parent, shard.adjacent_parent) if p)

    if kind == "FROM_TRIM_HORIZON":
        return ordered
    if kind == "AT_TRIM_HORIZON":
        return [s for s in ordered if is_root(s)]
    if kind == "AT_LATEST":
        return [s for s in ordered if s.is_open]
    if kind == "AFTER_SHARD_ID":
        after = shard_filter.get("ShardId")
        if not after:
            raise ValueError("ShardId is required with ShardFilter type AFTER_SHARD_ID")
        return [s for s in ordered if s.shard_id > after]
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        if shard_filter.get("Timestamp") is None:
            raise ValueError(f"Timestamp is required with ShardFilter type {kind}")
        at = _epoch_seconds(shard_filter["Timestamp"])

        def closed_at(shard: Any) -> float | None:
            return None if shard.is_open else getattr(shard, "closed_at", None) or 0.0

        if kind == "FROM_TIMESTAMP":
            return [s for s in ordered if closed_at(s) is None or closed_at(s) >= at]  # type: ignore[operator]
        return [
            s
            for s in ordered
            if (closed_at(s) is None or closed_at(s) > at)  # type: ignore[operator]
            and (getattr(s, "created_at", 0.0) <= at or is_root(s))
        ]
    raise ValueError(f"ShardFilter Type must be one of {FILTER_TYPES}, not {kind!r}")


def _encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, default=_epoch_seconds).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("NextToken is not valid") from exc
    if not isinstance(state, dict) or "stream" not in state:
        raise ValueError("NextToken is not valid")
    return state


def apply() -> None:
    from moto.core.responses import ActionResult
    from moto.kinesis.exceptions import InvalidArgumentError
    from moto.kinesis.responses import KinesisResponse

    if getattr(KinesisResponse, _PATCHED, False):
        return

    def list_shards(self: Any) -> Any:
        next_token = self._get_param("NextToken")
        limit = int(self._get_param("MaxResults") or DEFAULT_MAX_RESULTS)
        if not 1 <= limit <= MAX_MAX_RESULTS:
            raise InvalidArgumentError(f"MaxResults must be 1..{MAX_MAX_RESULTS}, not {limit}")
        try:
            if next_token:
                state = _decode_token(next_token)
                stream_arn, stream_name = None, state["stream"]
                shard_filter, after = state.get("filter"), state.get("after")
            else:
                stream_arn, stream_name = self._get_param("StreamARN"), self._get_param("StreamName")
                shard_filter, after = self._get_param("ShardFilter"), self._get_param("ExclusiveStartShardId")
            stream = self.kinesis_backend.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
            selected = select_shards(list(stream.shards.values()), shard_filter)
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        if after:
            selected = [s for s in selected if s.shard_id > after]
        page = selected[:limit]
        result: dict[str, Any] = {"Shards": [s.to_json() for s in page]}
        if len(selected) > limit:
            result["NextToken"] = _encode_token(
                {"stream": stream.stream_name, "filter": shard_filter, "after": page[-1].shard_id}
            )
        return ActionResult(result)

    patch(KinesisResponse, "list_shards", list_shards)
    patch(KinesisResponse, _PATCHED, True)
