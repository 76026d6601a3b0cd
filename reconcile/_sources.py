"""Reading the S3 archive and the DynamoDB table (the AWS side of reconcile and the demo).

Clients are passed in. Objects are fetched a few at a time in a thread pool (bounded: at most
``window`` objects in memory), rows are decoded with fastavro and handed on one by one. An
object that is not an archive file (empty, truncated, not Avro, a foreign schema) is skipped
and kept in ``bad_objects`` (key, size, why): it is reported, never read as rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

import schemas
from foundation import s3_reads
from foundation.avro_objects import BadObject, UnreadableObjectError, read_container

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
    """Every record of one archive file; UnreadableObjectError when it is not one."""
    return read_container(data, schemas.latest(schemas.ARCHIVED_EVENT).parsed)


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
    bad: list[BadObject] | None = None,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(key, rows)`` per archive object, fetched ``window`` at a time, in ``keys`` order; an
    object that is not an archive file is skipped and appended to ``bad``."""
    for key, body in fetch_objects(s3, bucket, keys, window=window):
        try:
            rows = avro_rows(body)
        except UnreadableObjectError as exc:
            found = BadObject(key, len(body), exc.reason)
            log.warning("skipped %s", found)
            if bad is not None:
                bad.append(found)
            continue
        yield key, rows


class RawArchive:
    """The archive as the workers wrote it: every Avro object under ``events/``."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        #: objects skipped because they are not archive files
        self.bad_objects: list[BadObject] = []

    def keys(self) -> list[str]:
        return [key for key, _ in list_objects(self._s3, self._bucket, ARCHIVE_PREFIX)]

    def files(self, keys: Iterable[str], *, window: int = DEFAULT_WINDOW) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        return archive_files(self._s3, self._bucket, keys, window=window, bad=self.bad_objects)


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
