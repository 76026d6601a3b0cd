"""Builders for archive rows, archive objects and table items as the worker writes them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import fastavro

import schemas
from tests.factories import make_event

SHARD = "shardId-000000000000"


def archived_row(seq: int, sub: int = 0, shard_id: str = SHARD, **event_overrides: Any) -> dict[str, Any]:
    event = make_event(**event_overrides)
    return {
        **event,
        "app_version": event.get("app_version"),
        "schema_fingerprint": "00" * 8,
        "shard_id": shard_id,
        "sequence_number": str(10**20 + seq),
        "subsequence_number": sub,
        "partition_key": "pk",
        "arrived_at": event["observed_at"] + 5,
    }


def avro_file(rows: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, schemas.latest(schemas.ARCHIVED_EVENT).parsed, rows)
    return out.getvalue()


def archive_key(row: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(row["observed_at"] / 1000, tz=UTC)
    return (
        f"events/dt={when:%Y-%m-%d}/hour={when:%H}/"
        f"{row['shard_id']}-{row['sequence_number']}-{row['subsequence_number']}.avro"
    )


def table_item(row: dict[str, Any], written_delay_ms: int = 40) -> dict[str, Any]:
    """The DynamoDB item (boto3 resource style, Decimals) the worker writes for ``row``."""
    item: dict[str, Any] = {
        "kid_id": row["kid_id"],
        "behaviour": row["behaviour"],
        "elf_id": row["elf_id"],
        "event_id": row["event_id"],
        "observed_at": Decimal(row["observed_at"]),
        "shard_id": row["shard_id"],
        "sequence_number": row["sequence_number"],
        "subsequence_number": Decimal(row["subsequence_number"]),
        "written_at": Decimal(row["observed_at"] + written_delay_ms),
    }
    if row.get("note") is not None:
        item["note"] = row["note"]
    if row.get("location") is not None:
        item["location"] = {k: Decimal(str(v)) for k, v in row["location"].items()}
    if row.get("app_version") is not None:
        item["app_version"] = row["app_version"]
    return item
