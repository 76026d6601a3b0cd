"""The dead letters in S3: listing them, reading them, and the create-only redrive markers.

Clients are passed in; ClientErrors become :class:`DeadLetterError` naming the object. A marker
is created with ``PutObject IfNoneMatch='*'`` (S3 conditional writes,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): of two redrives
claiming the same dead letter, S3 lets exactly one create the marker and answers the other
412 PreconditionFailed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from foundation import s3_reads
from foundation.aws_errors import error_code

from ._errors import DeadLetterError
from ._model import (
    CLAIMED_PREFIX,
    DEAD_LETTER_PREFIX,
    DONE_PREFIX,
    claimed_key,
    dead_letter_of_marker,
    done_key,
    hour_of,
    in_hours,
)

#: dead-letter objects fetched concurrently
DEFAULT_WINDOW = 8
_KEY_TAKEN = "PreconditionFailed"


class DeadLetterStore:
    """The ``dead-letter/`` prefix of the archive bucket and the redrive markers beside it."""

    def __init__(self, s3: Any, bucket: str, *, window: int = DEFAULT_WINDOW) -> None:
        self._s3 = s3
        self.bucket = bucket
        self._window = window

    def keys(self, *, first_hour: str | None = None, last_hour: str | None = None) -> list[tuple[str, int]]:
        """``(key, size)`` of every object under ``dead-letter/`` in the hours given (both
        included), in key order; objects outside any hour partition are listed too (hour ``""``)
        when no hour bound is given, so junk is seen."""
        found = []
        for obj in s3_reads.list_objects(self._s3, self.bucket, DEAD_LETTER_PREFIX, error=DeadLetterError):
            key = str(obj["Key"])
            hour = hour_of(key)
            if hour is None and (first_hour or last_hour):
                continue
            if hour is not None and not in_hours(hour, first_hour, last_hour):
                continue
            found.append((key, int(obj["Size"])))
        return sorted(found)

    def markers(self) -> tuple[set[str], set[str]]:
        """The dead letters claimed by a redrive, and those it finished."""
        claimed: set[str] = set()
        done: set[str] = set()
        for prefix, into in ((CLAIMED_PREFIX, claimed), (DONE_PREFIX, done)):
            for obj in s3_reads.list_objects(self._s3, self.bucket, prefix, error=DeadLetterError):
                key = dead_letter_of_marker(str(obj["Key"]))
                if key is not None:
                    into.add(key)
        return claimed, done

    def is_done(self, key: str) -> bool:
        return self._exists(done_key(key))

    def is_claimed(self, key: str) -> bool:
        return self._exists(claimed_key(key))

    def _exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise DeadLetterError(f"HeadObject s3://{self.bucket}/{key}: {code}", code=code) from exc
        return True

    def read(self, key: str) -> bytes:
        return s3_reads.read_object(self._s3, self.bucket, key, error=DeadLetterError)

    def bodies(self, keys: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """``(key, body)`` per key, a few fetched at a time, in ``keys`` order."""
        return s3_reads.fetch_objects(
            self._s3, self.bucket, keys, error=DeadLetterError, window=self._window, thread_name_prefix="dead-letters"
        )

    def create_marker(self, key: str, content: dict[str, Any]) -> bool:
        """Create ``key`` unless it exists: True if this call created it."""
        body = json.dumps(content, sort_keys=True).encode()
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*")
        except ClientError as exc:
            code = error_code(exc)
            if code == _KEY_TAKEN:
                return False
            raise DeadLetterError(f"PutObject s3://{self.bucket}/{key}: {code}", code=code) from exc
        return True
