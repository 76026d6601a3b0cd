"""Reading the archive's objects in S3: listings with sizes and times, bodies a few at a time.

Clients are passed in; ClientErrors become :class:`~analytics.errors.ArchiveReadError` here, the
one boundary where S3's errors are translated for this package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code
from foundation.windowed import map_ordered

from .errors import ArchiveReadError

#: objects fetched concurrently
DEFAULT_WINDOW = 8
_MISSING = {"NoSuchBucket", "NoSuchKey"}


def _read_error(what: str, exc: ClientError) -> ArchiveReadError:
    code = error_code(exc)
    hint = " (does it exist? run `nicelist provision`)" if code in _MISSING else ""
    return ArchiveReadError(f"{what}: {code}{hint}", code=code)


def listing(s3: Any, bucket: str, prefix: str) -> dict[str, tuple[int, datetime]]:
    """``key -> (size, last modified)`` of every object under ``prefix``."""
    found = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                found[obj["Key"]] = (int(obj["Size"]), obj["LastModified"])
    except ClientError as exc:
        raise _read_error(f"listing s3://{bucket}/{prefix}", exc) from exc
    return found


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise _read_error(f"reading s3://{bucket}/{key}", exc) from exc
    return body


def fetch_objects(
    s3: Any, bucket: str, keys: Iterable[str], *, window: int = DEFAULT_WINDOW
) -> Iterator[tuple[str, bytes]]:
    """``(key, body)`` per object, ``window`` fetched at a time, in ``keys`` order."""
    return map_ordered(lambda key: read_object(s3, bucket, key), keys, window=window, thread_name_prefix="s3-read")
