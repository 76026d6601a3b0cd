"""``reconcile()``: the archive in S3 against the table in DynamoDB, with injected clients.

Pass 1 streams every archive object (per-kid latest only, one position range per file); the
table scan follows; pass 2 re-reads only the files whose Kinesis position ranges overlap, to
count records archived twice exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from foundation.avro_objects import BadObject
from foundation.progress import Progress
from schemas import DEFAULT_MAX_FUTURE_SKEW_MS

from ._model import DuplicateFinder, Reconciler, ReconcileReport, duplicates_in
from ._sources import (
    DEAD_LETTER_PREFIX,
    DEFAULT_WINDOW,
    RawArchive,
    count_objects,
    scan_table,
)

log = logging.getLogger(__name__)


class ArchiveReader(Protocol):
    """Where reconcile reads archived rows: the raw Avro (:class:`RawArchive`, the default) or
    any other layout holding the same rows (the compacted archive of :mod:`analytics`)."""

    def keys(self) -> list[str]:
        """Every object to read, in reading order."""
        ...

    def files(self, keys: Iterable[str], *, window: int = ...) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """``(key, rows)`` per object of ``keys``, in that order; objects that are not archive
        files are skipped and added to ``bad_objects``."""
        ...

    @property
    def bad_objects(self) -> list[BadObject]:
        """The objects skipped so far (key, size, why)."""
        ...


def reconcile(
    *,
    s3: Any,
    dynamodb: Any,
    bucket: str,
    table: str,
    progress: Progress | None = None,
    window: int = DEFAULT_WINDOW,
    archive: ArchiveReader | None = None,
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS,
) -> ReconcileReport:
    """Compare the archive with the table; the report's ``ok`` says whether they agree (and no
    archived event lies more than ``max_future_skew_ms`` past its arrival).

    ``archive`` defaults to the raw Avro under ``events/``. A compacted archive holds one row
    per event, so records archived twice are counted only where raw Avro files are read."""
    progress = progress or Progress(enabled=False)
    archive = archive or RawArchive(s3, bucket)
    keys = archive.keys()
    files_bar = progress.bar("archive", total=len(keys))
    rows_bar = progress.bar("rows")
    reconciler = Reconciler(max_future_skew_ms=max_future_skew_ms)
    finder = DuplicateFinder()
    for key, rows in archive.files(keys, window=window):
        for row in rows:
            reconciler.add_archived(row)
            finder.observe(key, row)
        finder.end_file()
        rows_bar.update(len(rows))
        files_bar.update()
    log.info("archive read: %s objects, %s rows", len(keys), reconciler.report.archived_rows)

    items_bar = progress.bar("table items")
    for item in scan_table(dynamodb, table, on_page=items_bar.update):
        reconciler.add_item(item)

    for group in finder.suspect_groups():
        log.info("re-reading %s archive files with overlapping Kinesis positions", len(group))
        rows_of_group = (row for _, rows in archive.files([f.key for f in group], window=window) for row in rows)
        reconciler.add_duplicates(duplicates_in(rows_of_group))

    report = reconciler.finish()
    report.archive_objects = len(keys)
    report.unreadable_objects = list(archive.bad_objects)
    report.dead_letters = count_objects(s3, bucket, DEAD_LETTER_PREFIX)
    progress.close()
    return report


def describe(report: ReconcileReport) -> list[str]:
    """The report as lines of text for a terminal."""
    lines = [
        f"archive objects:                {report.archive_objects}",
        f"archived rows:                  {report.archived_rows}",
        f"kids in the archive:            {report.kids_archived}",
        f"items in the table:             {report.table_items} ({report.naughty} naughty, {report.nice} nice)",
        f"dead letters:                   {report.dead_letters}",
        f"kids missing from the table:    {report.missing_from_table}",
        f"stale items:                    {report.stale_items}",
        f"items differing from archive:   {report.mismatched_items}",
        f"items with no archived event:   {report.items_without_archived_event}",
        f"Kinesis records archived twice: {report.duplicate_records}",
        f"events observed > {report.max_future_skew_ms} ms past arrival: {report.far_future_events}",
        f"unreadable archive objects:     {len(report.unreadable_objects)}",
    ]
    lines += [f"  unreadable (skipped): {bad}" for bad in report.unreadable_objects]
    for kind, found in sorted(report.samples.items()):
        for d in found:
            lines.append(f"  {kind}: kid {d.kid_id}: archive {d.archived} table {d.item}")
    for shard_id, pos in report.duplicate_samples:
        lines.append(f"  archived twice: {shard_id} {pos.sequence_number}/{pos.subsequence_number}")
    for f in report.far_future_samples:
        where = f"{f.shard_id} {f.position.sequence_number}/{f.position.subsequence_number}"
        lines.append(
            f"  far future: kid {f.kid_id} event {f.event_id} observed_at {f.observed_at} is {f.ahead_ms} ms "
            f"past its arrival {f.arrived_at} ({where})"
        )
    lines.append("AGREE" if report.ok else f"DISAGREE: {report.problems} problems")
    return lines
