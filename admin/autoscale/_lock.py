"""One autoscaler at a time per stream, across hosts: a lease item in a small DynamoDB table.

The item (key ``stream``) names its ``owner`` and ``expires_at`` (epoch seconds). Taking or
renewing the lease is one conditional UpdateItem: it succeeds when there is no item (it creates
it), when the item is ours, or when it expired (``attribute_not_exists(stream) OR owner = :me OR
expires_at < :now``); DynamoDB evaluates the condition and the write atomically, so two hosts can
never both succeed
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).

The item also carries the autoscaler's ``state`` (JSON: the UpdateShardCount calls of the last 24
hours, the last change, the change in flight), written by the holder with ``owner = :me`` as the
condition: taking the lease returns it (``ReturnValues=ALL_NEW``), so a host that takes over knows
the calls and the cool-off of the host before it, whose Kinesis quota (10 UpdateShardCount calls
per stream per rolling 24 hours) it shares.
The holder renews it every loop (and while it waits for a reshard), and deletes it on exit, again
only if it is still the owner. A holder that dies leaves the item; the next autoscaler takes it
once ``expires_at`` has passed. Hosts' clocks must agree to well within the lease (NTP does).

Why its own table (``<application>-autoscale-lock``) and not an item in an existing one: the
KCL's lease table is the KCL's (it reads every item there as a shard lease), the kid table is
scanned by reconcile and analytics, and a table of its own lets the IAM policy give the autoscaler
write access to exactly this, nothing else. It is on-demand and holds one tiny item per stream.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code
from foundation.errors import ConfigError

logger = logging.getLogger(__name__)

#: the lock table's hash key (S): the stream's name
LOCK_KEY = "stream"
LOCK_TABLE_SUFFIX = "-autoscale-lock"


def lock_table_name(application: str) -> str:
    """The lock table of a deployment: named after its KCL application, like the KCL's tables."""
    return f"{application}{LOCK_TABLE_SUFFIX}"


class LockLostError(Exception):
    """Another autoscaler took the lease (ours expired): stop acting on the stream."""


class StreamLock:
    """The lease on one stream for one owner; ``acquire()`` takes or renews it."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        stream: str,
        *,
        lease_s: float = 180.0,
        owner: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if lease_s <= 0:
            raise ConfigError("lease_s", "the lock's lease must be positive")
        self.dynamodb = dynamodb
        self.table = table
        self.stream = stream
        self.lease_s = lease_s
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._now = wall_clock
        self.held_until: float | None = None
        #: the other owner and its expiry, after a refused acquire
        self.holder: tuple[str, float] | None = None
        #: the ``state`` the item held when we last took or renewed the lease (None: none yet)
        self.state: str | None = None

    def acquire(self) -> bool:
        """Take or renew the lease; False when another owner holds an unexpired one."""
        now = self._now()
        try:
            answer = self.dynamodb.update_item(
                TableName=self.table,
                Key={LOCK_KEY: {"S": self.stream}},
                UpdateExpression="SET #o = :me, #e = :until, #r = :now",
                ConditionExpression="attribute_not_exists(#k) OR #o = :me OR #e < :now",
                ExpressionAttributeNames={"#k": LOCK_KEY, "#o": "owner", "#e": "expires_at", "#r": "renewed_at"},
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":now": {"N": f"{now:.3f}"},
                    ":until": {"N": f"{now + self.lease_s:.3f}"},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            item = getattr(exc, "response", {}).get("Item") or {}
            self.holder = (item.get("owner", {}).get("S", "?"), float(item.get("expires_at", {}).get("N", "0")))
            if self.held_until is not None:
                logger.error("autoscale lock on %s lost to %s", self.stream, self.holder[0])
            self.held_until = None
            return False
        self.held_until = now + self.lease_s
        self.holder = None
        self.state = (answer.get("Attributes") or {}).get("state", {}).get("S")
        return True

    def save_state(self, state: str) -> None:
        """Store the autoscaler's ``state`` in the item while we hold it; LockLostError if not."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={LOCK_KEY: {"S": self.stream}},
                UpdateExpression="SET #s = :state",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner", "#s": "state"},
                ExpressionAttributeValues={":me": {"S": self.owner}, ":state": {"S": state}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            self.held_until = None
            raise LockLostError(f"the autoscale lock on {self.stream} was taken before its state was saved") from exc
        self.state = state

    def due(self) -> bool:
        """Whether a third of the lease has passed since the last renewal (or it is not held)."""
        return self.held_until is None or self._now() >= self.held_until - 2 * self.lease_s / 3

    def renew_or_raise(self) -> None:
        """Renew when due; :class:`LockLostError` when another owner took the lease."""
        if self.due() and not self.acquire():
            raise LockLostError(f"the autoscale lock on {self.stream} is held by {self.describe_holder()}")

    def release(self) -> None:
        """Delete the item if it is still ours (a lost lease is left to its new owner)."""
        if self.held_until is None:
            return
        self.held_until = None
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={LOCK_KEY: {"S": self.stream}},
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            logger.warning("autoscale lock on %s was no longer ours at release", self.stream)

    def describe_holder(self) -> str:
        if self.holder is None:
            return "another autoscaler"
        owner, until = self.holder
        return f"{owner} until {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(until))}"
