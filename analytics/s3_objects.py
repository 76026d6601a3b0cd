"""Reading the archive's objects in S3: listings with sizes and times, bodies a few at a time.

Clients are passed in; ClientErrors become :class:`~analytics.errors.ArchiveReadError` here, the
one boundary where S3's errors are translated for this package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from foundation import s3_reads

from .errors import ArchiveReadError

#: objects fetched concurrently
DEFAULT_WINDOW = 8


class ObjectInfo(NamedTuple):
    """What a listing says about one object."""

    size: int
    last_modified: datetime
    etag: str


def listing(s3: Any, bucket: str, prefix: str) -> dict[str, ObjectInfo]:
    """``key -> (size, last modified, ETag)`` of every object under ``prefix``."""
    objects = s3_reads.list_objects(s3, bucket, prefix, error=ArchiveReadError)
    return {obj["Key"]: ObjectInfo(int(obj["Size"]), obj["LastModified"], str(obj.get("ETag", ""))) for obj in objects}


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    return s3_reads.read_object(s3, bucket, key, error=ArchiveReadError)


def fetch_objects(
    s3: Any, bucket: str, keys: Iterable[str], *, window: int = DEFAULT_WINDOW
) -> Iterator[tuple[str, bytes]]:
    """``(key, body)`` per object, ``window`` fetched at a time, in ``keys`` order."""
    return s3_reads.fetch_objects(s3, bucket, keys, error=ArchiveReadError, window=window, thread_name_prefix="s3-read")
