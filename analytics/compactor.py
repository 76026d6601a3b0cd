"""``compact()``: every closed, not yet compacted hour of the archive into one Parquet object.

Exactly once: the object's key depends on the hour only and is created with ``PutObject
IfNoneMatch='*'``; a second compactor (a rerun, a concurrent run, a run after a crash) gets 412
PreconditionFailed and counts the hour as done by someone else. A crash leaves nothing half
written (a PUT is atomic), so the hour is simply compacted by the next run. The Avro stays.

The file is built in a spooled temporary file (in memory up to ``SPOOL_BYTES``, then on disk),
so memory per hour is :class:`~analytics.compaction.Winners` of one bucket of events plus one
row group. The manifest of what the Parquet is built from (every source's key and ETag) goes to
a content-addressed ``_sources-<digest>.json`` beside it, written first; late files are the
objects of a compacted hour that the manifest does not name (never a count of objects, so a
late file is found even after the sources expired).

Junk in the archive (an empty, truncated, non-Avro or foreign-schema object under ``events/``)
is reported, never compacted: the hour holding it is left uncompacted (skipped, not
quarantined: the compactor may not delete or move archive objects, and compacting the hour
without the object would freeze a Parquet that misses whatever the object holds), every other
hour is compacted, and the report lists each bad object (key, size, why) until an operator
moves it out of ``events/``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from foundation.avro_objects import BadObject
from foundation.aws_errors import error_code
from foundation.limits import S3_MAX_PUT_OBJECT_BYTES
from foundation.progress import Progress

from .compaction import (
    COMPACTED_PREFIX,
    EVENTS_PREFIX,
    PARQUET_CONTENT_TYPE,
    ROWS_META,
    SOURCE_OBJECTS_META,
    SOURCES_DIGEST_META,
    CompactionConfig,
    Hour,
    ParquetHourWriter,
    Winners,
    bucket_of,
    buckets_for,
    compacted_key,
    group_by_hour,
    late_sources,
    manifest_sources,
    readable_rows,
    sources_digest,
    sources_key,
    sources_manifest,
)
from .errors import CompactionError, UnreadableSourcesError
from .s3_objects import ObjectInfo, fetch_objects, listing

log = logging.getLogger(__name__)

#: a compacted file is built in memory up to this size, then in a temporary file on disk
SPOOL_BYTES = 64 * 1024 * 1024
#: late files are looked for only in compacted hours holding an Avro object written less than
#: this long before the hour's compaction: a run that takes less than this (list to last PUT)
#: cannot have missed an older one, so a steady-state run costs no request per old hour
LATE_CHECK_MARGIN = timedelta(hours=24)
_KEY_TAKEN = "PreconditionFailed"


@dataclass(kw_only=True)
class HourResult:
    hour: Hour
    key: str
    source_objects: int
    source_rows: int
    rows: int
    bytes: int
    #: False when another compactor created the key first
    created: bool


@dataclass(kw_only=True)
class CompactionReport:
    written: list[HourResult] = field(default_factory=list)
    #: hours another compactor (or an earlier run) created while this one worked on them
    lost_races: list[Hour] = field(default_factory=list)
    already_compacted: int = 0
    #: hours not closed yet (the grace period has not passed)
    open_hours: list[Hour] = field(default_factory=list)
    #: compacted hours with Avro objects their compaction did not include: hour -> late keys
    late_files: dict[Hour, list[str]] = field(default_factory=dict)
    #: objects under ``events/`` that are not archive files: skipped, each with why
    bad_objects: list[BadObject] = field(default_factory=list)
    #: closed hours left uncompacted because they hold a bad object
    skipped_hours: list[Hour] = field(default_factory=list)

    @property
    def has_problems(self) -> bool:
        """Something was skipped: compacted, with problems."""
        return bool(self.bad_objects)

    def describe(self) -> list[str]:
        rows = sum(r.rows for r in self.written)
        sources = sum(r.source_objects for r in self.written)
        lines = [
            f"hours compacted now:       {len(self.written)} ({sources} Avro objects, "
            f"{sum(r.source_rows for r in self.written)} rows -> {rows} unique rows, "
            f"{sum(r.bytes for r in self.written)} Parquet bytes)",
            f"hours already compacted:   {self.already_compacted}",
            f"hours compacted by another compactor meanwhile: {len(self.lost_races)}",
            f"hours still open:          {len(self.open_hours)}",
        ]
        for r in self.written:
            lines.append(f"  {r.hour}: {r.source_objects} objects, {r.source_rows} rows -> {r.rows} rows in {r.key}")
        if self.late_files:
            lines.append(
                f"late files (in compacted hours, not in their compaction; reconcile reads them): "
                f"{sum(len(v) for v in self.late_files.values())} in {len(self.late_files)} hours"
            )
        if self.bad_objects:
            lines.append(
                f"hours left uncompacted:    {len(self.skipped_hours)} (they hold objects that are not archive "
                "files: move them out of events/ and run compact again)"
            )
            lines += [f"  skipped: {bad}" for bad in self.bad_objects]
        return lines


@dataclass(frozen=True, kw_only=True)
class CompactedObject:
    """What the compacted object of an hour says about itself (its S3 user metadata)."""

    source_objects: int
    sources_digest: str


def head_compacted(s3: Any, bucket: str, key: str) -> CompactedObject | None:
    """The compacted object at ``key`` (None if absent)."""
    try:
        meta = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise CompactionError(f"HeadObject s3://{bucket}/{key}: {code}", code=code) from exc
    return CompactedObject(
        source_objects=int(meta.get(SOURCE_OBJECTS_META, "0")), sources_digest=meta.get(SOURCES_DIGEST_META, "")
    )


def compacted_sources(s3: Any, bucket: str, hour: Hour, found: CompactedObject) -> dict[str, str | None]:
    """The Avro objects (key -> ETag) the hour's compaction was built from."""
    body = next(iter(fetch_objects(s3, bucket, [sources_key(hour, found.sources_digest)], window=1)))[1]
    try:
        return manifest_sources(body)
    except (ValueError, KeyError, TypeError) as exc:
        key = sources_key(hour, found.sources_digest)
        raise CompactionError(f"{hour}: the manifest {key} is unreadable: {exc}", code="Manifest") from exc


def late_keys(s3: Any, bucket: str, hour: Hour, current: Mapping[str, str]) -> list[str]:
    """The Avro objects of a compacted hour (``current``: key -> ETag now) that its compaction was
    not built from, whatever happened to the ones it was (expired sources hide nothing)."""
    found = head_compacted(s3, bucket, compacted_key(hour))
    if found is None:
        return []
    return late_sources(current, compacted_sources(s3, bucket, hour, found))


def _put_if_absent(s3: Any, bucket: str, key: str, body: Any, **extra: Any) -> bool:
    """Create ``key`` unless it exists: True if this call created it. (A retried PUT whose first
    attempt landed reads as taken: the object is there once either way.)"""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", **extra)
    except ClientError as exc:
        code = error_code(exc)
        if code != _KEY_TAKEN:
            raise CompactionError(f"PutObject s3://{bucket}/{key}: {code}", code=code) from exc
        return False
    return True


def _avro_rows(objects: Iterable[tuple[str, bytes]], bad: list[BadObject]) -> Iterator[dict[str, Any]]:
    for _, rows in readable_rows(objects, bad):
        yield from rows


def _write_winners(
    rows: Callable[[], Iterable[tuple[int, dict[str, Any]]]],
    buckets: int,
    writer: ParquetHourWriter,
    hour: Hour,
    bad: list[BadObject],
) -> int:
    """Each event's latest arrival into ``writer``, bucket by bucket; the rows read. Read r finds
    the winners of bucket r and writes those of bucket r - 1."""
    source_rows = 0
    taking: Winners | None = None
    for r in range(buckets + 1):
        finding = Winners() if r < buckets else None
        for b, row in rows():
            if finding is not None and b == r:
                finding.observe(row)
            elif taking is not None and b == r - 1 and taking.take(row):
                writer.add(row)
        if taking is not None and len(taking):
            # an object changed between reads (it never should: archive objects are create-only)
            raise CompactionError(f"{hour}: {len(taking)} events were not found again", code="Changed")
        if bad:
            raise UnreadableSourcesError(hour, bad)
        if finding is not None:
            source_rows += finding.rows_seen
        taking = finding
    return source_rows


def compact_hour(
    s3: Any,
    bucket: str,
    hour: Hour,
    sources: Mapping[str, str],
    *,
    config: CompactionConfig,
    total_bytes: int | None = None,
) -> HourResult:
    """Compact one hour from ``sources`` (its Avro objects, key -> ETag, ``total_bytes``
    together); creates its key only if absent. UnreadableSourcesError (nothing written) when
    any of them is not an archive file."""
    keys = sorted(sources)
    total = total_bytes if total_bytes is not None else config.pass_bytes + 1
    buckets = buckets_for(total, config.pass_bytes)
    kept = list(fetch_objects(s3, bucket, keys, window=config.window)) if buckets == 1 else None
    bad: list[BadObject] = []

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        objects = kept if kept is not None else fetch_objects(s3, bucket, keys, window=config.window)
        for row in _avro_rows(objects, bad):
            yield bucket_of(str(row["event_id"]), buckets), row

    key = compacted_key(hour)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        writer = ParquetHourWriter(spool, config=config)
        try:
            source_rows = _write_winners(rows, buckets, writer, hour, bad)
        except BaseException:
            writer.discard()  # else its finalizer writes into the closed spool
            raise
        writer.close()
        size = spool.tell()
        if size > S3_MAX_PUT_OBJECT_BYTES:
            raise CompactionError(f"{hour}: {size} bytes is more than one PutObject takes", code="TooLarge")
        # the manifest first: whoever sees the Parquet can read what it was built from
        digest = sources_digest(sources)
        _put_if_absent(s3, bucket, sources_key(hour, digest), sources_manifest(sources))
        spool.seek(0)
        created = _put_if_absent(
            s3,
            bucket,
            key,
            spool,
            ContentLength=size,
            ContentType=PARQUET_CONTENT_TYPE,
            Metadata={
                SOURCE_OBJECTS_META: str(len(keys)),
                ROWS_META: str(writer.rows_written),
                SOURCES_DIGEST_META: digest,
            },
        )
    log.info(
        "%s: %s objects, %s rows -> %s rows in %s bucket(s); created: %s",
        hour,
        len(keys),
        source_rows,
        writer.rows_written,
        buckets,
        created,
    )
    return HourResult(
        hour=hour,
        key=key,
        source_objects=len(keys),
        source_rows=source_rows,
        rows=writer.rows_written,
        bytes=size,
        created=created,
    )


def compact(
    *,
    s3: Any,
    bucket: str,
    config: CompactionConfig | None = None,
    now_ms: int | None = None,
    clock: Callable[[], float] = time.time,
    progress: Progress | None = None,
) -> CompactionReport:
    """Compact every closed hour under ``events/`` that has no compacted object yet."""
    config = config or CompactionConfig()
    now = now_ms if now_ms is not None else int(clock() * 1000)
    progress = progress or Progress(enabled=False)
    avro = listing(s3, bucket, EVENTS_PREFIX)
    by_hour = group_by_hour(avro)
    done = {
        hour: (key, info.last_modified)
        for key, info in listing(s3, bucket, COMPACTED_PREFIX).items()
        if (hour := Hour.of_key(key)) is not None and key == compacted_key(hour)
    }
    report = CompactionReport()
    bar = progress.bar("hours", total=len(by_hour))
    for hour, keys in by_hour.items():
        bar.update()
        if hour in done:
            report.already_compacted += 1
            key, compacted_at = done[hour]
            if all(avro[k].last_modified < compacted_at - LATE_CHECK_MARGIN for k in keys):
                continue  # every object is older than any run that could have missed it
            late = late_keys(s3, bucket, hour, {k: avro[k].etag for k in keys})
            if late:
                report.late_files[hour] = late
                log.warning("%s: %s Avro objects arrived after its compaction", hour, len(late))
            continue
        if not config.is_closed(hour, now):
            report.open_hours.append(hour)
            continue
        try:
            result = _compact_listed(s3, bucket, hour, keys, avro, config)
        except UnreadableSourcesError as exc:
            report.skipped_hours.append(hour)
            report.bad_objects += exc.bad
            for bad in exc.bad:
                log.warning("%s left uncompacted: %s", hour, bad)
            continue
        if result.created:
            report.written.append(result)
        else:
            report.lost_races.append(hour)
    progress.close()
    return report


def _compact_listed(
    s3: Any, bucket: str, hour: Hour, keys: list[str], avro: Mapping[str, ObjectInfo], config: CompactionConfig
) -> HourResult:
    sources = {k: avro[k].etag for k in keys}
    return compact_hour(s3, bucket, hour, sources, config=config, total_bytes=sum(avro[k].size for k in keys))


def describe_json(report: CompactionReport) -> str:
    """The report as one JSON object (for a scheduler's log)."""
    return json.dumps(
        {
            "written": [{"hour": str(r.hour), "rows": r.rows, "sources": r.source_objects} for r in report.written],
            "lost_races": [str(h) for h in report.lost_races],
            "already_compacted": report.already_compacted,
            "open_hours": [str(h) for h in report.open_hours],
            "late_files": {str(h): len(v) for h, v in report.late_files.items()},
            "skipped_hours": [str(h) for h in report.skipped_hours],
            "bad_objects": [bad.as_dict() for bad in report.bad_objects],
        }
    )
