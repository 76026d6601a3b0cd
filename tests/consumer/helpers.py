"""Fakes for the processor tests: KCL messages, a checkpointer, sinks that record what they got."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from typing import Any

from amazon_kclpy import messages
from amazon_kclpy.checkpoint_error import CheckpointError

from consumer.records import DecodedEvent
from consumer.sinks import PacingStats, WriteSummary

_seq = itertools.count(1000)
#: when test records arrive: an hour after the factories' events (BASE_MS + n), so no test event
#: lies past its arrival by more than the worker's future-skew bound
DEFAULT_ARRIVED_MS = 1_766_448_000_000 + 3_600_000


def kcl_record(data: bytes, *, sequence: int | None = None, sub: int = 0, key: str = "pk", arrived_ms: int = 0) -> Any:
    """An amazon_kclpy Record as the daemon would send it."""
    return messages.Record(
        {
            "action": "record",
            "data": base64.b64encode(data).decode("ascii"),
            "partitionKey": key,
            "sequenceNumber": str(next(_seq) if sequence is None else sequence),
            "subSequenceNumber": sub,
            "approximateArrivalTimestamp": arrived_ms or DEFAULT_ARRIVED_MS,
        }
    )


def process_input(records: Sequence[Any], checkpointer: Any) -> Any:
    pri = messages.ProcessRecordsInput({"action": "processRecords", "records": list(records), "millisBehindLatest": 0})
    pri._checkpointer = checkpointer
    return pri


def initialize_input(shard_id: str = "shardId-000000000001") -> Any:
    return messages.InitializeInput(
        {"action": "initialize", "shardId": shard_id, "sequenceNumber": None, "subSequenceNumber": None}
    )


def with_checkpointer(message_class: Any, action: str, checkpointer: Any) -> Any:
    message = message_class({"action": action})
    message._checkpointer = checkpointer
    return message


class FakeCheckpointer:
    """Records checkpoints; ``errors`` are raised (as CheckpointError) one per call first."""

    def __init__(self, errors: Sequence[str] = ()) -> None:
        self.calls: list[tuple[str | None, int | None]] = []
        self.errors = list(errors)

    def checkpoint(self, sequence_number: str | None = None, sub_sequence_number: int | None = None) -> None:
        if self.errors:
            raise CheckpointError(self.errors.pop(0))
        self.calls.append((sequence_number, sub_sequence_number))


class FakeDynamoDB:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.batches: list[list[DecodedEvent]] = []
        self.fail = fail

    def write_latest(self, events: Sequence[DecodedEvent]) -> WriteSummary:
        if self.fail is not None:
            raise self.fail
        self.batches.append(list(events))
        return WriteSummary(written=len(events), superseded=0)

    def stats(self) -> PacingStats:
        return PacingStats(0, 0, 0.0, 1, len(self.batches), len(self.batches))

    def abandon(self) -> None:
        self.abandoned = True


class FakeArchive:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail = fail

    def put_files(self, files: Sequence[Any]) -> None:
        if self.fail is not None:
            raise self.fail
        for f in files:
            self.objects[f.key] = f.body


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ExitCalled(Exception):
    pass


class FakeExit:
    def __init__(self) -> None:
        self.statuses: list[int] = []

    def __call__(self, status: int) -> None:
        self.statuses.append(status)
