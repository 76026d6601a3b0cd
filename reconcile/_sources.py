"""Reading the S3 archive and the DynamoDB table (the AWS side of reconcile and the demo).

Clients are passed in. Objects are fetched a few at a time in a thread pool (bounded: at most
``window`` objects in memory), rows are decoded with fastavro and handed on one by one.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import fastavro
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from foundation import s3_reads

from ._errors import SourceError
from ._model import plain_number

log = logging.getLogger(__name__)

ARCHIVE_PREFIX = "events/"
DEAD_LETTER_PREFIX = "dead-letter/"
#: archive objects fetched concurrently
DEFAULT_WINDOW = 8


def list_objects(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """``(key, size)`` of every object under ``prefix``, page by page."""
    for obj in s3_reads.list_objects(s3, bucket, prefix, error=SourceError):
        yield obj["Key"], int(obj["Size"])


def count_objects(s3: Any, bucket: str, prefix: str) -> int:
    return sum(1 for _ in list_objects(s3, bucket, prefix))


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    return s3_reads.read_object(s3, bucket, key, error=SourceError)


def avro_rows(data: bytes) -> list[dict[str, Any]]:
    """Every record of one Avro object container file."""
    records: Iterable[Any] = fastavro.reader(io.BytesIO(data))
    return [dict(record) for record in records]


def fetch_objects(
    s3: Any,
    bucket: str,
    keys: Iterable[str],
    *,
    window: int = DEFAULT_WINDOW,
) -> Iterator[tuple[str, bytes]]:
    """``(key, body)`` per object, fetched ``window`` at a time, in ``keys`` order."""
    return s3_reads.fetch_objects(s3, bucket, keys, error=SourceError, window=window, thread_name_prefix="archive-read")


def archive_files(
    s3: Any,
    bucket: str,
    keys: Iterable[str],
    *,
    window: int = DEFAULT_WINDOW,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(key, rows)`` per archive object, fetched ``window`` at a time, in ``keys`` order."""
    for key, body in fetch_objects(s3, bucket, keys, window=window):
        yield key, avro_rows(body)


class RawArchive:
    """The archive as the workers wrote it: every Avro object under ``events/``."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def keys(self) -> list[str]:
        return [key for key, _ in list_objects(self._s3, self._bucket, ARCHIVE_PREFIX)]

    def files(self, keys: Iterable[str], *, window: int = DEFAULT_WINDOW) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        return archive_files(self._s3, self._bucket, keys, window=window)


def scan_table(dynamodb: Any, table: str, *, on_page: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every item of the table as plain Python values (ints, floats, str, dicts)."""
    deserializer = TypeDeserializer()
    try:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items = page.get("Items", ())
            for raw in items:
                yield {k: plain_number(deserializer.deserialize(v)) for k, v in raw.items()}
            if on_page is not None:
                on_page(len(items))
    except ClientError as exc:
        raise s3_reads.translate(SourceError, f"scanning table {table}", exc) from exc
