"""Dead letters as the worker writes them, the pure part: keys, hours, markers, summaries, parts
and PutRecords batches. No AWS.

The worker writes one ``dead_letter`` Avro file per Kinesis record whose user records it
refused, at ``dead-letter/dt=YYYY-MM-DD/hour=HH/<shard>-<sequence>-<first sub-sequence>.avro``
(by the record's arrival), one row per refused user record: shard, sequence and sub-sequence
number, partition key, arrival and failure times, the reason and the user record's bytes (see
``consumer.archive``). A redrive leaves two create-only markers per dead letter beside them,
outside ``dead-letter/`` (so Athena's dead-letter table never reads them):
``dead-letter-redrive/claimed/<dt>/<hour>/<name>.json`` written before the first record is put,
``dead-letter-redrive/done/...`` after the last.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foundation.errors import ConfigError
from foundation.kpl import MAGIC as KPL_MAGIC
from foundation.limits import KINESIS_MAX_BYTES_PER_PUT, KINESIS_MAX_RECORDS_PER_PUT
from schemas import SchemaError, decode_event, validate_event

DEAD_LETTER_PREFIX = "dead-letter/"
REDRIVE_PREFIX = "dead-letter-redrive/"
CLAIMED_PREFIX = f"{REDRIVE_PREFIX}claimed/"
DONE_PREFIX = f"{REDRIVE_PREFIX}done/"
#: distinct reasons a summary keeps (with their counts); the rest are counted together
MAX_REASONS = 5
HOUR_FORMAT = "%Y-%m-%dT%H"

_KEY = re.compile(r"^dead-letter/dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/(.+)\.avro$")

STATUS_NEW = "new"
STATUS_CLAIMED = "claimed, not finished"
STATUS_REDRIVEN = "redriven"


def parse_hour(text: str) -> str:
    """``YYYY-MM-DDTHH`` (UTC), checked; ConfigError otherwise."""
    try:
        moment = datetime.strptime(text, HOUR_FORMAT)
    except ValueError:
        raise ConfigError("hour", f"must be YYYY-MM-DDTHH (UTC), e.g. 2025-12-24T18, not {text!r}") from None
    return f"{moment:{HOUR_FORMAT}}"


def hour_of(key: str) -> str | None:
    """The ``YYYY-MM-DDTHH`` partition of a dead-letter key; None for any other key."""
    match = _KEY.match(key)
    return f"{match.group(1)}T{match.group(2)}" if match else None


def is_dead_letter_key(key: str) -> bool:
    return _KEY.match(key) is not None


def in_hours(hour: str, first: str | None, last: str | None) -> bool:
    """Whether ``hour`` lies from ``first`` to ``last`` (both included; None: unbounded)."""
    return (first is None or hour >= first) and (last is None or hour <= last)


def _marker(prefix: str, key: str) -> str:
    if not is_dead_letter_key(key):
        raise ConfigError("key", f"not a dead-letter key (dead-letter/dt=YYYY-MM-DD/hour=HH/NAME.avro): {key!r}")
    return f"{prefix}{key[len(DEAD_LETTER_PREFIX) : -len('.avro')]}.json"


def claimed_key(key: str) -> str:
    """The create-only marker a redrive writes before putting any record of dead letter ``key``."""
    return _marker(CLAIMED_PREFIX, key)


def done_key(key: str) -> str:
    """The marker a redrive writes once every record of dead letter ``key`` is back in the stream."""
    return _marker(DONE_PREFIX, key)


def dead_letter_of_marker(marker: str) -> str | None:
    """The dead-letter key a marker names (None for any other key)."""
    for prefix in (CLAIMED_PREFIX, DONE_PREFIX):
        if marker.startswith(prefix) and marker.endswith(".json"):
            return f"{DEAD_LETTER_PREFIX}{marker[len(prefix) : -len('.json')]}.avro"
    return None


def status_of(key: str, claimed: set[str], done: set[str]) -> str:
    if key in done:
        return STATUS_REDRIVEN
    if key in claimed:
        return STATUS_CLAIMED
    return STATUS_NEW


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


@dataclass(kw_only=True)
class DeadLetterSummary:
    """One dead letter as ``list`` shows it: where, which Kinesis record, how many parts, why."""

    key: str
    size: int
    hour: str
    status: str = STATUS_NEW
    parts: int = 0
    data_bytes: int = 0
    shard_id: str = ""
    sequence_number: str = ""
    partition_key: str = ""
    arrived_at_ms: int | None = None
    failed_at_ms: int | None = None
    #: up to MAX_REASONS distinct reasons -> parts with that reason
    reasons: dict[str, int] = field(default_factory=dict)
    #: parts whose reason is not among ``reasons``
    other_reasons: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "hour": self.hour,
            "status": self.status,
            "parts": self.parts,
            "data_bytes": self.data_bytes,
            "shard_id": self.shard_id,
            "sequence_number": self.sequence_number,
            "partition_key": self.partition_key,
            "arrived_at": iso(self.arrived_at_ms),
            "failed_at": iso(self.failed_at_ms),
            "reasons": self.reasons,
            "other_reasons": self.other_reasons,
        }

    def line(self) -> str:
        top = max(self.reasons, key=lambda r: self.reasons[r]) if self.reasons else ""
        more = len(self.reasons) - 1 + (1 if self.other_reasons else 0)
        why = top[:120] + (f" (+{more} other reasons)" if more > 0 else "")
        return f"{self.key}  {self.parts} parts  {self.status}  {why}"


def summarise(
    key: str, size: int, rows: Iterable[Mapping[str, Any]], *, reason_contains: str | None = None
) -> tuple[DeadLetterSummary, bool]:
    """The summary of one dead-letter file from its rows (streamed, never held) and whether any
    row's reason contains ``reason_contains`` (case-insensitive; True when None)."""
    summary = DeadLetterSummary(key=key, size=size, hour=hour_of(key) or "")
    wanted = reason_contains.lower() if reason_contains else None
    matched = wanted is None
    counts: Counter[str] = Counter()
    for row in rows:
        if summary.parts == 0:
            summary.shard_id = str(row["shard_id"])
            summary.sequence_number = str(row["sequence_number"])
            summary.partition_key = str(row["partition_key"])
            summary.arrived_at_ms = _ms(row["arrived_at"])
            summary.failed_at_ms = _ms(row["failed_at"])
        summary.parts += 1
        summary.data_bytes += len(row["data"])
        reason = str(row["reason"])
        if reason in counts or len(counts) < MAX_REASONS:
            counts[reason] += 1
        else:
            summary.other_reasons += 1
        if not matched and wanted is not None and wanted in reason.lower():
            matched = True
    summary.reasons = dict(counts.most_common())
    return summary, matched


@dataclass(frozen=True, slots=True)
class Entry:
    """One record to put back: a dead-lettered user record's bytes and partition key."""

    data: bytes
    partition_key: str
    subsequence_number: int

    @property
    def request_bytes(self) -> int:
        """What it counts against PutRecords' 5 MiB: data plus the partition key's UTF-8."""
        return len(self.data) + len(self.partition_key.encode("utf-8"))

    def as_request(self) -> dict[str, Any]:
        return {"Data": self.data, "PartitionKey": self.partition_key}


def entries(rows: Iterable[Mapping[str, Any]]) -> Iterator[Entry]:
    for row in rows:
        yield Entry(bytes(row["data"]), str(row["partition_key"]), int(row["subsequence_number"]))


def batches(
    items: Iterable[Entry],
    *,
    max_records: int = KINESIS_MAX_RECORDS_PER_PUT,
    max_bytes: int = KINESIS_MAX_BYTES_PER_PUT,
) -> Iterator[list[Entry]]:
    """``items`` in PutRecords-sized batches (at most ``max_records`` and ``max_bytes``), in order."""
    batch: list[Entry] = []
    size = 0
    for item in items:
        if batch and (len(batch) >= max_records or size + item.request_bytes > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.request_bytes
    if batch:
        yield batch


def decode_part(data: bytes) -> dict[str, Any]:
    """The behaviour event ``data`` carries, decoded and validated as the worker would today
    (a schema published since may make it decode); SchemaError otherwise."""
    if data[: len(KPL_MAGIC)] == KPL_MAGIC:
        raise SchemaError(f"a KPL aggregate of {len(data)} bytes (the worker never deaggregates twice)")
    return validate_event(decode_event(data))


def describe_part(row: Mapping[str, Any], decode: Callable[[bytes], dict[str, Any]] = decode_part) -> dict[str, Any]:
    """One part (refused user record) for ``show``: identity, size, reason, and the event it
    carries when ``decode(data)`` accepts it now, else why not."""
    data = bytes(row["data"])
    part: dict[str, Any] = {
        "subsequence_number": int(row["subsequence_number"]),
        "bytes": len(data),
        "reason": str(row["reason"]),
        "data_head": data[:32].hex(),
    }
    try:
        part["event"] = decode(data)
    except SchemaError as exc:
        part["decodes"] = f"no: {type(exc).__name__}: {exc}"[:300]
    else:
        part["decodes"] = "yes"
    return part
