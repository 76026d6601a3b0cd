"""Reading objects from S3: listings, bodies, and bodies a few at a time in key order.

Clients are passed in. A ``ClientError`` becomes the error the calling package raises (``error``:
a class taking ``(message, code=...)``, e.g. reconcile's ``SourceError`` or analytics'
``ArchiveReadError``), with a hint when the bucket or key is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from .aws_errors import error_code
from .windowed import map_ordered

#: codes that usually mean "not provisioned yet"
MISSING_CODES = frozenset({"NoSuchBucket", "NoSuchKey", "ResourceNotFoundException"})


class ReadError(Protocol):
    """The error class a caller raises: ``error(message, code=...)``."""

    def __call__(self, message: str, code: str | None = None) -> Exception: ...


def translate(error: ReadError, what: str, exc: BaseException) -> Exception:
    """``exc`` (an AWS error) as the caller's ``error``, naming ``what`` failed and the code."""
    code = error_code(exc)
    hint = " (does it exist? run `nicelist provision`)" if code in MISSING_CODES else ""
    return error(f"{what}: {code}{hint}", code=code)


def list_objects(s3: Any, bucket: str, prefix: str, *, error: ReadError) -> Iterator[dict[str, Any]]:
    """Every object entry (``Key``, ``Size``, ``LastModified``...) under ``prefix``, page by page."""
    from botocore.exceptions import ClientError

    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", ())
    except ClientError as exc:
        raise translate(error, f"listing s3://{bucket}/{prefix}", exc) from exc


def read_object(s3: Any, bucket: str, key: str, *, error: ReadError) -> bytes:
    """One object's body."""
    from botocore.exceptions import ClientError

    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise translate(error, f"reading s3://{bucket}/{key}", exc) from exc
    return body


def fetch_objects(
    s3: Any, bucket: str, keys: Iterable[str], *, error: ReadError, window: int, thread_name_prefix: str
) -> Iterator[tuple[str, bytes]]:
    """``(key, body)`` per object, ``window`` fetched at a time (so held in memory), in ``keys`` order."""
    return map_ordered(
        lambda key: read_object(s3, bucket, key, error=error),
        keys,
        window=window,
        thread_name_prefix=thread_name_prefix,
    )
