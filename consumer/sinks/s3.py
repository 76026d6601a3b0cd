"""The archive bucket: Avro files of events, and one dead-letter file per undecodable record.

Errors (see :mod:`._classify`): throttling (503 SlowDown) is weather, as in the kid table: it is
waited out for as long as it lasts, with the retry policy's capped, jittered backoff, and never
stops the processor (a restart would only replay the batch into the throttled bucket). 5xx and
network trouble are retried within the retry policy; anything else is systemic (access denied, no
such bucket, a KMS key disabled...) and stops the processor. No S3 error is a per-item refusal:
our code builds every key and bounds every body, so no event's value can make S3 refuse one object
and accept the others.

Objects are created only if absent (``If-None-Match: *``): a file's key is taken by the first
writer, and a later writer of the same key (a zombie whose lease expired, the shard's new owner,
a replay after a crash, a retry of a PUT whose answer was lost) stores only the rows the
existing file lacks. See :mod:`consumer.archive` for why overwriting could lose records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code, error_message

from .._errors import SinkError
from ..archive import StoredFile, iter_rows
from ..retry import RetryPolicy, call_with_retries
from ._pool import run_all

log = logging.getLogger(__name__)

AVRO_CONTENT_TYPE = "application/avro"
#: What S3 answers a conditional PUT whose key already exists.
_KEY_TAKEN = "PreconditionFailed"


class S3Archive:
    """Create-only ``PutObject`` with retries; several files upload concurrently."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        threads: int = 4,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="s3-sink")

    def put(self, key: str, body: bytes) -> bool:
        """Store one object durably unless ``key`` exists. True if this call created it, False
        if it was already there; SinkError when S3 keeps failing or refuses."""

        def attempt() -> Any:
            return self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=AVRO_CONTENT_TYPE, IfNoneMatch="*"
            )

        try:
            call_with_retries(
                attempt, policy=self._retry, what=f"PutObject {key}", sleep=self._sleep, wait_out_throttling=True
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == _KEY_TAKEN:
                return False
            raise SinkError(
                f"PutObject s3://{self._bucket}/{key} failed: {code}: {error_message(exc)} (the archive is unusable "
                "as configured: our code shapes every key and body, so no event's value causes this)",
                retryable=False,
            ) from exc
        return True

    def get(self, key: str) -> bytes:
        def attempt() -> bytes:
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            return body

        try:
            return call_with_retries(
                attempt, policy=self._retry, what=f"GetObject {key}", sleep=self._sleep, wait_out_throttling=True
            )
        except ClientError as exc:
            code = error_code(exc)
            raise SinkError(
                f"GetObject s3://{self._bucket}/{key} failed: {code}: {error_message(exc)}", retryable=False
            ) from exc

    def put_file(self, file: StoredFile) -> None:
        """Store ``file``'s rows (an archive or a dead-letter file): all of them, or those a file
        already at its key lacks."""
        pending: StoredFile | None = file
        while pending is not None:
            if self.put(pending.key, pending.body):
                return
            existing = iter_rows(self.get(pending.key))
            rest = pending.without(existing)
            if rest is not None and len(rest.rows) == len(pending.rows):
                raise SinkError(
                    f"s3://{self._bucket}/{pending.key} exists and holds none of this file's records", retryable=False
                )
            log.info(
                "archive file %s was already written with %s of our %s rows; %s",
                pending.key,
                len(pending.rows) - (len(rest.rows) if rest else 0),
                len(pending.rows),
                f"storing the other {len(rest.rows)} as {rest.key}" if rest else "nothing left to store",
            )
            pending = rest

    def put_files(self, files: Sequence[StoredFile]) -> None:
        run_all(self._pool, self.put_file, files)
        if files:
            log.debug("archived %s rows in %s files", sum(len(f.rows) for f in files), len(files))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
