"""Errors raised by :mod:`admin.reshard`.

ReshardError                     root: anything the reshard tool refuses or could not finish
├── StreamNotFoundError          no stream by that name
├── StreamNotActiveError         the stream is CREATING/UPDATING/DELETING; retry when ACTIVE
├── NotProvisionedError          an ON_DEMAND stream: the service does the sharding
├── UnknownShardError            no shard by that id in the stream
├── ClosedShardError             the shard was already split or merged (names its children)
├── NotAdjacentError             two shards whose hash ranges do not touch
├── InvalidHashKeyError          a split point outside the shard's hash range
├── InvalidTargetError           a shard count or tolerance the tool cannot aim for
├── TopologyError                the open shards do not tile the hash key space
├── LimitExceededError           a Kinesis limit or quota; retry later (maybe after 24 h)
└── ReshardTimeoutError          the stream did not return to ACTIVE in time (also TimeoutError)

Errors raised before the first mutating call mean nothing changed. Errors raised later carry
``completed``: the calls that did succeed. Re-running the same command plans from the stream's
current state and carries on from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ReshardError(Exception):
    """Root of every error raised by :mod:`admin.reshard`."""

    #: the mutating calls that succeeded before this error (empty: nothing changed)
    completed: tuple[Any, ...] = ()

    def with_completed(self, completed: Sequence[Any]) -> ReshardError:
        self.completed = tuple(completed)
        return self


class StreamNotFoundError(ReshardError):
    """No stream by that name (in this account, region and endpoint)."""


class StreamNotActiveError(ReshardError):
    """The stream is not ACTIVE, so it cannot be resharded now."""

    def __init__(self, stream: str, status: str) -> None:
        self.stream = stream
        self.status = status
        super().__init__(f"stream {stream} is {status}, not ACTIVE: nothing changed; retry when it is ACTIVE")


class NotProvisionedError(ReshardError):
    """The stream is in ON_DEMAND mode: shard counts are managed by the service."""


class UnknownShardError(ReshardError):
    """No shard with that id exists in the stream."""

    def __init__(self, stream: str, shard_id: str) -> None:
        self.stream = stream
        self.shard_id = shard_id
        super().__init__(f"unknown shard {shard_id} in stream {stream}")


class ClosedShardError(ReshardError):
    """The shard is closed: it was already split or merged."""

    def __init__(self, stream: str, shard_id: str, children: Sequence[str] = ()) -> None:
        self.stream = stream
        self.shard_id = shard_id
        self.children = tuple(children)
        into = f" (its children: {', '.join(self.children)})" if self.children else ""
        super().__init__(f"shard {shard_id} of stream {stream} is closed: already split or merged{into}")


class NotAdjacentError(ReshardError):
    """Two shards cannot be merged because their hash key ranges do not touch."""

    def __init__(self, shard_id: str, other_id: str) -> None:
        self.shard_id = shard_id
        self.other_id = other_id
        super().__init__(f"shards {shard_id} and {other_id} are not adjacent: their hash key ranges do not touch")


class InvalidHashKeyError(ReshardError, ValueError):
    """A split point that is not strictly inside the shard's hash key range."""


class InvalidTargetError(ReshardError, ValueError):
    """A target shard count or tolerance outside what the tool or Kinesis allows."""


class TopologyError(ReshardError):
    """The open shards do not cover the hash key space exactly once (a reshard in flight?)."""


class LimitExceededError(ReshardError):
    """A Kinesis limit or quota refused the change; retrying later may work."""


class ReshardTimeoutError(ReshardError, TimeoutError):
    """The stream did not become ACTIVE before the deadline; the change may still complete."""
