"""The archive bucket: Avro files of events, and one dead-letter file per undecodable record."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from .._errors import SinkError
from ..archive import ArchiveFile
from ..retry import RetryPolicy, call_with_retries
from ._pool import run_all

log = logging.getLogger(__name__)

AVRO_CONTENT_TYPE = "application/avro"


class S3Archive:
    """``PutObject`` with retries; several files upload concurrently."""

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

    def put(self, key: str, body: bytes) -> None:
        """Store one object durably (S3 acknowledges only stored objects) or raise SinkError."""

        def attempt() -> Any:
            return self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=AVRO_CONTENT_TYPE)

        try:
            call_with_retries(attempt, policy=self._retry, what=f"PutObject {key}", sleep=self._sleep)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SinkError(f"PutObject s3://{self._bucket}/{key} failed: {code}", retryable=False) from exc

    def put_files(self, files: Sequence[ArchiveFile]) -> None:
        run_all(self._pool, lambda f: self.put(f.key, f.body), files)
        if files:
            log.debug("archived %s rows in %s files", sum(f.rows for f in files), len(files))

    def put_objects(self, objects: Sequence[tuple[str, bytes]]) -> None:
        run_all(self._pool, lambda o: self.put(o[0], o[1]), objects)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
