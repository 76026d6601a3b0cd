"""Compacting the archive, the pure part: which hours are closed, one row per event, the Parquet.

The archive is ``events/dt=YYYY-MM-DD/hour=HH/*.avro`` by the UTC hour of ``observed_at`` (see
:mod:`consumer.archive`); every hour holds many small files (one per shard per file close) and
producer re-sends as extra rows. Compaction turns one *closed* hour into one Parquet object at a
key that depends on the hour only (:func:`compacted_key`), so a rerun, a crash mid-run or two
compactors at once all aim at the same key and a create-only PUT lets exactly one of them win.

Closing rule (a grace period, not the KCL checkpoints): an hour is closed once it ended at least
``grace_ms`` ago. The partition is the hour of ``observed_at``, not of arrival, so a checkpoint
past an hour would not close it either (a phone that was offline reports into old hours); the
grace covers the workers' file age plus their checkpoint lag plus normal reporting delay. Files
that still land in an hour after it was compacted ("late files") are found by the compactor
from the manifest of what the Parquet was built from (every source's key and ETag, see
:func:`late_sources`), never by counting objects, so a late file is seen even after the Avro
the hour was built from has expired; reconcile reads them beside the Parquet.

One row per ``event_id``: the latest Kinesis arrival, ordered by ``(arrived_at, shard_id,
sequence_number as a number, subsequence_number)``, the order the ``events_unique`` view uses.
An event's copies share ``observed_at`` and so its hour: de-duplicating per hour is complete.

Memory per hour is bounded: :class:`Winners` keeps one small tuple per distinct event of the
bucket being de-duplicated (an hour bigger than ``pass_bytes`` of Avro is split into buckets of
events by CRC-32 of ``event_id`` and read once per bucket, plus once), and
:class:`ParquetHourWriter` buffers at most one row group as Arrow columns.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import schemas
from foundation.avro_objects import BadObject, UnreadableObjectError, read_container
from foundation.errors import ConfigError

EVENTS_PREFIX = "events/"
COMPACTED_PREFIX = "compacted/"
DEAD_LETTER_PREFIX = "dead-letter/"
#: S3 user metadata on the compacted object (``x-amz-meta-*``): how many source objects and rows,
#: and the digest naming the object that lists the sources (:func:`sources_key`)
SOURCE_OBJECTS_META = "source-objects"
ROWS_META = "rows"
SOURCES_DIGEST_META = "sources-digest"
COMPACTED_FILE_NAME = "events.parquet"
#: the manifest's format: 1 was a JSON list of keys; 2 is ``{"format": 2, "sources": [{key, etag}]}``
MANIFEST_FORMAT = 2
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
#: an hour is closed this long after it ended (worker file age + checkpoint lag + reporting delay)
DEFAULT_GRACE_MS = 2 * 3600 * 1000
#: Athena reads Parquet row groups in parallel and likes tens of MB per group; a row takes about
#: 80 B compressed here (UUIDs and sequence numbers hardly compress) and ~300 B as Arrow while
#: buffered, so 500 k rows ~ 40 MB on S3 and ~150 MB of memory.
DEFAULT_ROW_GROUP_ROWS = 500_000
#: about 100-200 B of Avro per row, ~400 B per distinct event in :class:`Winners`: ~150 MB
DEFAULT_PASS_BYTES = 64 * 1024 * 1024
#: rows converted from Python dicts to Arrow at a time (bounds the dict buffer)
ARROW_BATCH_ROWS = 10_000
COMPRESSIONS = ("zstd", "snappy", "gzip")

_HOUR_IN_KEY = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/")
_HOUR_MS = 3600 * 1000


@dataclass(frozen=True, order=True, slots=True)
class Hour:
    """One ``dt=/hour=`` partition."""

    dt: str
    hour: str

    @classmethod
    def of_key(cls, key: str) -> Hour | None:
        """The partition an object key lies in, or None if it lies in none."""
        match = _HOUR_IN_KEY.search(key)
        return cls(match.group(1), match.group(2)) if match else None

    @classmethod
    def of_ms(cls, epoch_ms: int) -> Hour:
        moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
        return cls(f"{moment:%Y-%m-%d}", f"{moment:%H}")

    @property
    def start_ms(self) -> int:
        start = datetime.strptime(f"{self.dt} {self.hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
        return schemas.to_epoch_ms(start)

    @property
    def end_ms(self) -> int:
        return self.start_ms + _HOUR_MS

    @property
    def partition(self) -> str:
        return f"dt={self.dt}/hour={self.hour}"

    def __str__(self) -> str:
        return self.partition


def compacted_key(hour: Hour) -> str:
    """The one key an hour's compacted Parquet may have: it depends on the hour only."""
    return f"{COMPACTED_PREFIX}{hour.partition}/{COMPACTED_FILE_NAME}"


def sources_digest(sources: Mapping[str, str | None] | Iterable[str]) -> str:
    """A digest of a compaction's sources (Avro key -> ETag, or keys alone): names its manifest."""
    if isinstance(sources, Mapping):
        lines = [f"{key} {sources[key] or ''}" for key in sorted(sources)]
    else:
        lines = sorted(sources)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def sources_key(hour: Hour, digest: str) -> str:
    """Where the manifest of a compaction's sources lives: content-addressed, so competing
    compactors never disagree about it; the leading ``_`` makes Athena skip it. Kept out of the
    Parquet footer, which every query reads."""
    return f"{COMPACTED_PREFIX}{hour.partition}/_sources-{digest}.json"


def sources_manifest(sources: Mapping[str, str]) -> bytes:
    """The manifest of a compaction: every Avro object it was built from, by key and ETag."""
    entries = [{"key": key, "etag": sources[key]} for key in sorted(sources)]
    return json.dumps({"format": MANIFEST_FORMAT, "sources": entries}).encode()


def manifest_sources(body: bytes) -> dict[str, str | None]:
    """Avro key -> ETag of a manifest (ETag None in the first format, a bare list of keys)."""
    loaded = json.loads(body)
    if isinstance(loaded, list):
        return {str(key): None for key in loaded}
    return {str(e["key"]): (str(e["etag"]) if e.get("etag") else None) for e in loaded["sources"]}


def late_sources(current: Mapping[str, str], built_from: Mapping[str, str | None]) -> list[str]:
    """The Avro keys of an hour (key -> ETag now) that its compaction was not built from: a key
    it did not read, or one whose ETag changed since (re-created after it expired). Objects the
    compaction read that are gone now (expired) are no concern. Sorted."""
    late = []
    for key, etag in current.items():
        if key not in built_from or built_from[key] is not None and built_from[key] != etag:
            late.append(key)
    return sorted(late)


@dataclass(frozen=True, kw_only=True)
class CompactionConfig:
    grace_ms: int = DEFAULT_GRACE_MS
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
    compression: str = "zstd"
    #: archive objects fetched concurrently per hour
    window: int = 8
    #: Avro bytes de-duplicated at a time: an hour with at most this many is fetched once and
    #: kept in memory; a bigger one is split into :func:`buckets_for` buckets of events (by
    #: CRC-32 of event_id) and every object is fetched once per bucket plus once
    pass_bytes: int = DEFAULT_PASS_BYTES

    def __post_init__(self) -> None:
        if self.grace_ms < 0:
            raise ConfigError("grace_ms", "must not be negative")
        if self.row_group_rows < 1:
            raise ConfigError("row_group_rows", "must be at least 1")
        if self.compression not in COMPRESSIONS:
            raise ConfigError("compression", f"must be one of {', '.join(COMPRESSIONS)}")
        if self.window < 1:
            raise ConfigError("window", "must be at least 1")
        if self.pass_bytes < 1:
            raise ConfigError("pass_bytes", "must be at least 1")

    def is_closed(self, hour: Hour, now_ms: int) -> bool:
        """The closing rule: the hour ended at least ``grace_ms`` before ``now_ms``."""
        return hour.end_ms + self.grace_ms <= now_ms


def group_by_hour(keys: Iterable[str]) -> dict[Hour, list[str]]:
    """Keys per partition, each list sorted (the order files are read and rows written in);
    keys outside any partition are left out."""
    found: dict[Hour, list[str]] = {}
    for key in keys:
        hour = Hour.of_key(key)
        if hour is not None:
            found.setdefault(hour, []).append(key)
    return {hour: sorted(found[hour]) for hour in sorted(found)}


def buckets_for(total_bytes: int, pass_bytes: int) -> int:
    """How many buckets of events an hour of ``total_bytes`` of Avro is de-duplicated in."""
    return max(1, -(-total_bytes // pass_bytes))


def bucket_of(event_id: str, buckets: int) -> int:
    """The bucket of an event: stable across processes (CRC-32, not Python's salted hash)."""
    return zlib.crc32(event_id.encode()) % buckets if buckets > 1 else 0


def arrival_order(row: Mapping[str, Any]) -> tuple[int, str, int, str, int]:
    """Later Kinesis arrivals compare greater; sequence numbers compare as numbers (by length,
    then text: the same order SQL gets from ``length(sequence_number), sequence_number``)."""
    sequence = str(row["sequence_number"])
    return (_millis(row["arrived_at"]), str(row["shard_id"]), len(sequence), sequence, int(row["subsequence_number"]))


class Winners:
    """Pass 1 finds each event's latest arrival; pass 2 lets exactly that row through, once
    (a Kinesis record archived in two files has the same order and is taken once)."""

    def __init__(self) -> None:
        self._best: dict[str, tuple[int, str, int, str, int]] = {}
        self.rows_seen = 0

    def observe(self, row: Mapping[str, Any]) -> None:
        self.rows_seen += 1
        event_id = str(row["event_id"])
        order = arrival_order(row)
        best = self._best.get(event_id)
        if best is None or order > best:
            self._best[event_id] = order

    def __len__(self) -> int:
        return len(self._best)

    def take(self, row: Mapping[str, Any]) -> bool:
        """True for the winning row of its event the first time it is offered."""
        event_id = str(row["event_id"])
        if self._best.get(event_id) == arrival_order(row):
            del self._best[event_id]
            return True
        return False


def dedupe(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One row per event (the latest arrival), in input order: the in-memory form of the two passes."""
    kept = list(rows)
    winners = Winners()
    for row in kept:
        winners.observe(row)
    return [row for row in kept if winners.take(row)]


# --- Avro and Arrow ----------------------------------------------------------------------------


def _millis(value: Any) -> int:
    if isinstance(value, datetime):
        return schemas.to_epoch_ms(value)
    return int(value)


def read_avro(data: bytes, schema_name: str = schemas.ARCHIVED_EVENT) -> list[dict[str, Any]]:
    """Rows of one Avro container file of ``schema_name``, timestamps as epoch milliseconds (as
    Athena reads them); :class:`~foundation.avro_objects.UnreadableObjectError` when ``data`` is
    empty, truncated, not Avro or of a foreign schema."""
    return [
        {k: schemas.to_epoch_ms(v) if isinstance(v, datetime) else v for k, v in record.items()}
        for record in read_container(data, schemas.latest(schema_name).parsed)
    ]


def readable_rows(
    objects: Iterable[tuple[str, bytes]], bad: list[BadObject], schema_name: str = schemas.ARCHIVED_EVENT
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(key, rows)`` of every object that reads as ``schema_name``; the others are appended
    to ``bad`` (key, size, why) and skipped."""
    for key, body in objects:
        try:
            rows = read_avro(body, schema_name)
        except UnreadableObjectError as exc:
            bad.append(BadObject(key, len(body), exc.reason))
            continue
        yield key, rows


def arrow_type(avro: Any) -> Any:
    """The Arrow type of an Avro type (nullable unions map to their one branch)."""
    import pyarrow as pa

    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            raise ConfigError("schema", f"only [null, T] unions map to Arrow, got {avro}")
        return arrow_type(branches[0])
    if isinstance(avro, dict):
        kind = avro["type"]
        if kind == "record":
            return pa.struct([pa.field(f["name"], arrow_type(f["type"])) for f in avro["fields"]])
        if kind == "enum":
            return pa.string()
        if kind == "array":
            return pa.list_(arrow_type(avro["items"]))
        if kind == "map":
            return pa.map_(pa.string(), arrow_type(avro["values"]))
        return arrow_type(kind)
    simple = {
        "string": pa.string(),
        "long": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "float": pa.float32(),
        "boolean": pa.bool_(),
        "bytes": pa.binary(),
    }
    if avro not in simple:
        raise ConfigError("schema", f"no Arrow type for Avro {avro!r}")
    return simple[avro]


def arrow_schema(schema_name: str = schemas.ARCHIVED_EVENT) -> Any:
    """The Arrow schema of a published Avro record schema (timestamps as int64 milliseconds)."""
    import pyarrow as pa

    avro = schemas.latest(schema_name).schema
    return pa.schema(
        [pa.field(f["name"], arrow_type(f["type"]), nullable=isinstance(f["type"], list)) for f in avro["fields"]]
    )


def arrow_table(rows: Iterable[Mapping[str, Any]], schema_name: str = schemas.ARCHIVED_EVENT) -> Any:
    """Rows as an Arrow table of :func:`arrow_schema` (datetimes become epoch milliseconds)."""
    import pyarrow as pa

    schema = arrow_schema(schema_name)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    timestamps = {f["name"] for f in schemas.latest(schema_name).schema["fields"] if _is_timestamp(f["type"])}
    for row in rows:
        for name, values in columns.items():
            value = row.get(name)
            values.append(_millis(value) if name in timestamps and value is not None else value)
    return pa.Table.from_pydict(columns, schema=schema)


def _is_timestamp(avro: Any) -> bool:
    return isinstance(avro, dict) and avro.get("logicalType") in ("timestamp-millis", "timestamp-micros")


class ParquetHourWriter:
    """One hour's rows into one Parquet file: rows buffered as Arrow, a row group written each
    ``row_group_rows``."""

    def __init__(self, sink: IO[bytes], *, config: CompactionConfig) -> None:
        import pyarrow.parquet as pq

        self._config = config
        self._schema = arrow_schema()
        self._writer = pq.ParquetWriter(
            sink,
            self._schema,
            compression=config.compression,
            write_statistics=True,
            use_dictionary=True,
        )
        self._rows: list[Mapping[str, Any]] = []
        self._batches: list[Any] = []
        self._buffered = 0
        self.rows_written = 0

    def add(self, row: Mapping[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= ARROW_BATCH_ROWS:
            self._to_arrow()
        if self._buffered + len(self._rows) >= self._config.row_group_rows:
            self._flush()

    def _to_arrow(self) -> None:
        if self._rows:
            self._batches.append(arrow_table(self._rows))
            self._buffered += len(self._rows)
            self._rows = []

    def _flush(self) -> None:
        import pyarrow as pa

        self._to_arrow()
        if self._batches:
            table = pa.concat_tables(self._batches).combine_chunks()
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self.rows_written += table.num_rows
            self._batches = []
            self._buffered = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def discard(self) -> None:
        """Give up on this file: close the writer without flushing (its sink is thrown away)."""
        self._rows, self._batches, self._buffered = [], [], 0
        self._writer.close()
