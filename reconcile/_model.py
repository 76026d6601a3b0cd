"""Reconciliation of the S3 archive with the DynamoDB table: pure logic, no AWS.

The rule the worker promises: for every kid, the table's item is the latest archived event of
that kid by ``(observed_at, event_id)``. :class:`Reconciler` checks it in one streaming pass over
the archive (keeping only the latest event per kid) followed by one over the table.

Events archived with an ``observed_at`` far past their arrival (more than
``max_future_skew_ms`` after the record's ``arrived_at``) are a problem of their own: last writer
wins by ``observed_at``, so such an event pins its kid's item and hides every later report, while
archive and table still agree. Today's worker dead-letters them; older archives may hold some.

Records archived twice are found without remembering every record: :class:`DuplicateFinder`
keeps one ``(first, last)`` Kinesis position range per archive file and only re-reads the files
whose ranges overlap within a shard (a replay that did not land on the same object key), so
memory grows with the number of files, not of events.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from foundation.avro_objects import BadObject
from schemas import DEFAULT_MAX_FUTURE_SKEW_MS, to_epoch_ms

#: how many examples of each kind of disagreement a report keeps (counts are always complete)
DEFAULT_SAMPLE_SIZE = 20


class EventState(NamedTuple):
    """The fields of an event that the table's item must repeat, normalised for comparison."""

    observed_at: int
    event_id: str
    behaviour: str
    elf_id: str
    note: str | None
    location: tuple[float, float] | None
    app_version: str | None

    @property
    def order(self) -> tuple[int, str]:
        """Last writer wins by this key."""
        return (self.observed_at, self.event_id)


class Position(NamedTuple):
    """Where Kinesis held a record: comparable within one shard."""

    sequence_number: int
    subsequence_number: int


def _millis(value: Any) -> int:
    if isinstance(value, datetime):
        return to_epoch_ms(value)
    return int(value)


def _location(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    return (float(value["lat"]), float(value["lon"]))


def event_state(record: Mapping[str, Any]) -> EventState:
    """The comparable state of an archived row or a table item (both use the same field names;
    numbers may be ``Decimal`` from DynamoDB or ``datetime`` from fastavro's logical types)."""
    return EventState(
        observed_at=_millis(record["observed_at"]),
        event_id=str(record["event_id"]),
        behaviour=str(record["behaviour"]),
        elf_id=str(record["elf_id"]),
        note=record.get("note"),
        location=_location(record.get("location")),
        app_version=record.get("app_version"),
    )


def position(record: Mapping[str, Any]) -> Position:
    return Position(int(record["sequence_number"]), int(record["subsequence_number"]))


@dataclass(frozen=True, kw_only=True)
class Disagreement:
    """One kid whose item does not match its latest archived event."""

    kid_id: str
    archived: EventState | None
    item: EventState | None


@dataclass(frozen=True, kw_only=True)
class FutureEvent:
    """An archived event observed further past its arrival than the skew bound allows."""

    kid_id: str
    event_id: str
    observed_at: int
    arrived_at: int
    shard_id: str
    position: Position

    @property
    def ahead_ms(self) -> int:
        return self.observed_at - self.arrived_at


@dataclass(kw_only=True)
class ReconcileReport:
    """What a reconciliation found. Counts are exact; the lists keep the first few examples."""

    archive_objects: int = 0
    archived_rows: int = 0
    kids_archived: int = 0
    table_items: int = 0
    naughty: int = 0
    nice: int = 0
    dead_letters: int = 0
    #: kids with archived events but no item
    missing_from_table: int = 0
    #: items older than the kid's latest archived event
    stale_items: int = 0
    #: items naming the latest archived event but holding different fields
    mismatched_items: int = 0
    #: items whose event is not in the archive (kid never archived, or item newer than the archive)
    items_without_archived_event: int = 0
    #: Kinesis records (shard, sequence, sub-sequence) present in the archive more than once
    duplicate_records: int = 0
    #: archived events whose observed_at lies more than the skew bound past their arrival
    far_future_events: int = 0
    #: the bound used for ``far_future_events``
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
    #: ``written_at - observed_at`` of every item that has both, in ms (end-to-end latency)
    latencies_ms: list[int] = field(default_factory=list, repr=False)
    samples: dict[str, list[Disagreement]] = field(default_factory=lambda: defaultdict(list), repr=False)
    duplicate_samples: list[tuple[str, Position]] = field(default_factory=list, repr=False)
    far_future_samples: list[FutureEvent] = field(default_factory=list, repr=False)
    #: archive objects skipped because they are not archive files (key, size, why)
    unreadable_objects: list[BadObject] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return (
            self.missing_from_table
            + self.stale_items
            + self.mismatched_items
            + self.items_without_archived_event
            + self.duplicate_records
            + self.far_future_events
            + len(self.unreadable_objects)
        )

    @property
    def ok(self) -> bool:
        """The archive and the table agree, no record was archived twice, no archived event
        lies beyond the future-skew bound and every archive object could be read."""
        return self.problems == 0

    def latency_percentile(self, fraction: float) -> int | None:
        """Nearest-rank percentile of the end-to-end latencies, None when there are none."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), math.ceil(round(fraction * len(ordered), 9))))
        return ordered[rank - 1]


class Reconciler:
    """Feed it every archived row, then every table item; ``finish()`` returns the report.

    Memory: one :class:`EventState` per kid.
    """

    def __init__(
        self, *, sample_size: int = DEFAULT_SAMPLE_SIZE, max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
    ) -> None:
        self._latest: dict[str, EventState] = {}
        self._sample_size = sample_size
        self.report = ReconcileReport(max_future_skew_ms=max_future_skew_ms)
        self._scanning_table = False

    def add_archived(self, row: Mapping[str, Any]) -> None:
        if self._scanning_table:
            raise RuntimeError("every archived row must come before the first table item")
        self.report.archived_rows += 1
        state = event_state(row)
        kid = str(row["kid_id"])
        arrived_at = row.get("arrived_at")
        if arrived_at is not None and state.observed_at - _millis(arrived_at) > self.report.max_future_skew_ms:
            self.report.far_future_events += 1
            if len(self.report.far_future_samples) < self._sample_size:
                self.report.far_future_samples.append(
                    FutureEvent(
                        kid_id=kid,
                        event_id=state.event_id,
                        observed_at=state.observed_at,
                        arrived_at=_millis(arrived_at),
                        shard_id=str(row["shard_id"]),
                        position=position(row),
                    )
                )
        current = self._latest.get(kid)
        if current is None or state.order > current.order:
            self._latest[kid] = state

    def add_item(self, item: Mapping[str, Any]) -> None:
        report = self.report
        if not self._scanning_table:
            self._scanning_table = True
            report.kids_archived = len(self._latest)
        report.table_items += 1
        kid = str(item["kid_id"])
        state = event_state(item)
        if state.behaviour == "NAUGHTY":
            report.naughty += 1
        elif state.behaviour == "NICE":
            report.nice += 1
        written_at = item.get("written_at")
        if written_at is not None:
            report.latencies_ms.append(_millis(written_at) - state.observed_at)
        archived = self._latest.pop(kid, None)
        if archived is None or state.order > archived.order:
            report.items_without_archived_event += 1
            self._sample("items_without_archived_event", kid, archived, state)
        elif state.order < archived.order:
            report.stale_items += 1
            self._sample("stale_items", kid, archived, state)
        elif state != archived:
            report.mismatched_items += 1
            self._sample("mismatched_items", kid, archived, state)

    def add_duplicates(self, duplicates: Iterable[tuple[str, Position]]) -> None:
        for shard_id, pos in duplicates:
            self.report.duplicate_records += 1
            if len(self.report.duplicate_samples) < self._sample_size:
                self.report.duplicate_samples.append((shard_id, pos))

    def finish(self) -> ReconcileReport:
        """Kids still unmatched after the table scan are missing from the table."""
        report = self.report
        if not self._scanning_table:
            report.kids_archived = len(self._latest)
        for kid, archived in self._latest.items():
            report.missing_from_table += 1
            self._sample("missing_from_table", kid, archived, None)
        self._latest.clear()
        return report

    def _sample(self, kind: str, kid: str, archived: EventState | None, item: EventState | None) -> None:
        found = self.report.samples[kind]
        if len(found) < self._sample_size:
            found.append(Disagreement(kid_id=kid, archived=archived, item=item))


@dataclass(frozen=True)
class ArchiveFile:
    """One archive object's Kinesis position range (all its records come from one shard)."""

    key: str
    shard_id: str
    first: Position
    last: Position
    #: positions were not strictly increasing inside the file: it may repeat a record itself
    unordered: bool = False


class DuplicateFinder:
    """Finds Kinesis records archived more than once with memory proportional to files.

    Pass 1: :meth:`observe` each row of a file (cheap), :meth:`end_file` after it. Then
    :meth:`suspect_groups` names the sets of files that could share a record (overlapping
    ranges within a shard, or a file with out-of-order positions); pass 2 re-reads only those
    and :func:`duplicates_in` counts the repeats exactly.
    """

    def __init__(self) -> None:
        self._files: dict[str, list[ArchiveFile]] = defaultdict(list)
        self._open: tuple[str, str, Position, Position, bool] | None = None

    def observe(self, key: str, row: Mapping[str, Any]) -> None:
        pos = position(row)
        shard_id = str(row["shard_id"])
        if self._open is None or self._open[0] != key:
            self._open = (key, shard_id, pos, pos, False)
            return
        _, open_shard, first, last, unordered = self._open
        unordered = unordered or pos <= last or shard_id != open_shard
        self._open = (key, open_shard, min(first, pos), max(last, pos), unordered)

    def end_file(self) -> None:
        if self._open is not None:
            key, shard_id, first, last, unordered = self._open
            self._files[shard_id].append(ArchiveFile(key, shard_id, first, last, unordered))
            self._open = None

    @property
    def files(self) -> int:
        return sum(len(v) for v in self._files.values())

    def suspect_groups(self) -> Iterator[list[ArchiveFile]]:
        """Groups of files (each within one shard) that must be re-read to count duplicates."""
        for shard_files in self._files.values():
            ordered = sorted(shard_files, key=lambda f: (f.first, f.last))
            group: list[ArchiveFile] = []
            group_last: Position | None = None
            for f in ordered:
                if group_last is not None and f.first <= group_last:
                    group.append(f)
                    group_last = max(group_last, f.last)
                    continue
                if len(group) > 1 or (group and group[0].unordered):
                    yield group
                group, group_last = [f], f.last
            if len(group) > 1 or (group and group[0].unordered):
                yield group


def duplicates_in(rows: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, Position]]:
    """Each repeat of a (shard, position) among ``rows``, once per extra copy."""
    seen: set[tuple[str, Position]] = set()
    for row in rows:
        ident = (str(row["shard_id"]), position(row))
        if ident in seen:
            yield ident
        else:
            seen.add(ident)


def plain_number(value: Any) -> Any:
    """DynamoDB numbers arrive as Decimal: integers become int, others float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain_number(v) for k, v in value.items()}
    return value
