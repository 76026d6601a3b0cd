"""PutRecords and GetRecords in O(records handled), not O(records already in the shard).

moto 5.2.5 keeps a shard's records in an OrderedDict and finds the last sequence number with
``list(keys)[-1]`` on every put and scans the whole dict on every get. Sequence numbers of a
shard are consecutive integers, so a list plus the first sequence number is an exact index.
Records are kept as :class:`StoredRecord` (slots, raw bytes, epoch seconds) instead of moto's
Record (a dict, a datetime and the data as base64 text): moto keeps every record forever, and
this roughly halves what each one costs.
"""

from __future__ import annotations

import base64
import bisect
import datetime
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from ._patching import patch

_PATCHED = "_localaws_record_index"


class StoredRecord:
    """One Kinesis record as the shard keeps it; exposes what moto's Record exposes."""

    __slots__ = ("blob", "created_at", "explicit_hash_key", "partition_key", "sequence_number")

    def __init__(self, partition_key: str, data: str, sequence_number: int, explicit_hash_key: str | None) -> None:
        self.partition_key = partition_key
        self.blob = base64.b64decode(data)
        self.sequence_number = sequence_number
        self.explicit_hash_key = explicit_hash_key
        self.created_at = time.time()

    @property
    def data(self) -> str:
        """The data as base64 text, as moto's Record holds it."""
        return base64.b64encode(self.blob).decode("ascii")

    @property
    def created_at_datetime(self) -> datetime.datetime:
        """Naive UTC, as moto's ``utcnow()``."""
        return datetime.datetime.fromtimestamp(self.created_at, datetime.UTC).replace(tzinfo=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "Data": self.blob,
            "PartitionKey": self.partition_key,
            "SequenceNumber": str(self.sequence_number),
            "ApproximateArrivalTimestamp": self.created_at_datetime,
        }


class RecordLog(MutableMapping[int, Any]):
    """A shard's records by sequence number, appended in order; O(1) lookups, O(k) slices."""

    __slots__ = ("_first", "_records")

    def __init__(self) -> None:
        self._records: list[Any] = []
        self._first = 1

    # -- MutableMapping (what moto's remaining code may use) --------------------------------
    def __getitem__(self, sequence_number: int) -> Any:
        index = sequence_number - self._first
        if not 0 <= index < len(self._records):
            raise KeyError(sequence_number)
        return self._records[index]

    def __setitem__(self, sequence_number: int, record: Any) -> None:
        if not self._records:
            self._first = sequence_number
        elif sequence_number != self.last_sequence_number + 1:
            raise KeyError(f"records must be appended in sequence, got {sequence_number}")
        self._records.append(record)

    def __delitem__(self, sequence_number: int) -> None:
        raise TypeError("Kinesis records are immutable")

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._first, self._first + len(self._records)))

    def __reversed__(self) -> Iterator[int]:
        return reversed(range(self._first, self._first + len(self._records)))

    def __len__(self) -> int:
        return len(self._records)

    # -- the fast paths ----------------------------------------------------------------------
    @property
    def first_sequence_number(self) -> int:
        return self._first if self._records else 0

    @property
    def last_sequence_number(self) -> int:
        return self._first + len(self._records) - 1 if self._records else 0

    def after(self, sequence_number: int, limit: int | None) -> list[Any]:
        """Records with a sequence number above ``sequence_number``, at most ``limit``."""
        start = max(0, sequence_number - self._first + 1)
        end = len(self._records) if limit is None else start + limit
        return self._records[start:end]

    def last_before(self, timestamp: float) -> Any | None:
        """The last record created strictly before ``timestamp`` (epoch seconds), if any."""
        index = bisect.bisect_left(self._records, timestamp, key=lambda record: record.created_at)
        return self._records[index - 1] if index else None

    def last(self) -> Any | None:
        return self._records[-1] if self._records else None


def apply() -> None:
    from moto.kinesis.models import Shard

    if getattr(Shard, _PATCHED, False):
        return
    original_init: Callable[..., None] = Shard.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.records = RecordLog()

    def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        log: RecordLog = self.records
        sequence_number = log.last_sequence_number + 1
        log[sequence_number] = StoredRecord(partition_key, data, sequence_number, explicit_hash_key)
        return str(sequence_number)

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        log: RecordLog = self.records
        last_sequence = int(last_sequence_id)
        results = log.after(last_sequence, limit)
        millis_behind_latest = 0
        if results:
            last_sequence = results[-1].sequence_number
            newest = log.last()
            assert newest is not None  # results came from this log
            millis_behind_latest = int((newest.created_at - results[-1].created_at) * 1000)
        return results, last_sequence, millis_behind_latest

    def get_min_sequence_number(self: Any) -> int:
        return int(self.records.first_sequence_number)

    def get_max_sequence_number(self: Any) -> int:
        return int(self.records.last_sequence_number)

    def get_sequence_number_at(self: Any, at_timestamp: float) -> int:
        record = self.records.last_before(at_timestamp)
        return 0 if record is None else int(record.sequence_number)

    for name, function in {
        "__init__": __init__,
        "put_record": put_record,
        "get_records": get_records,
        "get_min_sequence_number": get_min_sequence_number,
        "get_max_sequence_number": get_max_sequence_number,
        "get_sequence_number_at": get_sequence_number_at,
    }.items():
        patch(Shard, name, function)
    patch(Shard, _PATCHED, True)
