"""The stream: provisioned mode with its shard count, server-side encryption with KMS."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code

from ._base import ProvisionError, ProvisionReport, ResourceConflictError, Waiter


def ensure_stream(kinesis: Any, name: str, shards: int, report: ProvisionReport, waiter: Waiter) -> None:
    summary = _stream_summary(kinesis, name)
    if summary is None:
        try:
            kinesis.create_stream(StreamName=name, ShardCount=shards, StreamModeDetails={"StreamMode": "PROVISIONED"})
            report.did(f"created stream {name} with {shards} shards")
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":  # created by someone else meanwhile
                raise ProvisionError(f"cannot create stream {name}: {exc}") from exc
    summary = waiter.until(f"stream {name} ACTIVE", lambda: _active_stream(kinesis, name))
    open_shards = summary.get("OpenShardCount")
    if open_shards is not None and open_shards != shards:
        report.note(
            f"stream {name} exists with {open_shards} open shards, not {shards}; left as is "
            "(change it with: nicelist reshard scale)"
        )


def _stream_summary(kinesis: Any, name: str) -> dict[str, Any] | None:
    try:
        summary: dict[str, Any] = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        return summary
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise ProvisionError(f"cannot describe stream {name}: {exc}") from exc


def _active_stream(kinesis: Any, name: str) -> dict[str, Any] | None:
    summary = _stream_summary(kinesis, name)
    if summary is not None and summary.get("StreamStatus") == "ACTIVE":
        return summary
    if summary is not None and summary.get("StreamStatus") == "DELETING":
        raise ResourceConflictError(f"stream {name} is being deleted; run again once it is gone")
    return None


def ensure_stream_encryption(kinesis: Any, name: str, key_id: str, report: ProvisionReport, waiter: Waiter) -> None:
    """Server-side encryption with ``key_id`` on; a stream encrypted with another key is left alone."""
    summary = waiter.until(f"stream {name} ACTIVE", lambda: _active_stream(kinesis, name))
    if summary.get("EncryptionType") == "KMS":
        if summary.get("KeyId") not in (key_id, None):
            report.note(f"stream {name} is encrypted with KMS key {summary.get('KeyId')}, not {key_id}; left as is")
        return
    try:
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key_id)
    except ClientError as exc:
        raise ProvisionError(f"cannot turn on encryption of stream {name} with {key_id}: {exc}") from exc
    report.did(f"stream {name}: server-side encryption with KMS key {key_id}")
    waiter.until(f"stream {name} ACTIVE after encryption", lambda: _active_stream(kinesis, name))
