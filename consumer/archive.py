"""The S3 archive's layout and files: partitioning, object keys, Avro rows; pure, no AWS.

Events go to ``events/dt=YYYY-MM-DD/hour=HH/<shard>-<sequence>-<sub-sequence>.avro`` by the UTC
hour of ``observed_at``; the name is the file's first record. The processor closes every open file
at once and checkpoints right after, so each file it ever wrote starts at the first record of its
partition after some checkpoint. A replay from that checkpoint starts a file with the same first
record in every partition and so lands on the key a crashed worker already used.

Two writers can hold the same file at once: a worker whose lease expired mid-batch (a "zombie")
and the shard's new owner, each with the rows it had read, one a prefix of the other. Neither may
overwrite the other (the smaller file would replace rows the new owner has already checkpointed
past), so files are created only if absent and a writer that finds its key taken stores only
the rows the existing file lacks (:meth:`ArchiveFile.without`), named by the first of them.
Every record then sits in exactly one file, whichever writer comes first.

Dead letters: one ``dead_letter`` v1 file per Kinesis record, holding one row (sub-sequence
number, reason, raw bytes) for each of its user records that the worker refused, at
``dead-letter/dt=YYYY-MM-DD/hour=HH/<shard>-<sequence>-<first refused sub-sequence>.avro`` by the
record's arrival. A 1 MiB aggregate of 175,000 bad user records is one PUT, not 175,000. A replay
lands on the same key and, like an archive file, stores only the rows the object lacks.

Memory stays bounded for records of many parts: a :class:`DeadLetterFile` holds the refused
user records it was made from (the processor holds them anyway), never their rows; its body is
encoded when it is uploaded, streaming (:mod:`consumer._dead_letter_avro`), and its rows are
built one at a time when asked for.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, overload

import fastavro

from schemas import ARCHIVED_EVENT, DEAD_LETTER, latest

from ._dead_letter_avro import encode_dead_letters
from .records import DecodedEvent, Undecodable, record_name

EVENTS_PREFIX = "events"
DEAD_LETTER_PREFIX = "dead-letter"
#: Athena reads deflate-compressed Avro; it needs no extra package.
AVRO_CODEC = "deflate"
#: A dead letter's reason is cut to this many characters (a reason may quote the bad value).
MAX_REASON_CHARS = 1000
#: Rough bytes a row adds beyond its strings (numbers, union tags, Avro framing).
_ROW_OVERHEAD_BYTES = 64


def partition(epoch_ms: int) -> str:
    """``dt=YYYY-MM-DD/hour=HH`` of a UTC instant."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return f"dt={moment:%Y-%m-%d}/hour={moment:%H}"


def event_key(observed_at_ms: int, first_record_name: str) -> str:
    return f"{EVENTS_PREFIX}/{partition(observed_at_ms)}/{first_record_name}.avro"


def dead_letter_key(arrived_at_ms: int, name: str) -> str:
    return f"{DEAD_LETTER_PREFIX}/{partition(arrived_at_ms)}/{name}.avro"


def to_row(decoded: DecodedEvent) -> dict[str, Any]:
    """One ``archived_event`` v1 row."""
    event, record = decoded.event, decoded.record
    return {
        "event_id": event["event_id"],
        "kid_id": event["kid_id"],
        "elf_id": event["elf_id"],
        "behaviour": event["behaviour"],
        "observed_at": int(event["observed_at"]),
        "note": event.get("note"),
        "location": event.get("location"),
        "app_version": event.get("app_version"),
        "schema_fingerprint": decoded.writer_fingerprint_hex,
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "subsequence_number": record.subsequence_number,
        "partition_key": record.partition_key,
        "arrived_at": record.arrived_at_ms,
    }


def encode_rows(rows: Iterable[dict[str, Any]], schema_name: str = ARCHIVED_EVENT) -> bytes:
    """An Avro object container file holding ``rows``."""
    buffer = io.BytesIO()
    fastavro.writer(buffer, latest(schema_name).parsed, rows, codec=AVRO_CODEC)
    return buffer.getvalue()


def read_rows(body: bytes) -> list[dict[str, Any]]:
    """Rows of an Avro object container file (tests, reconciliation)."""
    return list(iter_rows(body))


def iter_rows(body: bytes) -> Iterator[dict[str, Any]]:
    """Rows of an Avro object container file, one at a time."""
    for row in fastavro.reader(io.BytesIO(body)):
        if isinstance(row, dict):
            yield dict(row)


def short_reason(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    """``reason`` cut to ``limit`` characters, saying how much was cut."""
    if len(reason) <= limit:
        return reason
    return f"{reason[:limit]}... ({len(reason) - limit} more characters)"


def dead_letter_row(undecodable: Undecodable, failed_at_ms: int) -> dict[str, Any]:
    """One ``dead_letter`` v1 row: the refused user record's identity, raw bytes and reason."""
    record = undecodable.record
    return {
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "subsequence_number": record.subsequence_number,
        "partition_key": record.partition_key,
        "arrived_at": record.arrived_at_ms,
        "failed_at": failed_at_ms,
        "reason": short_reason(undecodable.reason),
        "data": record.data,
    }


def dead_letter_files(refused: Iterable[Undecodable], failed_at_ms: int) -> list[DeadLetterFile]:
    """One dead-letter file per Kinesis record (shard, sequence number) among ``refused``, holding
    a row for each of its refused user records in sub-sequence order; files in first-seen order."""
    groups: dict[tuple[str, str], list[Undecodable]] = {}
    for item in refused:
        record = item.record
        groups.setdefault((record.shard_id, record.sequence_number), []).append(item)
    return [DeadLetterFile(items, failed_at_ms) for items in groups.values()]


@dataclass(slots=True)
class _OpenFile:
    key: str
    opened_at: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    approx_bytes: int = 0


def record_id(row: dict[str, Any]) -> tuple[str, str, int]:
    """The Kinesis identity of an archived row: shard, sequence number, sub-sequence number."""
    return str(row["shard_id"]), str(row["sequence_number"]), int(row["subsequence_number"])


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """A closed file, ready to upload: its key, its Avro body and the rows in it."""

    key: str
    body: bytes
    rows: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, rows: Iterable[dict[str, Any]]) -> ArchiveFile:
        """The file of ``rows`` (``to_row`` rows, in Kinesis order), named by the first of them."""
        kept = tuple(rows)
        if not kept:
            raise ValueError("an archive file needs at least one row")
        first = kept[0]
        name = record_name(*record_id(first))
        return cls(event_key(int(first["observed_at"]), name), encode_rows(kept), kept)

    def without(self, existing: Iterable[dict[str, Any]]) -> ArchiveFile | None:
        """This file minus the records ``existing`` rows already hold; None when nothing is left."""
        held = {record_id(row) for row in existing}
        rest = [row for row in self.rows if record_id(row) not in held]
        return ArchiveFile.of(rest) if rest else None


class DeadLetterRows(Sequence[dict[str, Any]]):
    """The ``dead_letter_row`` rows of a dead-letter file, each built when asked for."""

    __slots__ = ("_items", "_failed_at_ms")

    def __init__(self, items: Sequence[Undecodable], failed_at_ms: int) -> None:
        self._items = items
        self._failed_at_ms = failed_at_ms

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [dead_letter_row(item, self._failed_at_ms) for item in self._items[index]]
        return dead_letter_row(self._items[index], self._failed_at_ms)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for item in self._items:
            yield dead_letter_row(item, self._failed_at_ms)


class DeadLetterFile:
    """The dead letters of one Kinesis record, refused at ``failed_at_ms``: its key, its rows (one
    per refused user record, in sub-sequence order, built when read) and its Avro body (encoded,
    streaming, each time it is read: read it once per upload)."""

    __slots__ = ("key", "items", "failed_at_ms")

    def __init__(self, items: Iterable[Undecodable], failed_at_ms: int) -> None:
        ordered = sorted(items, key=lambda item: item.record.subsequence_number)  # linear when in order
        if not ordered:
            raise ValueError("a dead-letter file needs at least one row")
        first = ordered[0].record
        self.items: tuple[Undecodable, ...] = tuple(ordered)
        self.failed_at_ms = failed_at_ms
        self.key = dead_letter_key(first.arrived_at_ms, first.name)

    @property
    def rows(self) -> DeadLetterRows:
        return DeadLetterRows(self.items, self.failed_at_ms)

    @property
    def body(self) -> bytes:
        return encode_dead_letters(
            latest(DEAD_LETTER).schema,
            self.items,
            failed_at_ms=self.failed_at_ms,
            reason_of=lambda item: short_reason(item.reason),
            sync=hashlib.blake2b(f"{self.key}|{self.failed_at_ms}".encode(), digest_size=16).digest(),
        )

    def without(self, existing: Iterable[dict[str, Any]]) -> DeadLetterFile | None:
        """This file minus the user records ``existing`` rows already hold; None when nothing is left."""
        held = {record_id(row) for row in existing}
        rest = [item for item in self.items if _item_id(item) not in held]
        return DeadLetterFile(rest, self.failed_at_ms) if rest else None


def _item_id(item: Undecodable) -> tuple[str, str, int]:
    record = item.record
    return record.shard_id, record.sequence_number, record.subsequence_number


class StoredFile(Protocol):
    """What the S3 sink stores create-only: an archive file or a dead-letter file."""

    @property
    def key(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def rows(self) -> Sequence[dict[str, Any]]: ...
    def without(self, existing: Iterable[dict[str, Any]]) -> StoredFile | None: ...


class ArchiveBuffer:
    """Open files of one shard, one per UTC hour partition, closed all together.

    ``should_close(now)`` is true when a file reached ``max_file_bytes`` (estimated, before
    compression) or the oldest open file is ``max_file_age_s`` old; ``now`` is a monotonic clock.
    """

    def __init__(self, *, max_file_bytes: int, max_file_age_s: float) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_file_age_s = max_file_age_s
        self._open: dict[str, _OpenFile] = {}
        self._oldest: float | None = None
        self._largest = 0

    def __len__(self) -> int:
        """Rows buffered."""
        return sum(len(f.rows) for f in self._open.values())

    def add(self, decoded: DecodedEvent, now: float) -> None:
        observed_at = int(decoded.event["observed_at"])
        part = partition(observed_at)
        current = self._open.get(part)
        if current is None:
            current = self._open[part] = _OpenFile(event_key(observed_at, decoded.record.name), now)
            if self._oldest is None:
                self._oldest = now
        row = to_row(decoded)
        current.rows.append(row)
        current.approx_bytes += _ROW_OVERHEAD_BYTES + sum(len(v) for v in row.values() if isinstance(v, str))
        self._largest = max(self._largest, current.approx_bytes)

    def should_close(self, now: float) -> bool:
        if not self._open:
            return False
        if self._largest >= self.max_file_bytes:
            return True
        return self._oldest is not None and now - self._oldest >= self.max_file_age_s

    def close_all(self) -> list[ArchiveFile]:
        """Encode and forget every open file."""
        files = [ArchiveFile(f.key, encode_rows(f.rows), tuple(f.rows)) for f in self._open.values()]
        self.discard()
        return files

    def discard(self) -> None:
        """Forget every open file (lease lost: the next owner replays them)."""
        self._open.clear()
        self._oldest = None
        self._largest = 0
