"""The archive as reconcile reads it after compaction: each compacted hour from its Parquet,
every other hour (and any late file of a compacted hour) from its Avro objects.

It has the shape of :class:`reconcile.ArchiveReader` (a protocol, so no import of reconcile:
both packages share a floor), and ``reconcile(..., archive=CompactedArchive(...))`` checks the
table against the compacted data; raw Avro may then be expired without losing the ability to
reconcile. Timestamps come out as epoch milliseconds (reconcile accepts them). An Avro object
that is not an archive file (empty, truncated, not Avro, a foreign schema) is skipped and kept in
``bad_objects`` (key, size, why) for the report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from foundation.avro_objects import BadObject, UnreadableObjectError

from .compaction import COMPACTED_PREFIX, EVENTS_PREFIX, Hour, compacted_key, group_by_hour, read_avro
from .compactor import late_keys
from .s3_objects import DEFAULT_WINDOW, fetch_objects, listing

log = logging.getLogger(__name__)


def parquet_rows(body: bytes) -> list[dict[str, Any]]:
    """Rows of one compacted Parquet object."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(pa.BufferReader(body)).to_pylist()
    return rows


class CompactedArchive:
    """Compacted Parquet where an hour has it, the Avro objects it does not cover elsewhere."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        #: Avro objects read because no compaction covers them (uncompacted hours, late files)
        self.avro_objects = 0
        self.parquet_objects = 0
        #: Avro objects skipped because they are not archive files
        self.bad_objects: list[BadObject] = []

    def keys(self) -> list[str]:
        avro_listing = listing(self._s3, self._bucket, EVENTS_PREFIX)
        by_hour = group_by_hour(avro_listing)
        compacted = {
            hour: key
            for key in listing(self._s3, self._bucket, COMPACTED_PREFIX)
            if (hour := Hour.of_key(key)) is not None and key == compacted_key(hour)
        }
        out: list[str] = []
        for hour in sorted(set(by_hour) | set(compacted)):
            avro = by_hour.get(hour, [])
            key = compacted.get(hour)
            if key is None:
                out += avro
                continue
            out.append(key)
            self.parquet_objects += 1
            late = late_keys(self._s3, self._bucket, hour, {k: avro_listing[k].etag for k in avro})
            if late:
                log.info("%s: %s Avro objects arrived after its compaction; reading them too", hour, len(late))
                out += late
        self.avro_objects = len(out) - self.parquet_objects
        return out

    def files(self, keys: Iterable[str], *, window: int = DEFAULT_WINDOW) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for key, body in fetch_objects(self._s3, self._bucket, keys, window=window):
            if key.endswith(".parquet"):
                yield key, parquet_rows(body)
                continue
            try:
                rows = read_avro(body)
            except UnreadableObjectError as exc:
                bad = BadObject(key, len(body), exc.reason)
                log.warning("skipped %s", bad)
                self.bad_objects.append(bad)
                continue
            yield key, rows
