"""Limits mode: moto's Kinesis answers as Kinesis does when a shard is over its throughput.

Patches ``KinesisBackend.put_records``, ``put_record`` and ``get_records_or_end`` (the latter
after localaws' Kinesis fixes, which this mode needs) to ask a :class:`ShardLimiter` first:

- PutRecords: records over the shard's write limit fail one by one (``ErrorCode``
  ProvisionedThroughputExceededException, ``ErrorMessage`` naming shard, stream and account;
  ``FailedRecordCount``); the others are written (API_PutRecords.html).
- PutRecord: the call fails with ProvisionedThroughputExceededException (API_PutRecord.html).
- GetRecords: the call fails with ProvisionedThroughputExceededException when the shard's call
  rate is exceeded or its read bytes are in debt; one call returns at most 10 MiB (scaled)
  (API_GetRecords.html).

Installed in the server process only (:func:`install`), once, on the moto version the fixes
were written against.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from foundation.limits import KINESIS_MAX_BYTES_PER_PUT, KINESIS_MAX_RECORD_BYTES, KINESIS_MAX_RECORDS_PER_PUT

from ._kinesis_fixes._patching import patch
from ._limits import THROTTLED, ShardLimiter

_PATCHED = "_localaws_limits"


def throttle_message(shard_id: str, stream: str, account: str) -> str:
    """The ErrorMessage Kinesis sends for a throttled record (API_PutRecordsResultEntry.html)."""
    return f"Rate exceeded for shard {shard_id} in stream {stream} under account {account}."


def install(limiter: ShardLimiter) -> None:
    """Route every Kinesis put and get of this process through ``limiter``."""
    from moto.core.exceptions import JsonRESTError
    from moto.kinesis.exceptions import RecordSizeExceedsLimit, TooManyRecords, TotalRecordsSizeExceedsLimit
    from moto.kinesis.models import KinesisBackend
    from moto.kinesis.utils import decompose_shard_iterator

    if getattr(KinesisBackend, _PATCHED, False):
        raise RuntimeError("limits mode is already installed in this process")
    if not hasattr(KinesisBackend, "get_records_or_end"):
        raise RuntimeError("limits mode needs localaws' Kinesis fixes (serve without --no-kinesis-fixes)")

    class ProvisionedThroughputExceeded(JsonRESTError):
        def __init__(self, message: str) -> None:
            super().__init__(THROTTLED, message)

    original_put_record = KinesisBackend.put_record
    original_get = KinesisBackend.get_records_or_end

    def key_of(backend: Any, stream: Any, shard_id: str) -> tuple[str, str, str, str]:
        return (backend.account_id, backend.region_name, stream.stream_name, shard_id)

    def put_records(self: Any, stream_arn: str, stream_name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        if len(records) > KINESIS_MAX_RECORDS_PER_PUT:
            raise TooManyRecords
        sizes = [len(base64.b64decode(r.get("Data", ""))) + len(r.get("PartitionKey", "")) for r in records]
        if sum(sizes) > KINESIS_MAX_BYTES_PER_PUT:
            raise TotalRecordsSizeExceedsLimit
        for position, size in enumerate(sizes, start=1):
            if size > KINESIS_MAX_RECORD_BYTES:
                raise RecordSizeExceedsLimit(position=position)
        response: dict[str, Any] = {"FailedRecordCount": 0, "Records": []}
        for record, size in zip(records, sizes, strict=True):
            partition_key, explicit_hash_key = record.get("PartitionKey"), record.get("ExplicitHashKey")
            shard = stream.get_shard_for_key(partition_key, explicit_hash_key)
            if limiter.admit_write(key_of(self, stream, shard.shard_id), size):
                sequence_number, shard_id = stream.put_record(partition_key, explicit_hash_key, record.get("Data"))
                response["Records"].append({"SequenceNumber": sequence_number, "ShardId": shard_id})
            else:
                response["FailedRecordCount"] += 1
                response["Records"].append(
                    {
                        "ErrorCode": THROTTLED,
                        "ErrorMessage": throttle_message(shard.shard_id, stream.stream_name, self.account_id),
                    }
                )
        return response

    def put_record(
        self: Any, stream_arn: str, stream_name: str, partition_key: str, explicit_hash_key: str, data: str
    ) -> tuple[str, str]:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        shard = stream.get_shard_for_key(partition_key, explicit_hash_key)
        size = len(base64.b64decode(data or "")) + len(partition_key or "")
        if not limiter.admit_write(key_of(self, stream, shard.shard_id), size):
            raise ProvisionedThroughputExceeded(throttle_message(shard.shard_id, stream.stream_name, self.account_id))
        result: tuple[str, str] = original_put_record(
            self, stream_arn, stream_name, partition_key, explicit_hash_key, data
        )
        return result

    def get_records_or_end(
        self: Any, stream_arn: str | None, shard_iterator: str, limit: int | None
    ) -> tuple[str | None, list[Any], int, list[dict[str, Any]]]:
        stream_name, shard_id, last_sequence_id = decompose_shard_iterator(shard_iterator)
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        key = key_of(self, stream, shard_id)
        if not limiter.admit_read(key):
            raise ProvisionedThroughputExceeded(throttle_message(shard_id, stream.stream_name, self.account_id))
        shard = stream.get_shard(shard_id)
        limit = _limit_by_bytes(shard, int(last_sequence_id), limit, limiter.max_get_bytes())
        result = original_get(self, stream_arn, shard_iterator, limit)
        records = result[1]
        size = sum(len(r.blob) + len(r.partition_key) for r in records)
        age_ms = (time.time() - records[-1].created_at) * 1000.0 if records else 0.0
        limiter.record_read(key, size_bytes=size, records=len(records), iterator_age_ms=max(0.0, age_ms))
        return result

    patch(KinesisBackend, "put_records", put_records)
    patch(KinesisBackend, "put_record", put_record)
    patch(KinesisBackend, "get_records_or_end", get_records_or_end)
    patch(KinesisBackend, _PATCHED, True)


def _limit_by_bytes(shard: Any, last_sequence: int, limit: int | None, max_bytes: int) -> int | None:
    """``limit`` lowered so that one GetRecords returns at most ``max_bytes`` (at least one record)."""
    log = shard.records
    after = getattr(log, "after", None)
    if after is None:
        return limit
    total = 0
    count = 0
    for record in after(last_sequence, limit):
        total += len(record.blob) + len(record.partition_key)
        if count and total > max_bytes:
            break
        count += 1
    return limit if count == 0 else min(count, limit or count)
